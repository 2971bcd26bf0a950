// libFuzzer target: any byte string given to the converter either converts (and the output then
// reads back with the same key count) or fails with rdbrekey::Error. Crashes, hangs, leaks and
// sanitizer reports are findings. Build: cmake -DRDBREKEY_FUZZ=ON with clang (see README).
#include <cstdint>
#include <cstring>
#include <string>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/byte_source.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rdbrekey;
  // The first byte picks options, so the fuzzer explores them too.
  uint8_t knobs = size ? data[0] : 0;
  if (size) {
    ++data;
    --size;
  }
  ConvertOptions opt;
  for (uint64_t db = 0; db < 4; ++db) opt.apps[db] = (knobs & 1) ? "condo" : "app" + std::to_string(db);
  opt.unmapped = (knobs & 2) ? UnmappedPolicy::kKeep : UnmappedPolicy::kDrop;
  opt.data_version = (knobs & 4) ? 0 : 2;
  if (knobs & 8) opt.target = RdbVersion{RdbFamily::kRedis, 12};
  MemorySource src("fuzz.rdb", data, size);
  MemorySink sink;
  try {
    ConvertResult r = convert(opt, {&src}, sink);
    // A successful conversion must read back whole with the keys it wrote.
    const auto& out = sink.data();
    MemorySource again("out.rdb", out.data(), out.size());
    VerifyResult v = verify(again);
    if (v.keys != r.keys_written) __builtin_trap();
  } catch (const Error&) {
  }
  // The key rules on the raw bytes as a key.
  KeyRenamer renamer("condo", {"bull"});
  std::string_view key(reinterpret_cast<const char*>(data), size < 256 ? size : 256);
  RenamedKey k = renamer.rename(key);
  std::string pre;
  if (k.rule != RenameRule::kAlreadyPrefixed && !(renamer.preimage(k.str(), pre) && pre == key)) __builtin_trap();
  return 0;
}
