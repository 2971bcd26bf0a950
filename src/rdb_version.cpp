#include "rdbrekey/rdb_version.h"

#include <fmt/format.h>

#include <charconv>

#include "rdbrekey/format.h"

namespace rdbrekey {
namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// First RDB version (REDIS numbering) in which each type 0..21 exists; -1: not a type.
constexpr int kFirstVersion[22] = {1, 1, 1, 1, 1, 8, -1, 8, -1, 2, 2, 2, 2, 4, 7, 9, 10, 10, 10, 10, 11, 11};

}  // namespace

std::string RdbVersion::magic() const {
  return is_valkey() ? fmt::format("VALKEY{:03d}", number) : fmt::format("REDIS{:04d}", number);
}

std::optional<RdbVersion> parse_magic(std::string_view m) {
  if (m.size() != 9) return std::nullopt;
  if (m.substr(0, 5) == "REDIS" && all_digits(m.substr(5)))
    return RdbVersion{RdbFamily::kRedis, to_int(m.substr(5))};
  if (m.substr(0, 6) == "VALKEY" && all_digits(m.substr(6)))
    return RdbVersion{RdbFamily::kValkey, to_int(m.substr(6))};
  return std::nullopt;
}

std::optional<RdbVersion> parse_version_name(std::string_view t) {
  std::optional<RdbVersion> v;
  if (t.size() == 9) {
    v = parse_magic(t);
  } else if (all_digits(t) && t.size() <= 3) {
    int n = to_int(t);
    v = RdbVersion{n >= 80 ? RdbFamily::kValkey : RdbFamily::kRedis, n};
  }
  if (v && !is_known_version(*v)) return std::nullopt;
  return v;
}

bool is_known_version(RdbVersion v) {
  if (v.is_valkey()) return v.number == 80;
  return v.number >= 1 && v.number <= kMaxRedisVersion;
}

// Servers accept every type and opcode they know in a file of any version (the loaders do not
// gate them by version), so this tool does too; only bytes whose meaning depends on the family
// (22..28, 243) are resolved by the magic.
bool is_value_type(uint8_t type, RdbVersion in) {
  if (type < 22) return kFirstVersion[type] > 0;
  if (in.is_valkey()) return type == rdb::kTypeValkeyHash2;
  return type <= rdb::kTypeArray;
}

bool output_can_hold_type(uint8_t type, RdbVersion in, RdbVersion out) {
  if (type < 22) {
    if (kFirstVersion[type] < 0) return false;
    return out.is_valkey() || out.number >= kFirstVersion[type];
  }
  // Types 22..28 are family-specific: they only go to a file of the same family.
  if (in.family != out.family) return false;
  if (in.is_valkey()) return type == rdb::kTypeValkeyHash2;
  switch (type) {
    case rdb::kTypeStreamListpacks4:
      return out.number >= 13;
    case rdb::kTypeStreamListpacks5:
    case rdb::kTypeArray:
      return out.number >= 14;
    default:
      return out.number >= 12;
  }
}

RdbVersion first_version_with_type(uint8_t type, RdbVersion in) {
  if (type < 22 && kFirstVersion[type] > 0) return RdbVersion{RdbFamily::kRedis, kFirstVersion[type]};
  if (in.is_valkey()) return RdbVersion{RdbFamily::kValkey, 80};
  if (type == rdb::kTypeStreamListpacks4) return RdbVersion{RdbFamily::kRedis, 13};
  if (type == rdb::kTypeStreamListpacks5 || type == rdb::kTypeArray) return RdbVersion{RdbFamily::kRedis, 14};
  return RdbVersion{RdbFamily::kRedis, 12};
}

std::string_view type_name(uint8_t type, RdbVersion in) {
  static constexpr std::string_view kNames[] = {
      "string", "list", "set", "zset", "hash", "zset2", "module-pre-ga", "module",
      "type-8", "hash-zipmap", "list-ziplist", "set-intset", "zset-ziplist", "hash-ziplist",
      "list-quicklist", "stream", "hash-listpack", "zset-listpack", "list-quicklist2",
      "stream2", "set-listpack", "stream3"};
  if (type < 22) return kNames[type];
  if (in.is_valkey()) return type == 22 ? "hash2-with-field-ttl" : "unknown";
  switch (type) {
    case 22: return "hash-metadata-pre-ga";
    case 23: return "hash-listpack-ex-pre-ga";
    case 24: return "hash-metadata";
    case 25: return "hash-listpack-ex";
    case 26: return "stream4";
    case 27: return "stream5";
    case 28: return "array";
    default: return "unknown";
  }
}

bool RdbVersion::has_checksum() const { return capabilities_of(*this).checksum; }
bool RdbVersion::has_64bit_lengths() const { return capabilities_of(*this).len64; }

