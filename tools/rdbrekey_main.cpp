// rdbrekey: offline conversion of Redis/Valkey RDB backups for a move to one prefixed db 0.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>

#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/key_rules.h"

namespace {

using namespace rdbrekey;

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0    success\n"
    "  1    internal error (a bug: please report it)\n"
    "  2    bad command line (options, --app mapping)\n"
    "  3    I/O error: an input cannot be read or the output cannot be written (missing file, disk full)\n"
    "  4    corrupt input: truncated file, bad framing, checksum mismatch\n"
    "  5    unsupported input: unknown RDB version, value type or opcode\n"
    "  6    refused: unmapped databases, a record the output version cannot hold, or keys that renaming\n"
    "       makes equal (collisions)\n"
    "  130  interrupted (SIGINT); 143 terminated (SIGTERM): no output is left behind\n"
    "On any failure no output file (and no temporary file) is left behind.";

std::string fmt_count(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

void print_summary(const ConvertOptions& opt, const ConvertResult& r) {
  for (const auto& in : r.inputs) {
    fmt::print("input   {}  {}  {} bytes, checksum {}{}\n", in.path, in.version.magic(), fmt_count(in.bytes),
               in.version.has_checksum() ? (in.checksum_verified ? "verified" : "disabled in the file (0)")
                                         : "none (RDB < 5)",
               in.trailing_bytes ? fmt::format(", {} bytes after the end ignored", in.trailing_bytes) : "");
  }
  uint64_t read = 0, renamed = 0, kept = 0, tagged = 0, dropped = 0, unmapped_kept = 0;
  for (const auto& [db, s] : r.dbs) {
    if (s.keys_read == 0 && s.prefix.empty()) continue;
    std::string who = s.prefix.empty() ? fmt::format("(unmapped: {})", s.kept_unmapped ? "kept" : "dropped")
                                       : fmt::format("-> {}:", s.prefix);
    fmt::print("db {:<4} {:<28} {:>12} keys: {} renamed, {} already prefixed, {} hashtagged{}{}{}\n", db, who,
               fmt_count(s.keys_read), fmt_count(s.renamed), fmt_count(s.already_prefixed), fmt_count(s.hashtagged),
               s.dropped ? fmt::format(", {} dropped", fmt_count(s.dropped)) : "",
               s.kept_unmapped ? fmt::format(", {} kept unrenamed", fmt_count(s.kept_unmapped)) : "",
               s.empty_key ? fmt::format(" (the empty key became \"{}:\")", s.prefix) : "");
    read += s.keys_read;
    renamed += s.renamed;
    kept += s.already_prefixed;
    tagged += s.hashtagged;
    dropped += s.dropped;
    unmapped_kept += s.kept_unmapped;
  }
  for (const auto& g : r.guards)
    fmt::print("guard   {} = {}{}\n", g.key, g.value, g.kept_existing ? " (kept: larger than --data-version)" : "");
  if (r.aux_dropped || r.slot_records_dropped)
    fmt::print("dropped {} AUX field(s) (replication ids, slot info, later inputs' AUX), {} slot record(s)\n",
               r.aux_dropped, r.slot_records_dropped);
  if (r.functions || r.module_aux) fmt::print("kept    {} function librar{}, {} module aux record(s)\n", r.functions,
                                              r.functions == 1 ? "y" : "ies", r.module_aux);
  double kpm = r.seconds > 0 ? static_cast<double>(read) / r.seconds * 60.0 : 0.0;
  fmt::print("output  {}  {}  {} keys (db 0), {} bytes\n", opt.output, r.output_version.magic(),
             fmt_count(r.keys_written), fmt_count(r.output_bytes));
  fmt::print("total   {} keys read: {} renamed, {} already prefixed, {} hashtagged, {} dropped, {} kept unrenamed; "
             "{} guard(s) written\n",
             fmt_count(read), fmt_count(renamed), fmt_count(kept), fmt_count(tagged), fmt_count(dropped),
             fmt_count(unmapped_kept), r.guards.size());
  fmt::print("time    {:.3f} s, {} keys/min\n", r.seconds, fmt_count(static_cast<uint64_t>(kpm)));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rdbrekey: convert Redis/Valkey RDB backups offline, renaming every key by the database it was in "
               "(one prefixed db 0 for a Valkey cluster)",
               "rdbrekey"};
  app.set_version_flag("--version", std::string("rdbrekey ") + RDBREKEY_VERSION);
  app.require_subcommand(1);
  app.footer(kExitCodes);

  ConvertOptions opt;
  std::vector<std::string> app_args;
  std::string unmapped = "error";
  std::string rdb_version = "auto";
  bool quiet = false;

  auto* conv = app.add_subcommand("convert", "Convert RDB files into one RDB with every key in db 0 under its "
                                             "application's prefix");
  conv->add_option("inputs", opt.inputs, "Input RDB file(s); - reads standard input")->required();
  conv->add_option("-o,--output", opt.output, "Output RDB file (written atomically: temp file, fsync, rename)")
      ->required();
  conv->add_option("-a,--app", app_args,
                   "DB=NAME: database DB belongs to application NAME, an npm package name (@app/resident-app -> "
                   "prefix resident_app) or a plain prefix; repeatable");
  conv->add_option("--unmapped", unmapped,
                   "Databases with no --app: error (default; lists them), drop (leave their keys out), keep (copy "
                   "their keys unrenamed)")
      ->check(CLI::IsMember({"error", "drop", "keep"}));
  conv->add_option("--hashtag", opt.hashtags,
                   "Key family F whose keys F:<name>:<rest> become {P:F:<name>}:<rest> (one cluster slot per "
                   "name); repeatable; default: bull")
      ->default_str("bull");
  conv->add_option("--data-version", opt.data_version,
                   "Start-up guard P:data_version written for every application (a larger existing number is "
                   "kept); 0 writes none")
      ->default_val(2);
  conv->add_option("--rdb-version", rdb_version,
                   "Output RDB version: auto (the input's up to REDIS0011, which Redis >= 7.2 and every Valkey "
                   "load; VALKEY080 stays VALKEY080), or a number / magic such as 10, 12, REDIS0011, VALKEY080")
      ->default_val("auto");
  conv->add_flag("-f,--force", opt.overwrite, "Replace the output file if it exists");
  conv->add_flag("-q,--quiet", quiet, "Print nothing on success");
  conv->footer(kExitCodes);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }

