// RDB versions: which magic a file has, what a version can hold, which servers load it.
//
//   REDIS0001 .. REDIS0011   open-source Redis and Valkey <= 8.1 (Valkey loads 1..11)
//   REDIS0012 .. REDIS0014   Redis 7.4 .. 8.8 only (Valkey refuses 12..79)
//   VALKEY080 ..             Valkey >= 9.0 (Redis never loads VALKEY magic)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rdbrekey {

enum class RdbFamily : uint8_t { kRedis, kValkey };

struct RdbVersion {
  RdbFamily family = RdbFamily::kRedis;
  int number = 0;

  bool is_valkey() const { return family == RdbFamily::kValkey; }
  // Order in which versions supersede one another: every REDIS version below 12 is readable by
  // every later one; VALKEY080 comes after REDIS0011 (and beside, not after, REDIS0012+).
  std::string magic() const;  // "REDIS0011", "VALKEY080"
  bool has_checksum() const { return number >= 5; }
  bool has_64bit_lengths() const { return number >= 8; }
  friend bool operator==(const RdbVersion&, const RdbVersion&) = default;
};

// The newest versions this tool reads.
inline constexpr int kMaxRedisVersion = 14;
inline constexpr int kMaxValkeyVersion = 80;

// Parses the 9-byte magic; nullopt when it is not an RDB magic at all. A version outside the
// known range is returned as is (the caller refuses it with a clear message).
std::optional<RdbVersion> parse_magic(std::string_view nine_bytes);

// Parses a --rdb-version argument: "11", "REDIS0011", "VALKEY080", "80".
std::optional<RdbVersion> parse_version_name(std::string_view text);

bool is_known_version(RdbVersion v);

// Whether a value type read from a file of version `in` can be written unchanged into a file of
// version `out`. Types 22..28 mean different things under REDIS and VALKEY magic.
bool output_can_hold_type(uint8_t type, RdbVersion in, RdbVersion out);

// The first version that holds a value type read from a file of version `in` (for hints).
RdbVersion first_version_with_type(uint8_t type, RdbVersion in);

// Human name of a value type as read from a file of version `in` ("hash-listpack", ...).
std::string_view type_name(uint8_t type, RdbVersion in);

// Whether `type` is a value type in files of version `in` (otherwise: unknown/unsupported).
bool is_value_type(uint8_t type, RdbVersion in);

// The servers that load a file of this version, for messages: "Redis >= 7.2, Valkey 7.2 .. 9.x".
std::string_view loaders_of(RdbVersion v);

}  // namespace rdbrekey
