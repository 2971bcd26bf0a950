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

std::string_view loaders_of(RdbVersion v) {
  if (v.is_valkey()) return "Valkey >= 9.0 only";
  switch (v.number) {
    case 12: return "Redis >= 7.4 only (no Valkey)";
    case 13: return "Redis >= 8.6 only (no Valkey)";
    case 14: return "Redis >= 8.8 only (no Valkey)";
    case 11: return "Redis >= 7.2 and every Valkey";
    case 10: return "Redis >= 7.0 and every Valkey";
    default: return "every Redis and Valkey release of its era and later";
  }
}

}  // namespace rdbrekey