  try {
    if (*conv) {
      for (const auto& a : app_args) {
        auto eq = a.find('=');
        uint64_t db = 0;
        std::string num = a.substr(0, eq);
        if (eq == std::string::npos || num.empty() || num.find_first_not_of("0123456789") != std::string::npos ||
            num.size() > 9)
          throw Error(ExitCode::kUsage, fmt::format("--app \"{}\": expected DB=NAME, e.g. 0=@app/condo", a));
        db = std::stoull(num);
        std::string name = a.substr(eq + 1);
        app_prefix_from_name(name);  // validates
        if (!opt.apps.emplace(db, name).second)
          throw Error(ExitCode::kUsage, fmt::format("--app: database {} is mapped twice", db));
      }
      opt.unmapped = unmapped == "drop" ? UnmappedPolicy::kDrop
                     : unmapped == "keep" ? UnmappedPolicy::kKeep
                                          : UnmappedPolicy::kError;
      if (rdb_version != "auto") {
        opt.target = parse_version_name(rdb_version);
        if (!opt.target)
          throw Error(ExitCode::kUsage,
                      fmt::format("--rdb-version \"{}\": expected auto, 1..14, REDIS0001..REDIS0014 or VALKEY080",
                                  rdb_version));
      }
      if (opt.output == "-") throw Error(ExitCode::kUsage, "--output: writing to standard output is not supported");
      AtomicFileSink::install_signal_cleanup();
      ConvertResult result = convert(opt);
      if (!quiet) print_summary(opt, result);
    }
    return 0;
  } catch (const Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "rdbrekey: error: {}\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    fmt::print(stderr, "rdbrekey: internal error: {}\n", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
}
