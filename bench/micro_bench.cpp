// Micro-benchmarks of rdbrekey's hot paths, on in-memory data (no disk):
//   CRC-64                      bytes/s at 64 B, 4 KiB, 1 MiB
//   key decoding                RdbInput::read_string on LZF-compressed keys (and plain ones)
//   key rules                   KeyRenamer::rename on plain, Bull and already prefixed keys
//   record scanner              scan + skip_payload over a generated RDB
//   convert()                   a whole conversion (4 dbs -> prefixed db 0) into a NullSink
//   hash slot                   key_hash_slot on 20- and 60-byte keys, against a bytewise CRC16
// The RDB inputs come from the generator of tools/rdbgen_lib.h (the same code as `rdbgen`).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../tools/rdbgen_lib.h"
#include "rdbrekey/byte_sink.h"
#include "rdbrekey/byte_source.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/crc64.h"
#include "rdbrekey/hash_slot.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/rdb_input.h"
#include "rdbrekey/record_scanner.h"

namespace {

using rdbrekey::RdbFamily;
using rdbrekey::RdbVersion;

constexpr RdbVersion kV10{RdbFamily::kRedis, 10};

// A generated RDB file in memory, made once per (profile, keys).
struct Dataset {
  std::vector<uint8_t> bytes;
  rdbgen::Summary summary;
};

const Dataset& dataset(rdbgen::Profile profile, uint64_t keys) {
  static std::map<std::pair<int, uint64_t>, Dataset> cache;
  auto key = std::make_pair(static_cast<int>(profile), keys);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  rdbgen::Options opt;
  opt.profile = profile;
  opt.keys = keys;
  opt.seed = 42;
  rdbrekey::MemorySink sink;
  Dataset d;
  d.summary = rdbgen::generate(opt, sink);
  sink.finalize();
  d.bytes = sink.data();
  return cache.emplace(key, std::move(d)).first->second;
}

// ---- CRC-64 ----------------------------------------------------------------------------------

void BM_Crc64(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf(size);
  rdbgen::Rng rng(1);
  rng.fill(buf.data(), buf.size());
  uint64_t crc = 0;
  for (auto _ : state) {
    crc = rdbrekey::crc64(crc, buf.data(), buf.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size));
}
BENCHMARK(BM_Crc64)->Arg(64)->Arg(4096)->Arg(1 << 20);

// ---- key decoding ----------------------------------------------------------------------------

// n keys written as RDB strings the way Redis writes them; `compressible` keys are long and
// repetitive enough for LZF (every one is checked to have been compressed).
struct KeyBlob {
  std::vector<uint8_t> bytes;
  uint64_t keys = 0, decoded_bytes = 0, lzf = 0;
};

KeyBlob make_keys(bool compressible, uint64_t n) {
  rdbgen::Rng rng(7);
  rdbrekey::MemorySink sink;
  rdbgen::Emitter out(sink, /*compress=*/compressible);
  KeyBlob kb;
  std::string key;
  for (uint64_t i = 0; i < n; ++i) {
    key.clear();
    if (compressible) {
      // Like the cache keys of an ORM: the same words repeated around ids.
      key = "cache:condo:organization:";
      rdbgen::append_uuid(key, rng);
      key += ":organization_employee:organization:";
      rdbgen::append_u64(key, i);
      key += ":organization_employee_role";
    } else {
      key = "sess:";
      rdbgen::append_hex(key, rng.next(), 16);
      rdbgen::append_hex(key, rng.next(), 16);
    }
    out.str(key);
    kb.decoded_bytes += key.size();
  }
  sink.finalize();
  kb.bytes = sink.data();
  kb.keys = n;
  kb.lzf = out.lzf_strings();
  return kb;
}

void read_keys(benchmark::State& state, const KeyBlob& kb) {
  std::string out;
  for (auto _ : state) {
    rdbrekey::MemorySource src("keys", kb.bytes.data(), kb.bytes.size());
    src.enable_checksum(false);
    rdbrekey::RdbInput in(src, kV10);
    for (uint64_t i = 0; i < kb.keys; ++i) {
      in.read_string(out, "key");
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kb.keys));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kb.decoded_bytes));
}

void BM_KeyDecode_Lzf(benchmark::State& state) {
  static const KeyBlob kb = make_keys(true, 10000);
  if (kb.lzf != kb.keys) {
    state.SkipWithError("not every key was LZF-compressed");
    return;
  }
  read_keys(state, kb);
}
BENCHMARK(BM_KeyDecode_Lzf);

