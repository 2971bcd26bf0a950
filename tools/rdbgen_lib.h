// rdbgen: a seeded generator of valid RDB files, written directly (no server involved).
//
// The library of tools/rdbgen.cpp (the CLI) and bench/micro_bench.cpp: target `rdbgen_lib`,
// implemented in tools/rdbgen_lib.cpp. Every RDB primitive (lengths, strings, listpacks,
// intsets, doubles, stream IDs) is encoded by the project's encoding core (rdbrekey/rdb_encoding.h);
// only the LZF compressor is the generator's own (see LzfCompressor).
//
// What it writes is what Redis 7.0 (RDB 10) or 7.2 (RDB 11) would write for such data, with
// the default encoding thresholds of those servers:
//   strings            rdbSaveRawString rules: canonical int32 text -> int encoding (0xC0..0xC2),
//                      longer than 20 bytes -> LZF when it saves >= 4 bytes (as `rdbcompression
//                      yes`; only strings up to 64 KiB are tried, so big random values stay
//                      plain), else plain
//   hash               16 listpack (<= 128 fields, every field and value <= 64 bytes), else 4
//   zset               17 listpack (<= 128 members of <= 64 bytes, sorted by score then member),
//                      else 5 (binary double scores)
//   set                11 intset (integers only, <= 512), 20 listpack (RDB 11, <= 128 members of
//                      <= 64 bytes), else 2
//   list               18 quicklist 2: packed listpack nodes of at most 8 KiB
//                      (list-max-listpack-size -2)
//   stream             19 (RDB 10) / 21 (RDB 11): nodes of <= 100 entries / ~4 KiB, master entry +
//                      same-fields or full entries, consumer groups with PEL and consumers
// Every listpack, intset and stream node is byte-valid (Redis accepts them with
// sanitize-dump-payload yes).
//
// Determinism: one seed gives one file, byte for byte (benchmarks compare runs on generated
// datasets, so a change here must keep the bytes). Key names are unique per database by
// construction (each carries its database-local index, or a bijective hash of it).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/rdb_encoding.h"

namespace rdbgen {

// ---------------------------------------------------------------------------------------------
// Randomness

// splitmix64's finalizer: a bijection on 64-bit values (distinct inputs, distinct outputs).
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// xoshiro256**, seeded through mix64. The small draws stay inline: they run per value.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      w = mix64(seed);
    }
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n), n > 0.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
  // Uniform in [lo, hi].
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  // Skewed towards lo: log-uniform in [lo, hi] (lo >= 1), like most real size distributions.
  uint64_t log_range(uint64_t lo, uint64_t hi);
  bool per_mille(uint64_t p) { return below(1000) < p; }
  // n random bytes (whole 64-bit draws, the last one cut).
  void fill(uint8_t* out, size_t n);

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// ---------------------------------------------------------------------------------------------
// Text helpers (append to `out`)

void append_u64(std::string& out, uint64_t v);
void append_i64(std::string& out, int64_t v);
// `digits` lowercase hex digits of the low bits of v.
void append_hex(std::string& out, uint64_t v, int digits);
// n token characters (URL-safe base64 alphabet).
void append_token(std::string& out, Rng& rng, size_t n);
// A random version-4 UUID, 36 characters.
void append_uuid(std::string& out, Rng& rng);
// n words of a small application vocabulary, separated by spaces.
void append_words(std::string& out, Rng& rng, int n);
// An ISO-8601 UTC timestamp between 2023 and 2025, with milliseconds.
void append_iso_date(std::string& out, Rng& rng);
// A JSON object of roughly `target` bytes (the last field may overshoot a little), shaped like
// an application's cached entity: repeated field names, uuids, dates, small nested objects.
void append_json(std::string& out, Rng& rng, size_t target);