RdbCapabilities capabilities_of(RdbVersion v) {
  // VALKEY080 holds everything REDIS0011 does, and SLOT_INFO; no KEY_META (a Redis opcode).
  int n = v.is_valkey() ? 11 : v.number;
  RdbCapabilities c;
  c.ms_expire = n >= 3;
  c.checksum = n >= 5;
  c.aux = n >= 7;
  c.len64 = n >= 8;
  c.lru_lfu_hints = n >= 9;
  c.module_aux = n >= 9;
  c.function2 = n >= 10;
  c.slot_info = v.is_valkey() || n >= 12;
  c.key_meta = !v.is_valkey() && n >= 13;
  return c;
}

namespace {

constexpr ServerRelease kReleases[] = {
    // name                   REDIS  VALKEY080  type  SLOT_INFO  KEY_META
    {"Redis 2.6-3.0", 6, false, 13, false, false},
    {"Redis 3.2", 7, false, 14, false, false},
    {"Redis 4.0", 8, false, 14, false, false},
    {"Redis 5.0-6.2", 9, false, 15, false, false},
    {"Redis 7.0", 10, false, 19, false, false},
    {"Redis 7.2", 11, false, 21, false, false},
    {"Redis 7.4 / 8.0-8.4", 12, false, 25, true, false},
    {"Redis 8.6", 13, false, 26, true, true},
    {"Redis 8.8", 14, false, 28, true, true},
    {"Valkey 7.2 / 8.x", 11, false, 21, false, false},
    {"Valkey 9.x", 11, true, 21, true, false},
};

}  // namespace

std::span<const ServerRelease> server_releases() { return kReleases; }

namespace {

constexpr TargetServer kTargets[] = {
    // name        release                 writes
    {"valkey7.2", "Valkey 7.2 / 8.x", {RdbFamily::kRedis, 11}},
    {"valkey8", "Valkey 7.2 / 8.x", {RdbFamily::kRedis, 11}},
    {"valkey9", "Valkey 9.x", {RdbFamily::kValkey, 80}},
    {"redis6.2", "Redis 5.0-6.2", {RdbFamily::kRedis, 9}},
    {"redis7.0", "Redis 7.0", {RdbFamily::kRedis, 10}},
    {"redis7.2", "Redis 7.2", {RdbFamily::kRedis, 11}},
    {"redis7.4", "Redis 7.4 / 8.0-8.4", {RdbFamily::kRedis, 12}},
    {"redis8", "Redis 7.4 / 8.0-8.4", {RdbFamily::kRedis, 12}},  // every 8.x loads 12
};

}  // namespace

std::span<const TargetServer> target_servers() { return kTargets; }

const TargetServer* find_target(std::string_view name) {
  for (const TargetServer& t : kTargets)
    if (name == t.name) return &t;
  return nullptr;
}

std::string target_names() {
  std::string out;
  for (const TargetServer& t : kTargets) {
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

const ServerRelease& release_of(const TargetServer& target) {
  for (const ServerRelease& r : kReleases)
    if (std::string_view(r.name) == target.release) return r;
  return kReleases[std::size(kReleases) - 1];  // not reached: the table names existing releases
}

std::string target_name_of_server(std::string_view family, int major, int minor) {
  if (family == "valkey") return major >= 9 ? "valkey9" : major == 8 ? "valkey8" : "valkey7.2";
  if (major >= 8) return "redis8";
  if (major == 7) return minor >= 4 ? "redis7.4" : minor >= 2 ? "redis7.2" : "redis7.0";
  if (major == 6) return "redis6.2";
  return "";
}

std::string why_not_loaded(const ServerRelease& s, const FileTraits& f) {
  if (f.version.is_valkey()) return s.loads_valkey80 ? "" : "it does not read VALKEY080 files";
  if (f.version.number > s.max_redis_version)
    return fmt::format("it reads RDB versions up to {} only", s.max_redis_version);
  for (uint8_t t : f.types)
    if (t > s.max_redis_type) return fmt::format("it does not know value type {} ({})", t, type_name(t, f.version));
  if (f.slot_info && !s.knows_slot_info) return "it does not know the SLOT_INFO opcode";
  if (f.key_meta && !s.knows_key_meta) return "it does not know key metadata (KEY_META)";
  return "";
}

std::string loaders_of(RdbVersion v) {
  std::string out;
  FileTraits f{v, {}, false, false};
  for (const ServerRelease& s : kReleases)
    if (why_not_loaded(s, f).empty()) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out.empty() ? "no release" : out;
}

std::string first_loader_of(RdbVersion v) {
  FileTraits f{v, {}, false, false};
  for (const ServerRelease& s : kReleases)
    if (why_not_loaded(s, f).empty()) return s.name;
  return "no release";
}

}  // namespace rdbrekey