void BM_KeyDecode_Plain(benchmark::State& state) {
  static const KeyBlob kb = make_keys(false, 10000);
  read_keys(state, kb);
}
BENCHMARK(BM_KeyDecode_Plain);

// ---- key rules -------------------------------------------------------------------------------

enum KeyShape { kPlain, kBull, kPrefixed };

void BM_KeyRename(benchmark::State& state) {
  const auto shape = static_cast<KeyShape>(state.range(0));
  rdbrekey::KeyRenamer renamer("resident_app", {"bull"});
  rdbgen::Rng rng(3);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) {
    std::string k;
    switch (shape) {
      case kPlain:
        k = "sess:";
        rdbgen::append_hex(k, rng.next(), 16);
        break;
      case kBull:
        k = "bull:notifications:";
        rdbgen::append_u64(k, rng.below(10'000'000));
        if (i % 4 == 0) k += ":lock";
        break;
      case kPrefixed:
        k = "resident_app:cache:";
        rdbgen::append_u64(k, rng.below(10'000'000));
        break;
    }
    keys.push_back(std::move(k));
  }
  std::string out;
  for (auto _ : state) {
    for (const auto& k : keys) {
      benchmark::DoNotOptimize(renamer.rename(k, out));
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * keys.size()));
  state.SetLabel(shape == kPlain ? "plain (P:key)" : shape == kBull ? "bull ({P:bull:q}:id)" : "already prefixed");
}
BENCHMARK(BM_KeyRename)->Arg(kPlain)->Arg(kBull)->Arg(kPrefixed);

// ---- record scanner and convert() --------------------------------------------------------------

// Args: profile, keys. items_per_second = keys/s (x 60 for keys/min), bytes_per_second = input.
const Dataset& dataset_of(const benchmark::State& state) {
  return dataset(static_cast<rdbgen::Profile>(state.range(0)), static_cast<uint64_t>(state.range(1)));
}

void set_rates(benchmark::State& state, const Dataset& d) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.bytes.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.summary.keys));
  state.SetLabel(fmt::format("{} {} keys, {:.1f} MB", rdbgen::profile_name(static_cast<rdbgen::Profile>(state.range(0))),
                             d.summary.keys, static_cast<double>(d.bytes.size()) / 1e6));
}

void BM_ScanSkip(benchmark::State& state) {
  const Dataset& d = dataset_of(state);
  for (auto _ : state) {
    rdbrekey::MemorySource src("bench.rdb", d.bytes.data(), d.bytes.size());
    rdbrekey::RecordScanner sc(src);
    sc.read_header();
    rdbrekey::Record r;
    uint64_t keys = 0;
    while (sc.next(r)) {
      if (r.kind == rdbrekey::RecordKind::kKey) {
        sc.skip_payload();
        ++keys;
      }
    }
    if (keys != d.summary.keys) state.SkipWithError("key count differs from the generator's");
    benchmark::DoNotOptimize(keys);
  }
  set_rates(state, d);
}

void BM_Convert(benchmark::State& state) {
  const Dataset& d = dataset_of(state);
  rdbrekey::ConvertOptions opt;
  opt.apps = {{0, "@app/condo"}, {1, "@app/address-service"}, {2, "@app/resident-app"}, {3, "@app/eps"}};
  for (auto _ : state) {
    rdbrekey::MemorySource src("bench.rdb", d.bytes.data(), d.bytes.size());
    rdbrekey::NullSink sink;
    rdbrekey::ConvertResult r = rdbrekey::convert(opt, {&src}, sink);
    if (r.keys_written != d.summary.keys + 4) state.SkipWithError("unexpected key count in the output");
    benchmark::DoNotOptimize(r.output_bytes);
  }
  set_rates(state, d);
}

constexpr int64_t kSmall = static_cast<int64_t>(rdbgen::Profile::kSmall);
constexpr int64_t kMixed = static_cast<int64_t>(rdbgen::Profile::kMixed);
constexpr int64_t kHuge = static_cast<int64_t>(rdbgen::Profile::kHugeValues);

