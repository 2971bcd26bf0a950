// rdbgen: writes a seeded, valid RDB file (benchmark and large-input test data) without a
// server. The generator itself is the library rdbgen_lib (tools/rdbgen_lib.h, shared with
// bench/micro_bench.cpp).
//
//   rdbgen --profile small|mixed|huge-values --seed N -o FILE [--keys N] [--rdb-version 10|11]
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "rdbgen_lib.h"
#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/error.h"

namespace {

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rdbgen: write a seeded, valid RDB file directly (no server): the same seed gives the same bytes.\n"
      "Profiles (4 databases, SELECTDB 0..3 with RESIZEDB hints, 40/30/20/10 % of the keys):\n"
      "  small        10,000,000 keys: mostly short strings (sess:<hex>, cache:<n>, counters), small\n"
      "               hash/set/zset/list values (listpack, intset, quicklist 2), a TTL on a third,\n"
      "               Bull keys (bull:<queue>:<id>) on a tenth\n"
      "  mixed        1,000,000 keys shaped like an application: sessions with TTL, JSON cache strings\n"
      "               (200 B - 4 KB), counters, number keys, hashes, lists, sets, zsets (small and\n"
      "               large encodings), Bull queues, streams with consumer groups, a function library,\n"
      "               and multi-MB strings (2-8 MB, 1 per 100,000 keys)\n"
      "  huge-values  200 string values of 1-20 MB of random bytes\n"
      "Strings are encoded as Redis does with rdbcompression yes (int encoding; LZF above 20 bytes\n"
      "when it saves space; strings over 64 KiB are left plain).",
      "rdbgen"};
  std::string profile_text = "small";
  rdbgen::Options opt;
  std::string output;
  bool quiet = false, no_compress = false;
  app.add_option("--profile", profile_text, "small | mixed | huge-values")
      ->check(CLI::IsMember({"small", "mixed", "huge-values", "huge"}))
      ->default_val("small");
  app.add_option("--seed", opt.seed, "Seed: the same seed and options give the same file")->default_val(1);
  app.add_option("-o,--output", output, "Output file (written to a temporary name, then renamed)")->required();
  app.add_option("--keys", opt.keys,
                 "Number of keys (default: 10,000,000 small, 1,000,000 mixed, 200 huge-values)");
  app.add_option("--rdb-version", opt.rdb_version,
                 "10 (REDIS0010, Redis 7.0; default) or 11 (REDIS0011, Redis 7.2 / Valkey: set listpacks, "
                 "stream v3)")
      ->check(CLI::IsMember({10, 11}))
      ->default_val(10);
  app.add_flag("--no-compress", no_compress, "Write every string uncompressed (as rdbcompression no)");
  app.add_flag("-q,--quiet", quiet, "Print only the dbsize line");
  CLI11_PARSE(app, argc, argv);
  rdbgen::parse_profile(profile_text, opt.profile);
  opt.compress = !no_compress;

  try {
    auto start = std::chrono::steady_clock::now();
    rdbrekey::AtomicFileSink::install_signal_cleanup();
    rdbrekey::AtomicFileSink sink(output, /*overwrite=*/true);
    rdbgen::Summary s = rdbgen::generate(opt, sink);
    sink.finalize();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (!quiet) {
      fmt::print("rdbgen: profile {} seed {} -> {} (REDIS{:04d})\n", rdbgen::profile_name(opt.profile), opt.seed,
                 output, opt.rdb_version);
      fmt::print("  {} keys ({} with TTL), {} bytes, {:.2f} s ({:.0f} MB/s)\n", with_commas(s.keys),
                 with_commas(s.expires), with_commas(s.bytes), secs, static_cast<double>(s.bytes) / 1e6 / secs);
      for (int db = 0; db < rdbgen::kDbs; ++db)
        if (s.db_keys[db])
          fmt::print("  db {}: {} keys, {} with TTL\n", db, with_commas(s.db_keys[db]), with_commas(s.db_expires[db]));
      std::string types;
      for (int t = 0; t < 32; ++t)
        if (s.by_type[t]) types += fmt::format("{}{} {}", types.empty() ? "" : ", ", rdbgen::value_type_name(t),
                                               with_commas(s.by_type[t]));
      fmt::print("  types: {}\n", types);
      fmt::print("  LZF-compressed strings: {}\n", with_commas(s.lzf_strings));
    }
    // One machine-readable line (scripts compare it with the server's keyspace).
    fmt::print("dbsize");
    for (int db = 0; db < rdbgen::kDbs; ++db)
      if (s.db_keys[db]) fmt::print(" db{}={}", db, s.db_keys[db]);
    fmt::print(" total={} expires={} bytes={}\n", s.keys, s.expires, s.bytes);
    return 0;
  } catch (const rdbrekey::Error& e) {
    std::fprintf(stderr, "rdbgen: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rdbgen: %s\n", e.what());
    return 1;
  }
}