// ---------------------------------------------------------------------------------------------
// LZF compression
//
// The generator's own compressor, writing liblzf's format (which Redis uses for RDB strings;
// lzf_decompress reads it). It is not liblzf's lzf_compress because the generated bytes must
// stay what they were: the two compressors find different matches (on generated JSON about two
// thirds of the outputs differ), and both are valid.
//
// A compact greedy compressor: 3-byte hash, matches of 3..264 bytes up to 8 KiB back. The hash
// table is never cleared between calls: each call's positions are numbered above the previous
// call's, so stale entries are recognised (liblzf spends most of its time on short strings
// touching its 512 KiB table instead). Its output therefore depends on every earlier call.
//
// Stream: ctrl < 32: ctrl+1 literal bytes follow; else length field L = ctrl >> 5 (7: add the
// next byte), offset = ((ctrl & 31) << 8 | next byte) + 1 back, copy L + 2 bytes.
class LzfCompressor {
 public:
  LzfCompressor();
  // Compresses in[0, n) into out (room for `cap` bytes); 0 when the result does not fit.
  size_t compress(const uint8_t* in, size_t n, uint8_t* out, size_t cap);

 private:
  std::vector<uint32_t> table_;  // 2^13 slots: position + base of the last 3-byte sequence seen
  uint32_t base_ = 1;
};

// ---------------------------------------------------------------------------------------------
// RDB primitives into a ByteSink (which keeps the CRC-64 of everything written), through the
// encoding core.
class Emitter {
 public:
  Emitter(rdbrekey::ByteSink& sink, bool compress);

  rdbrekey::ByteSink& sink() { return sink_; }
  void u8(uint8_t b) { sink_.put(b); }
  void raw(const void* data, size_t n) { sink_.write(data, n); }
  void len(uint64_t n) { rdbrekey::append_length(sink_, n); }
  void le64(uint64_t v) { rdbrekey::append_le64(sink_, v); }
  void binary_double(double d) { rdbrekey::append_binary_double(sink_, d); }
  // A raw 16-byte stream ID: ms and seq, both big-endian.
  void id16(uint64_t ms, uint64_t seq) { rdbrekey::append_stream_id(sink_, ms, seq); }
  // An RDB string, encoded as rdbSaveRawString does (LZF when compression is on).
  void str(std::string_view s);
  void str_plain(std::string_view s) { rdbrekey::append_plain_string(sink_, s); }
  // The prefix of a key record: [EXPIRETIME_MS t] type key (no expire when expire_ms < 0).
  void key(uint8_t type, std::string_view key, int64_t expire_ms);

  // RDB strings written LZF-compressed so far.
  uint64_t lzf_strings() const { return lzf_strings_; }

  // Strings longer than this are never tried for LZF (big values are random bytes here, and
  // trying costs time without changing what is written).
  static constexpr size_t kMaxCompressed = 64 << 10;

 private:
  // The compressor handed to rdbrekey::append_string.
  std::string_view compress(std::string_view plain, size_t max_size);

  rdbrekey::ByteSink& sink_;
  bool compress_;
  LzfCompressor lzf_;
  std::vector<uint8_t> lzf_out_;
  uint64_t lzf_strings_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Profiles, options and the result

enum class Profile { kSmall, kMixed, kHugeValues };

const char* profile_name(Profile p);
// "small", "mixed", "huge-values" (or "huge"); false for anything else.
bool parse_profile(std::string_view s, Profile& out);
// Keys written when Options::keys is 0: 10,000,000 small, 1,000,000 mixed, 200 huge-values.
uint64_t default_keys(Profile p);

struct Options {
  Profile profile = Profile::kSmall;
  uint64_t seed = 1;
  uint64_t keys = 0;     // 0: the profile's default
  int rdb_version = 10;  // 10 (Redis 7.0) or 11 (Redis 7.2 / Valkey 7.2-8.x)
  bool compress = true;  // rdbcompression yes: LZF for strings > 20 bytes
};

// Databases 0..3 (40/30/20/10 % of the keys; round robin for huge-values).
inline constexpr int kDbs = 4;

struct Summary {
  uint64_t keys = 0, expires = 0;
  std::array<uint64_t, kDbs> db_keys{}, db_expires{};
  std::array<uint64_t, 32> by_type{};  // keys per RDB value type
  uint64_t lzf_strings = 0;            // RDB strings written LZF-compressed (keys, values, blobs)
  uint64_t bytes = 0;                  // file size
};

// A short name of a value type the generator writes ("hash-listpack"), "other" for the rest.
const char* value_type_name(int t);

// Writes a whole RDB file for `opt` into `sink` (not finalized: the caller commits it).
// Throws std::invalid_argument for an RDB version other than 10 or 11.
Summary generate(const Options& opt, rdbrekey::ByteSink& sink);

}  // namespace rdbgen
