// libFuzzer target: any byte string given to the converter, with options picked by its first two
// bytes, either fails with rdbrekey::Error (never an internal error) or converts into an output
// that the oracle (tests/support/oracle.h) agrees with in every respect: no two equal keys;
// every input key either in the output under its new name with its type, expire time and value
// bytes, or counted once as dropped / expired / left out / merged into a guard; a guard for every
// mapped application; each left-out key reported with the key kept. Crashes, hangs, leaks and
// sanitizer reports are findings. Build: cmake -DRDBREKEY_FUZZ=ON with clang (see README).
//
//   byte 0: bit 0 one application for dbs 0-3 | bits 1-2 --unmapped drop/keep/error | bit 3
//           --data-version 0 | bit 4 --rdb-version 12 | bits 5-6 --on-collision error/keep-first/
//           keep-last | bit 7 --drop-expired at 2000
//   byte 1: bit 0 the data again as a second input | bit 1 a fixed small dump as another input |
//           bit 2 the first input is a pipe | bit 3 the other inputs are pipes
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/byte_source.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/key_rules.h"
#include "support/oracle.h"
#include "support/rdb_builder.h"
#include "support/stream_source.h"

namespace {

using namespace rdbrekey;

std::string fixed_dump() {
  return test::RdbBuilder("REDIS0010")
      .select_db(0).string_key("x", "1").string_key("condo:x", "2").string_key("data_version", "7")
      .select_db(1).expire_ms(1000).string_key("x", "3").string_key("bull:q:1", "4")
      .select_db(5).string_key("condo:data_version", "9").string_key("app1:x", "5")
      .eof().bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint8_t k0 = size > 0 ? data[0] : 0, k1 = size > 1 ? data[1] : 0;
  size_t skip = size < 2 ? size : 2;
  std::string body(reinterpret_cast<const char*>(data + skip), size - skip);

  ConvertOptions opt;
  for (uint64_t db = 0; db < 4; ++db) opt.apps[db] = (k0 & 1) ? "condo" : "app" + std::to_string(db);
  switch ((k0 >> 1) & 3) {
    case 0: opt.unmapped = UnmappedPolicy::kDrop; break;
    case 1: opt.unmapped = UnmappedPolicy::kKeep; break;
    default: opt.unmapped = UnmappedPolicy::kError; break;
  }
  opt.data_version = (k0 & 8) ? 0 : 2;
  if (k0 & 16) opt.target = RdbVersion{RdbFamily::kRedis, 12};
  switch ((k0 >> 5) & 3) {
    case 1: opt.on_collision = CollisionPolicy::kKeepFirst; break;
    case 2: opt.on_collision = CollisionPolicy::kKeepLast; break;
    default: break;
  }
  if (k0 & 128) opt.drop_expired_before = 2000;

  std::vector<test::OracleInput> inputs{{"fuzz.rdb", body, (k1 & 4) != 0}};
  if (k1 & 1) inputs.push_back({"again.rdb", body, (k1 & 8) != 0});
  if (k1 & 2) inputs.push_back({"fixed.rdb", fixed_dump(), (k1 & 8) != 0});

  std::vector<std::unique_ptr<ByteSource>> owned;
  std::vector<ByteSource*> sources;
  for (const auto& in : inputs) {
    if (in.pipe) owned.push_back(std::make_unique<test::StreamSource>(in.name, in.bytes, 1 + (k1 >> 4) * 17));
    else owned.push_back(std::make_unique<MemorySource>(in.name, in.bytes.data(), in.bytes.size()));
    sources.push_back(owned.back().get());
  }
  MemorySink sink;
  ConvertResult result;
  std::optional<Errc> code;
  try {
    result = convert(opt, sources, sink);
  } catch (const Error& e) {
    code = e.code();
  }
  if (code == Errc::kInternal) __builtin_trap();
  if (!code) {
    test::Expected expected;
    try {
      expected = test::expect_conversion(opt, inputs);
    } catch (const Error&) {
      __builtin_trap();  // converted, yet an input does not read whole
    }
    // An input that holds one name twice in a database is not a file any server writes; the
    // renaming carries such a pair through as it is.
    if (!expected.input_has_duplicates) {
      std::string out(sink.data().begin(), sink.data().end());
      std::vector<std::string> diffs = test::check_conversion(expected, code, &result, &out);
      if (!diffs.empty()) {
        for (const auto& d : diffs) std::fprintf(stderr, "oracle: %s\n", d.c_str());
        __builtin_trap();
      }
    }
  }
  // The key rules on the raw bytes as a key.
  KeyRenamer renamer("condo", {"bull"});
  std::string_view key(body.data(), body.size() < 256 ? body.size() : 256);
  RenamedKey k = renamer.rename(key);
  std::string pre;
  if (k.rule != RenameRule::kAlreadyPrefixed && !(renamer.preimage(k.str(), pre) && pre == key)) __builtin_trap();
  return 0;
}
