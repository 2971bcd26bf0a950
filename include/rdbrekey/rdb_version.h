// RDB versions: which magic a file has, what a version can hold, which servers load it. The one
// table of capabilities: the converter, the writer and the inspector ask it, nothing else decides
// (../shared/spec/rdb-format.md §1.2, §4, §5).
//
//   REDIS0001 .. REDIS0011   open-source Redis and Valkey <= 8.1 (Valkey loads 1..11)
//   REDIS0012 .. REDIS0014   Redis 7.4 .. 8.8 only (Valkey refuses 12..79)
//   VALKEY080 ..             Valkey >= 9.0 (Redis never loads VALKEY magic)
//
//   what a version holds     since
//   CRC-64 trailer           5        EXPIRETIME_MS     3       AUX, RESIZEDB   7
//   64-bit lengths           8        IDLE, FREQ        9       MODULE_AUX      9
//   FUNCTION2                10       SLOT_INFO         12 (and VALKEY080)
//   KEY_META                 13 (REDIS magic only)
//   value types              see output_can_hold_type (types 22..28 depend on the magic)
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
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
  bool has_checksum() const;       // capabilities_of(*this).checksum
  bool has_64bit_lengths() const;  // capabilities_of(*this).len64
  friend bool operator==(const RdbVersion&, const RdbVersion&) = default;
};

// The records and encodings a file of one version can hold (besides value types).
struct RdbCapabilities {
  bool checksum = false;       // CRC-64 trailer
  bool ms_expire = false;      // EXPIRETIME_MS (else only EXPIRETIME in seconds)
  bool aux = false;            // AUX fields and RESIZEDB hints
  bool len64 = false;          // 64-bit lengths (0x81)
  bool lru_lfu_hints = false;  // IDLE and FREQ before a key
  bool module_aux = false;     // MODULE_AUX records
  bool function2 = false;      // FUNCTION2 libraries
  bool slot_info = false;      // SLOT_INFO hints
  bool key_meta = false;       // KEY_META before a key
};
RdbCapabilities capabilities_of(RdbVersion v);

// A server release and what it loads (§1.2).
struct ServerRelease {
  const char* name;        // "Redis 7.0"
  int max_redis_version;   // loads REDIS0001 .. REDIS00NN
  bool loads_valkey80;     // loads VALKEY080
  int max_redis_type;      // the highest value type it knows under REDIS magic
  bool knows_slot_info;    // the SLOT_INFO opcode
  bool knows_key_meta;     // the KEY_META opcode
};
// Oldest first.
std::span<const ServerRelease> server_releases();

// A server an output is written for (--target): its name, the release in server_releases() that
// stands for it, and the version written for it (the header that release writes itself).
struct TargetServer {
  const char* name;     // "valkey9"
  const char* release;  // "Valkey 9.x"
  RdbVersion writes;
};
// In the order --help lists them.
std::span<const TargetServer> target_servers();
// nullptr when no target has this name.
const TargetServer* find_target(std::string_view name);
// "valkey7.2, valkey8, valkey9, redis6.2, ..." for messages.
std::string target_names();
// The release entry of a target (for why_not_loaded).
const ServerRelease& release_of(const TargetServer& target);
// The target name of a running server's release ("Valkey 8.0.1" -> "valkey8"); empty when no
// target stands for it (older than Redis 6.0).
std::string target_name_of_server(std::string_view family, int major, int minor);

// What a file holds that decides who loads it.
struct FileTraits {
  RdbVersion version;
  std::set<uint8_t> types;  // value types (as read under the file's magic)
  bool slot_info = false;
  bool key_meta = false;
};
// Empty when `server` loads such a file as it is; otherwise why not.
std::string why_not_loaded(const ServerRelease& server, const FileTraits& file);

// The releases that load a file of this version, for messages: "Redis 7.2, Redis 7.4 / 8.0-8.4, ...".
std::string loaders_of(RdbVersion v);
// The oldest release that loads this version ("Redis 8.6"), or "no release" when none does.
std::string first_loader_of(RdbVersion v);

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


}  // namespace rdbrekey