BENCHMARK(BM_ScanSkip)->Args({kSmall, 500'000})->Args({kMixed, 50'000})->Args({kHuge, 8})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Convert)->Args({kSmall, 500'000})->Args({kMixed, 50'000})->Args({kHuge, 8})->Unit(benchmark::kMillisecond);

// ---- hash slot -------------------------------------------------------------------------------

// keyHashSlot as the servers write it: a byte-at-a-time CRC16 table and index loops for the
// braces; the baseline of the sliced version.
struct BytewiseCrc16Table {
  uint16_t t[256] = {};
  constexpr BytewiseCrc16Table() {
    for (int b = 0; b < 256; ++b) {
      uint16_t c = static_cast<uint16_t>(b << 8);
      for (int i = 0; i < 8; ++i) c = static_cast<uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
      t[b] = c;
    }
  }
};
constexpr BytewiseCrc16Table kBytewiseCrc16;

uint16_t bytewise_crc16(const char* p, size_t n) {
  uint16_t crc = 0;
  for (size_t i = 0; i < n; ++i) crc = static_cast<uint16_t>((crc << 8) ^ kBytewiseCrc16.t[((crc >> 8) ^ static_cast<uint8_t>(p[i])) & 0xff]);
  return crc;
}

uint16_t bytewise_key_hash_slot(std::string_view key) {
  size_t open = 0;
  while (open < key.size() && key[open] != '{') ++open;
  if (open == key.size()) return bytewise_crc16(key.data(), key.size()) & 0x3FFF;
  size_t close = open + 1;
  while (close < key.size() && key[close] != '}') ++close;
  if (close == key.size() || close == open + 1) return bytewise_crc16(key.data(), key.size()) & 0x3FFF;
  return bytewise_crc16(key.data() + open + 1, close - open - 1) & 0x3FFF;
}

// 1024 untagged keys of exactly `size` bytes ("resident_app:sess:<hex>..."): the whole key is hashed.
std::vector<std::string> keys_of_size(size_t size) {
  rdbgen::Rng rng(5);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) {
    std::string k = "resident_app:sess:";
    while (k.size() < size) rdbgen::append_hex(k, rng.next(), 16);
    k.resize(size);
    keys.push_back(std::move(k));
  }
  return keys;
}

// Arg: key size. items_per_second = keys/s; the time per iteration covers 1024 keys.
template <uint16_t (*SlotOf)(std::string_view)>
void hash_slots(benchmark::State& state) {
  const std::vector<std::string> keys = keys_of_size(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    for (const auto& k : keys) benchmark::DoNotOptimize(SlotOf(k));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * keys.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * keys.size()) * state.range(0));
}

uint16_t sliced_slot(std::string_view key) { return rdbrekey::key_hash_slot(key); }
// As a renamed name comes: "P:" and the source key, two pieces.
uint16_t pieces_slot(std::string_view key) {
  const std::string_view pieces[2] = {key.substr(0, 2), key.substr(2)};
  return rdbrekey::key_hash_slot(std::span<const std::string_view>(pieces));
}
uint16_t portable_pieces_slot(std::string_view key) {
  const std::string_view pieces[2] = {key.substr(0, 2), key.substr(2)};
  return rdbrekey::detail::key_hash_slot_portable(std::span<const std::string_view>(pieces));
}

// BM_KeyHashSlot: the engine the processor gets (carry-less where it has PCLMULQDQ); _Pieces: the
// same for a name in two pieces; _Portable: the sliced tables; _Bytewise: the servers' loop.
void BM_KeyHashSlot(benchmark::State& state) { hash_slots<sliced_slot>(state); }
void BM_KeyHashSlot_Pieces(benchmark::State& state) { hash_slots<pieces_slot>(state); }
void BM_KeyHashSlot_PortablePieces(benchmark::State& state) { hash_slots<portable_pieces_slot>(state); }
void BM_KeyHashSlot_Bytewise(benchmark::State& state) { hash_slots<bytewise_key_hash_slot>(state); }
BENCHMARK(BM_KeyHashSlot)->Arg(20)->Arg(30)->Arg(60);
BENCHMARK(BM_KeyHashSlot_Pieces)->Arg(20)->Arg(30)->Arg(60);
BENCHMARK(BM_KeyHashSlot_PortablePieces)->Arg(20)->Arg(30)->Arg(60);
BENCHMARK(BM_KeyHashSlot_Bytewise)->Arg(20)->Arg(60);

}  // namespace

BENCHMARK_MAIN();
