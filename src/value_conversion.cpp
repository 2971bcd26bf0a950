#include "rdbrekey/value_conversion.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "rdbrekey/error.h"
#include "rdbrekey/format.h"
#include "rdbrekey/rdb_encoding.h"

namespace rdbrekey {

bool is_field_ttl_hash(uint8_t type, RdbVersion in) {
  if (in.is_valkey()) return type == rdb::kTypeValkeyHash2;
  return type >= rdb::kTypeHashMetadataPreGa && type <= rdb::kTypeHashListpackEx;
}

ValueConversion conversion_for(uint8_t type, RdbVersion in, RdbVersion out, bool drop_field_ttls) {
  if (output_can_hold_type(type, in, out)) return ValueConversion::kNone;
  if (is_field_ttl_hash(type, in)) {
    if (!in.is_valkey() && out.is_valkey()) return ValueConversion::kToValkeyHash2;
    if (in.is_valkey() && !out.is_valkey() && out.number >= 12) return ValueConversion::kToHashMetadata;
    return drop_field_ttls ? ValueConversion::kDropFieldTtls : ValueConversion::kImpossible;
  }
  switch (type) {
    case rdb::kTypeStreamListpacks2:
    case rdb::kTypeStreamListpacks3:
    case rdb::kTypeStreamListpacks4:
    case rdb::kTypeStreamListpacks5:
      return out.is_valkey() || out.number >= 9 ? ValueConversion::kStreamDown : ValueConversion::kImpossible;
    case rdb::kTypeHashListpack:
    case rdb::kTypeListQuicklist2:
    case rdb::kTypeSetListpack:
      return ValueConversion::kListpackToPlain;
    case rdb::kTypeZsetListpack:  // to ZSET_2, which needs RDB 8
      return out.is_valkey() || out.number >= 8 ? ValueConversion::kListpackToPlain : ValueConversion::kImpossible;
    default:
      return ValueConversion::kImpossible;
  }
}

uint8_t converted_type(uint8_t type, ValueConversion how, RdbVersion out) {
  switch (how) {
    case ValueConversion::kListpackToPlain:
      return type == rdb::kTypeHashListpack   ? rdb::kTypeHash
             : type == rdb::kTypeZsetListpack ? rdb::kTypeZset2
             : type == rdb::kTypeSetListpack  ? rdb::kTypeSet
                                              : rdb::kTypeList;
    case ValueConversion::kToValkeyHash2: return rdb::kTypeValkeyHash2;
    case ValueConversion::kToHashMetadata: return rdb::kTypeHashMetadata;
    case ValueConversion::kDropFieldTtls: return rdb::kTypeHash;
    case ValueConversion::kStreamDown: {
      int n = out.is_valkey() ? 11 : out.number;
      return n >= 14   ? rdb::kTypeStreamListpacks5
             : n >= 13 ? rdb::kTypeStreamListpacks4
             : n >= 11 ? rdb::kTypeStreamListpacks3
             : n >= 10 ? rdb::kTypeStreamListpacks2
                       : rdb::kTypeStreamListpacks;
    }
    case ValueConversion::kNone:
    case ValueConversion::kImpossible:
      break;
  }
  return type;
}

std::string conversion_name(uint8_t type, RdbVersion in, uint8_t out_type, RdbVersion out) {
  return fmt::format("{} -> {}", type_name(type, in), type_name(out_type, out));
}

// ---- listpack (Redis listpack.c; spec §5.1) -----------------------------------------------

namespace {

[[noreturn]] void bad_listpack(const char* what, size_t at, const char* why) {
  throw Error(Errc::kBadFraming, fmt::format("{}: malformed listpack at byte {} of the blob: {}", what, at, why));
}

uint64_t load_le(const uint8_t* p, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The size of the back-length field that follows an entry of `size` bytes (lpEncodeBacklen).
size_t backlen_size(uint64_t size) {
  if (size <= 127) return 1;
  if (size < 16383) return 2;
  if (size < 2097151) return 3;
  if (size < 268435455) return 4;
  return 5;
}

int64_t sign_extend(uint64_t v, int bits) {
  uint64_t m = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((v ^ m) - m);
}

}  // namespace

void listpack_entries(std::string_view blob, std::vector<std::string>& out, const char* what) {
  out.clear();
  const auto* p = reinterpret_cast<const uint8_t*>(blob.data());
  size_t n = blob.size();
  if (n < 7) bad_listpack(what, 0, "shorter than its header and terminator");
  if (load_le(p, 4) != n) bad_listpack(what, 0, "its header's size is not the blob's");
  size_t at = 6;
  for (;;) {
    if (at >= n) bad_listpack(what, at, "no terminator");
    uint8_t b = p[at];
    if (b == 0xFF) {
      if (at + 1 != n) bad_listpack(what, at, "bytes after the terminator");
      break;
    }
    size_t header = 1, len = 0;
    std::optional<int64_t> number;
    auto need = [&](size_t k) {
      if (at + k > n) bad_listpack(what, at, "an entry runs past the end");
    };
    if ((b & 0x80) == 0) {
      number = b & 0x7f;
    } else if ((b & 0xC0) == 0x80) {
      len = b & 0x3f;
    } else if ((b & 0xE0) == 0xC0) {
      need(2);
      number = sign_extend((uint64_t{b & 0x1fu} << 8) | p[at + 1], 13);
      header = 2;
    } else if ((b & 0xF0) == 0xE0) {
      need(2);
      len = (size_t{b & 0x0fu} << 8) | p[at + 1];
      header = 2;
    } else if (b == 0xF0) {
      need(5);
      len = static_cast<size_t>(load_le(p + at + 1, 4));
      header = 5;
    } else if (b >= 0xF1 && b <= 0xF4) {
      static constexpr int kWidth[] = {2, 3, 4, 8};
      int w = kWidth[b - 0xF1];
      need(1 + static_cast<size_t>(w));
      number = sign_extend(load_le(p + at + 1, w), w * 8);
      header = 1 + static_cast<size_t>(w);
    } else {
      bad_listpack(what, at, "unknown entry encoding");
    }
    size_t entry = header + len;
    need(entry + backlen_size(entry));
    if (number) out.push_back(std::to_string(*number));
    else out.emplace_back(blob.substr(at + header, len));
    at += entry + backlen_size(entry);
  }
  uint16_t count = static_cast<uint16_t>(load_le(p + 4, 2));
  if (count != 65535 && count != out.size()) bad_listpack(what, 4, "its header's entry count is not its entries'");
}

// ---- the conversions ------------------------------------------------------------------------

namespace {

struct Field {
  std::string name, value;
  int64_t expire_ms = -1;  // absolute; -1: none
};

int64_t read_int64_le(RdbInput& in, const char* what) {
  uint8_t b[8];
  in.read_bytes(b, 8, what);
  return static_cast<int64_t>(load_le(b, 8));
}

// Listpack data read from `in` as one blob string.
void read_listpack(RdbInput& in, std::vector<std::string>& entries, std::string& scratch, const char* what) {
  in.read_string(scratch, what);
  try {
    listpack_entries(scratch, entries, what);
  } catch (const Error& e) {
    in.fail(e.code(), e.what());
  }
}

// A ZSET listpack's score entry, as zzlGetScore reads it: an integer, or text for strtod.
double score_of(RdbInput& in, const std::string& text) {
  const char* end = text.data() + text.size();
  double d = 0;
  auto [p, ec] = std::from_chars(text.data(), end, d);
  if (ec == std::errc() && p == end) return d;
  if (text == "inf" || text == "+inf") return HUGE_VAL;
  if (text == "-inf") return -HUGE_VAL;
  in.fail(Errc::kBadFraming, fmt::format("zset-listpack: the score \"{}\" is not a number", text));
}

void write_plain(std::string& out, uint8_t type, const std::vector<std::string>& items, RdbInput& in) {
  out.clear();
  if (type == rdb::kTypeZset2) {
    append_length(out, items.size() / 2);
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      append_string(out, items[i]);
      append_binary_double(out, score_of(in, items[i + 1]));
    }
    return;
  }
  append_length(out, type == rdb::kTypeHash ? items.size() / 2 : items.size());
  for (const auto& s : items) append_string(out, s);
}

ConvertedValue listpack_to_plain(RdbInput& in, uint8_t type, std::string& out) {
  std::vector<std::string> items, node;
  std::string blob;
  uint8_t to = 0;
  switch (type) {
    case rdb::kTypeHashListpack:
      read_listpack(in, items, blob, "hash-listpack");
      if (items.size() % 2) in.fail(Errc::kBadFraming, "hash-listpack: an odd number of entries");
      to = rdb::kTypeHash;
      break;
    case rdb::kTypeZsetListpack:
      read_listpack(in, items, blob, "zset-listpack");
      if (items.size() % 2) in.fail(Errc::kBadFraming, "zset-listpack: an odd number of entries");
      to = rdb::kTypeZset2;
      break;
    case rdb::kTypeSetListpack:
      read_listpack(in, items, blob, "set-listpack");
      to = rdb::kTypeSet;
      break;
    case rdb::kTypeListQuicklist2: {
      uint64_t nodes = in.read_len("quicklist node count");
      for (uint64_t i = 0; i < nodes; ++i) {
        uint64_t container = in.read_len("quicklist node container");
        if (container == 1) {  // PLAIN: the node is one element
          items.emplace_back();
          in.read_string(items.back(), "quicklist plain node");
        } else if (container == 2) {  // PACKED: a listpack of elements
          read_listpack(in, node, blob, "quicklist listpack node");
          for (auto& e : node) items.push_back(std::move(e));
        } else {
          in.fail(Errc::kBadFraming, fmt::format("quicklist node container {} (expected 1 or 2)", container));
        }
      }
      to = rdb::kTypeList;
      break;
    }
    default:
      throw Error(Errc::kInternal, fmt::format("no plain form for type {}", type));
  }
  write_plain(out, to, items, in);
  return ConvertedValue{to, 0};
}

// Every field of a hash with field TTLs, with its absolute expire time (-1: none).
std::vector<Field> read_field_ttl_hash(RdbInput& in, uint8_t type, RdbVersion version) {
  std::vector<Field> fields;
  std::vector<std::string> items;
  std::string blob;
  if (version.is_valkey()) {  // HASH_2: L n, n x (S field, S value, int64 expire (-1: none))
    uint64_t n = in.read_len("hash2 field count");
    for (uint64_t i = 0; i < n; ++i) {
      Field f;
      in.read_string(f.name, "hash2 field");
      in.read_string(f.value, "hash2 value");
      f.expire_ms = read_int64_le(in, "hash2 field expire time");
      if (f.expire_ms < -1) in.fail(Errc::kBadFraming, fmt::format("hash2 field expire time {}", f.expire_ms));
      fields.push_back(std::move(f));
    }
    return fields;
  }
  switch (type) {
    case rdb::kTypeHashMetadataPreGa:  // L n, n x (L absolute ttl (0: none), S, S)
    case rdb::kTypeHashMetadata: {     // int64 minExpire, L n, n x (L ttl, S, S)
      int64_t min_expire = type == rdb::kTypeHashMetadata ? read_int64_le(in, "hash-metadata min expire") : 0;
      uint64_t n = in.read_len("hash-metadata field count");
      for (uint64_t i = 0; i < n; ++i) {
        Field f;
        uint64_t ttl = in.read_len("hash-metadata field ttl");
        in.read_string(f.name, "hash-metadata field");
        in.read_string(f.value, "hash-metadata value");
        if (ttl != 0)
          f.expire_ms = type == rdb::kTypeHashMetadata ? static_cast<int64_t>(ttl + static_cast<uint64_t>(min_expire) - 1)
                                                       : static_cast<int64_t>(ttl);
        fields.push_back(std::move(f));
      }
      return fields;
    }
    case rdb::kTypeHashListpackExPreGa:  // blob of (field, value, ttl) triplets
    case rdb::kTypeHashListpackEx: {     // int64 minExpire (ignored by loaders), blob
      if (type == rdb::kTypeHashListpackEx) read_int64_le(in, "hash-listpack-ex min expire");
      read_listpack(in, items, blob, "hash-listpack-ex");
      if (items.size() % 3) in.fail(Errc::kBadFraming, "hash-listpack-ex: entries are not (field, value, ttl) triplets");
      for (size_t i = 0; i < items.size(); i += 3) {
        Field f{std::move(items[i]), std::move(items[i + 1]), -1};
        int64_t ttl = 0;
        auto [p, ec] = std::from_chars(items[i + 2].data(), items[i + 2].data() + items[i + 2].size(), ttl);
        if (ec != std::errc() || ttl < 0) in.fail(Errc::kBadFraming, "hash-listpack-ex: a ttl that is not a number");
        if (ttl != 0) f.expire_ms = ttl;  // HASH_LP_NO_TTL is 0
        fields.push_back(std::move(f));
      }
      return fields;
    }
    default:
      throw Error(Errc::kInternal, fmt::format("type {} is not a hash with field TTLs", type));
  }
}

// The version of a stream type (1 for 15 ... 5 for 27), 0 for another type.
int stream_version(uint8_t type) {
  switch (type) {
    case rdb::kTypeStreamListpacks: return 1;
    case rdb::kTypeStreamListpacks2: return 2;
    case rdb::kTypeStreamListpacks3: return 3;
    case rdb::kTypeStreamListpacks4: return 4;
    case rdb::kTypeStreamListpacks5: return 5;
    default: return 0;
  }
}

uint8_t stream_type(int version) {
  static constexpr uint8_t kTypes[] = {0, rdb::kTypeStreamListpacks, rdb::kTypeStreamListpacks2,
                                       rdb::kTypeStreamListpacks3, rdb::kTypeStreamListpacks4,
                                       rdb::kTypeStreamListpacks5};
  return kTypes[version];
}

// A stream read in version `from` and written in version `to` (< from), copying what both
// hold (value_walker.cpp walks the same layout).
ConvertedValue stream_down(RdbInput& in, int from, int to, bool lossy, std::string& out) {
  ConvertedValue cv{stream_type(to), 0, false};
  std::string s;
  auto len = [&](const char* what, bool keep = true) {
    uint64_t v = in.read_len(what);
    if (keep) append_length(out, v);
    return v;
  };
  auto str = [&](const char* what) {
    in.read_string(s, what);
    append_string(out, s);
  };
  auto raw = [&](size_t n, const char* what) {
    uint8_t b[16];
    in.read_bytes(b, n, what);
    out.append(reinterpret_cast<const char*>(b), n);
  };
  auto lost = [&](const char* what) {
    if (!lossy)
      in.fail(Errc::kCannotHold, fmt::format("this stream's {} has no place in a {} stream; give --lossy to leave it "
                                             "out (counted)",
                                             what, type_name(stream_type(to), RdbVersion{RdbFamily::kRedis, 14})));
    cv.stream_state_dropped = true;
  };
  uint64_t nodes = len("stream node count");
  for (uint64_t i = 0; i < nodes; ++i) {
    in.read_string(s, "stream node key");
    if (s.size() != rdb::kStreamIdSize) in.fail(Errc::kBadFraming, "stream node key is not a 16-byte stream ID");
    append_plain_string(out, s);
    str("stream node listpack");
  }
  len("stream length");
  len("stream last id");
  len("stream last id");
  if (from >= 2)
    for (int i = 0; i < 5; ++i) len("stream first/max-deleted id, entries-added", to >= 2);
  uint64_t groups = len("stream consumer group count");
  for (uint64_t g = 0; g < groups; ++g) {
    str("consumer group name");
    len("group last-delivered id");
    len("group last-delivered id");
    if (from >= 2) len("group entries-read", to >= 2);
    uint64_t pel = len("group PEL size");
    for (uint64_t p = 0; p < pel; ++p) {
      raw(16, "PEL entry id");
      raw(8, "PEL delivery time");
      len("PEL delivery count");
    }
    uint64_t consumers = len("consumer count");
    for (uint64_t c = 0; c < consumers; ++c) {
      str("consumer name");
      raw(8, "consumer seen-time");
      if (from >= 3) {
        size_t at = out.size();
        raw(8, "consumer active-time");
        if (to < 3) out.resize(at);
      }
      uint64_t cpel = len("consumer PEL size");
      for (uint64_t p = 0; p < cpel; ++p) raw(16, "consumer PEL entry id");
    }
    if (from >= 5) {
      uint64_t nacks = len("group NACK count", to >= 5);
      if (nacks && to < 5) lost("consumer group NACK list");
      for (uint64_t p = 0; p < nacks; ++p) {
        size_t at = out.size();
        raw(16, "NACK entry id");
        if (to < 5) out.resize(at);
      }
    }
  }
  if (from >= 4) {
    size_t at = out.size();
    len("stream IDMP duration");
    len("stream IDMP max entries");
    uint64_t producers = len("stream IDMP producer count");
    if (producers && to < 4) lost("idempotency (IDMP) state");
    for (uint64_t p = 0; p < producers; ++p) {
      str("IDMP producer id");
      uint64_t count = len("IDMP entry count");
      for (uint64_t i = 0; i < count; ++i) {
        str("IDMP idempotency id");
        len("IDMP stream id");
        len("IDMP stream id");
      }
    }
    len("stream IDMP iids-added");
    len("stream IDMP iids-duplicates");
    if (to < 4) out.resize(at);
  }
  return cv;
}

}  // namespace

ConvertedValue convert_value(RdbInput& in, uint8_t type, ValueConversion how, RdbVersion to, bool lossy,
                             std::string& out) {
  out.clear();
  switch (how) {
    case ValueConversion::kStreamDown:  // into the newest stream form the output holds
      return stream_down(in, stream_version(type), stream_version(converted_type(type, how, to)), lossy, out);
    case ValueConversion::kListpackToPlain:
      return listpack_to_plain(in, type, out);
    case ValueConversion::kToValkeyHash2: {
      std::vector<Field> fields = read_field_ttl_hash(in, type, in.version());
      append_length(out, fields.size());
      for (const Field& f : fields) {
        append_string(out, f.name);
        append_string(out, f.value);
        append_le64(out, static_cast<uint64_t>(f.expire_ms));
      }
      return ConvertedValue{rdb::kTypeValkeyHash2, 0};
    }
    case ValueConversion::kToHashMetadata: {
      std::vector<Field> fields = read_field_ttl_hash(in, type, in.version());
      int64_t min_expire = -1;
      for (const Field& f : fields)
        if (f.expire_ms >= 0 && (min_expire < 0 || f.expire_ms < min_expire)) min_expire = f.expire_ms;
      if (min_expire < 0) {  // no field has a TTL: a plain hash (as Redis writes it)
        append_length(out, fields.size());
        for (const Field& f : fields) append_string(out, f.name), append_string(out, f.value);
        return ConvertedValue{rdb::kTypeHash, 0};
      }
      constexpr int64_t kMaxExpire = (int64_t{1} << 48) - 1;  // EB_EXPIRE_TIME_MAX
      append_le64(out, static_cast<uint64_t>(min_expire));
      append_length(out, fields.size());
      for (const Field& f : fields) {
        if (f.expire_ms > kMaxExpire)
          in.fail(Errc::kCannotHold, fmt::format("field expire time {} ms is beyond what Redis holds (2^48-1)", f.expire_ms));
        append_length(out, f.expire_ms < 0 ? 0 : static_cast<uint64_t>(f.expire_ms - min_expire + 1));
        append_string(out, f.name);
        append_string(out, f.value);
      }
      return ConvertedValue{rdb::kTypeHashMetadata, 0};
    }
    case ValueConversion::kDropFieldTtls: {
      std::vector<Field> fields = read_field_ttl_hash(in, type, in.version());
      ConvertedValue cv{rdb::kTypeHash, 0};
      append_length(out, fields.size());
      for (const Field& f : fields) {
        append_string(out, f.name);
        append_string(out, f.value);
        if (f.expire_ms >= 0) ++cv.field_ttls_dropped;
      }
      return cv;
    }
    case ValueConversion::kNone:
    case ValueConversion::kImpossible:
      break;
  }
  throw Error(Errc::kInternal, "convert_value: nothing to convert");
}

}  // namespace rdbrekey
