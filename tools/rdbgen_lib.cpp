// rdbgen's library: see rdbgen_lib.h.
#include "rdbgen_lib.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "rdbrekey/format.h"
#include "rdbrekey/rdb_version.h"
#include "rdbrekey/rdb_writer.h"

namespace rdbgen {

namespace rdb = rdbrekey::rdb;

// ---------------------------------------------------------------------------------------------
// Randomness

uint64_t Rng::log_range(uint64_t lo, uint64_t hi) {
  double u = static_cast<double>(next() >> 11) * 0x1.0p-53;
  double v = static_cast<double>(lo) * std::pow(static_cast<double>(hi) / static_cast<double>(lo), u);
  auto r = static_cast<uint64_t>(v);
  return std::clamp(r, lo, hi);
}

void Rng::fill(uint8_t* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = next();
    std::memcpy(out + i, &v, 8);
  }
  if (i < n) {
    uint64_t v = next();
    std::memcpy(out + i, &v, n - i);
  }
}

// ---------------------------------------------------------------------------------------------
// Text helpers

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}
void append_i64(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}
void append_hex(std::string& out, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out += kHex[(v >> (4 * i)) & 0xf];
}
void append_token(std::string& out, Rng& rng, size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint64_t bits = 0;
  int left = 0;
  for (size_t i = 0; i < n; ++i) {
    if (left < 6) {
      bits = rng.next();
      left = 64;
    }
    out += kChars[bits & 63];
    bits >>= 6;
    left -= 6;
  }
}
void append_uuid(std::string& out, Rng& rng) {
  uint64_t a = rng.next(), b = rng.next();
  append_hex(out, a >> 32, 8);
  out += '-';
  append_hex(out, (a >> 16) & 0xffff, 4);
  out += '-';
  append_hex(out, 0x4000 | (a & 0x0fff), 4);
  out += '-';
  append_hex(out, 0x8000 | ((b >> 48) & 0x3fff), 4);
  out += '-';
  append_hex(out, b & 0xffffffffffffULL, 12);
}

namespace {

// The vocabulary of append_words, JSON field names and stream values.
constexpr std::string_view kWords[] = {
    "id",        "name",       "title",     "status",   "organization", "property",  "ticket",   "contact",
    "address",   "phone",      "email",     "createdAt", "updatedAt",   "deletedAt", "v",        "type",
    "description", "amount",   "currency",  "unit",     "meter",        "resident",  "employee", "role",
    "settings",  "enabled",    "priority",  "details",  "classifier",   "source",    "number",   "client",
    "invoice",   "payment",    "period",    "building", "floor",        "section",   "comment",  "author",
};
constexpr size_t kNumWords = sizeof(kWords) / sizeof(kWords[0]);

}  // namespace

void append_words(std::string& out, Rng& rng, int n) {
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += kWords[rng.below(kNumWords)];
  }
}

void append_iso_date(std::string& out, Rng& rng) {
  // 2023-01-01 .. 2025-12-28, like the timestamps of a live application.
  uint64_t day = rng.below(3 * 364);
  uint64_t year = 2023 + day / 364, month = 1 + (day % 364) / 28, dom = 1 + day % 28;
  uint64_t sec = rng.below(86400), ms = rng.below(1000);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04llu-%02llu-%02lluT%02llu:%02llu:%02llu.%03lluZ",
                static_cast<unsigned long long>(year), static_cast<unsigned long long>(month),
                static_cast<unsigned long long>(dom), static_cast<unsigned long long>(sec / 3600),
                static_cast<unsigned long long>(sec / 60 % 60), static_cast<unsigned long long>(sec % 60),
                static_cast<unsigned long long>(ms));
  out += buf;
}

void append_json(std::string& out, Rng& rng, size_t target) {
  const size_t start = out.size();
  out += "{\"id\":\"";
  append_uuid(out, rng);
  out += '"';
  while (out.size() - start + 2 < target) {
    out += ",\"";
    out += kWords[rng.below(kNumWords)];
    out += "\":";
    switch (rng.below(7)) {
      case 0:
      case 1:
        out += '"';
        append_words(out, rng, static_cast<int>(rng.range(1, 5)));
        out += '"';
        break;
      case 2:
        append_u64(out, rng.log_range(1, 10'000'000));
        break;
      case 3:
        out += '"';
        append_uuid(out, rng);
        out += '"';
        break;
      case 4:
        out += rng.below(2) ? "true" : "null";
        break;
      case 5:
        out += '"';
        append_iso_date(out, rng);
        out += '"';
        break;
      default:
        out += "{\"id\":\"";
        append_uuid(out, rng);
        out += "\",\"name\":\"";
        append_words(out, rng, 2);
        out += "\",\"dv\":1}";
        break;
    }
  }
  out += '}';
}

// ---------------------------------------------------------------------------------------------
// LZF compression

namespace {

constexpr int kLzfHashLog = 13;

// The table slot of the 3 bytes at p.
uint32_t lzf_slot(const uint8_t* p) {
  uint32_t v = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16;
  return (v * 2654435761u) >> (32 - kLzfHashLog);
}

// LZF output being written: out[0, size) so far, room for `cap` bytes. Each write returns
// false when it does not fit (the string is then not compressed).
struct LzfOutput {
  uint8_t* out;
  size_t cap;
  size_t size = 0;

  // Literal runs of at most 32 bytes: ctrl = run - 1, then the bytes.
  bool literals(const uint8_t* data, size_t n) {
    while (n > 0) {
      size_t run = std::min<size_t>(32, n);
      if (size + 1 + run > cap) return false;
      out[size++] = static_cast<uint8_t>(run - 1);
      std::memcpy(out + size, data, run);
      size += run;
      data += run;
      n -= run;
    }
    return true;
  }
  // A back-reference: copy `len` (3..264) bytes from `dist` (1..8192) bytes back.
  //   len - 2 < 7:  [L:3 | off_hi:5] off_lo        else  [7 | off_hi:5] (L - 7) off_lo
  bool match(size_t len, size_t dist) {
    if (size + 3 > cap) return false;  // the room of the longer form, also for the shorter
    size_t l = len - 2, off = dist - 1;
    if (l < 7) {
      out[size++] = static_cast<uint8_t>((l << 5) | (off >> 8));
    } else {
      out[size++] = static_cast<uint8_t>((7 << 5) | (off >> 8));
      out[size++] = static_cast<uint8_t>(l - 7);
    }
    out[size++] = static_cast<uint8_t>(off & 0xff);
    return true;
  }
};

// The length of the match of in[pos..] at in[ip..] (which agree on their first 3 bytes), at most
// 264 bytes and at most the end of the input.
size_t lzf_match_length(const uint8_t* in, size_t n, size_t pos, size_t ip) {
  size_t max_len = std::min<size_t>(264, n - ip);
  size_t len = 3;
  while (len < max_len && in[pos + len] == in[ip + len]) ++len;
  return len;
}

}  // namespace

LzfCompressor::LzfCompressor() : table_(size_t{1} << kLzfHashLog, 0) {}

size_t LzfCompressor::compress(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  if (n < 4 || n > (1u << 30)) return 0;
  if (base_ > UINT32_MAX - n - 2) {
    std::fill(table_.begin(), table_.end(), 0);
    base_ = 1;
  }
  // Positions of this call are stored as base + offset: older entries are below base.
  const uint32_t base = base_;
  base_ += static_cast<uint32_t>(n) + 1;
  LzfOutput lzf{out, cap};
  size_t ip = 0, lit = 0;  // lit: start of the pending literal run
  while (ip + 2 < n) {
    uint32_t& slot = table_[lzf_slot(in + ip)];
    uint32_t ref = slot;
    slot = base + static_cast<uint32_t>(ip);
    size_t pos = ref - base, dist = ip - pos;
    if (ref < base || dist < 1 || dist > 8192 || std::memcmp(in + pos, in + ip, 3) != 0) {
      ++ip;
      continue;
    }
    size_t len = lzf_match_length(in, n, pos, ip);
    if (!lzf.literals(in + lit, ip - lit) || !lzf.match(len, dist)) return 0;
    ip += len;
    lit = ip;
    // Index the position just before the next one (cheap help for overlapping repeats).
    if (ip + 2 < n) table_[lzf_slot(in + ip - 1)] = base + static_cast<uint32_t>(ip - 1);
  }
  if (!lzf.literals(in + lit, n - lit)) return 0;
  return lzf.size;
}

// ---------------------------------------------------------------------------------------------
// Emitter

Emitter::Emitter(rdbrekey::ByteSink& sink, bool compress)
    : sink_(sink), compress_(compress), lzf_out_(kMaxCompressed) {}

std::string_view Emitter::compress(std::string_view plain, size_t max_size) {
  if (!compress_ || plain.size() > kMaxCompressed) return {};
  size_t n = lzf_.compress(reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), lzf_out_.data(), max_size);
  return {reinterpret_cast<const char*>(lzf_out_.data()), n};
}

void Emitter::str(std::string_view s) {
  auto lzf = [this](std::string_view plain, size_t max_size) { return compress(plain, max_size); };
  if (rdbrekey::append_string(sink_, s, lzf) == rdbrekey::StringEncoding::kLzf) ++lzf_strings_;
}

void Emitter::key(uint8_t type, std::string_view key, int64_t expire_ms) {
  if (expire_ms >= 0) {
    u8(rdb::kOpExpireTimeMs);
    le64(static_cast<uint64_t>(expire_ms));
  }
  u8(type);
  str(key);
}

// ---------------------------------------------------------------------------------------------
// Profiles

const char* profile_name(Profile p) {
  switch (p) {
    case Profile::kSmall: return "small";
    case Profile::kMixed: return "mixed";
    case Profile::kHugeValues: return "huge-values";
  }
  return "?";
}
bool parse_profile(std::string_view s, Profile& out) {
  if (s == "small") out = Profile::kSmall;
  else if (s == "mixed") out = Profile::kMixed;
  else if (s == "huge-values" || s == "huge") out = Profile::kHugeValues;
  else return false;
  return true;
}
uint64_t default_keys(Profile p) {
  switch (p) {
    case Profile::kSmall: return 10'000'000;
    case Profile::kMixed: return 1'000'000;
    case Profile::kHugeValues: return 200;
  }
  return 0;
}
const char* value_type_name(int t) {
  switch (t) {
    case 0: return "string";
    case 2: return "set";
    case 4: return "hash";
    case 5: return "zset2";
    case 11: return "set-intset";
    case 16: return "hash-listpack";
    case 17: return "zset-listpack";
    case 18: return "list-quicklist2";
    case 19: return "stream2";
    case 20: return "set-listpack";
    case 21: return "stream3";
    default: return "other";
  }
}

// ---------------------------------------------------------------------------------------------
// The generator

namespace {

using rdbrekey::ListpackBuilder;

class Generator {
 public:
  Generator(const Options& opt, rdbrekey::ByteSink& sink)
      : opt_(opt), out_(sink, opt.compress && opt.profile != Profile::kHugeValues), key_seed_(mix64(opt.seed ^ 0x5eed)) {
    if (opt_.rdb_version != 10 && opt_.rdb_version != 11)
      throw std::invalid_argument("rdb version must be 10 or 11 (the listpack encodings need RDB >= 10)");
    n_keys_ = opt_.keys ? opt_.keys : default_keys(opt_.profile);
  }

  Summary run() {
    rdbrekey::RdbWriter writer(out_.sink(), rdbrekey::RdbVersion{rdbrekey::RdbFamily::kRedis, opt_.rdb_version});
    writer.write_header();
    write_aux();
    if (opt_.profile == Profile::kMixed) write_function();

    // Databases 0..3 hold 40/30/20/10 % of the keys (a few huge values: round robin).
    std::array<uint64_t, kDbs> quota{};
    if (opt_.profile == Profile::kHugeValues) {
      for (uint64_t i = 0; i < n_keys_; ++i) ++quota[i % kDbs];
    } else {
      quota[1] = n_keys_ * 3 / 10;
      quota[2] = n_keys_ * 2 / 10;
      quota[3] = n_keys_ / 10;
      quota[0] = n_keys_ - quota[1] - quota[2] - quota[3];
    }
    for (int db = 0; db < kDbs; ++db) {
      if (quota[db] == 0) continue;
      write_db(db, quota[db]);
    }
    writer.finish();
    summary_.lzf_strings = out_.lzf_strings();
    summary_.bytes = out_.sink().bytes_written();
    return summary_;
  }

 private:
  // Far-future TTLs (2100-01-01 + up to a year): nothing expires while a benchmark runs, and
  // a primary loading the file keeps every key.
  static constexpr int64_t kFarFuture = 4102444800000LL;
  // Times inside values (stream IDs, job timestamps): late 2024.
  static constexpr uint64_t kNowMs = 1733000000000ULL;

  enum Kind : uint8_t {
    // small + mixed
    kSess, kCache, kCounter, kNumericKey, kUserHash, kIntSet, kStrSet, kZset, kList, kBullJob, kBullLock,
    kBullLogs,
    // specials (explicitly placed, not drawn per key)
    kQueueId, kQueueWait, kQueueCompleted, kQueueFailed, kQueueMeta, kQueueEvents, kStream, kBlob,
  };
  struct Plan {
    Kind kind;
    bool ttl;
    uint64_t h;  // a bijective hash of (db, index): unique per db
  };
  struct Special {
    Kind kind;
    uint32_t index;  // queue number, stream or blob number
  };

  static constexpr std::string_view kQueues[] = {"emails",  "notifications", "webhooks", "billing",
                                                  "imports", "exports",       "sms",      "push"};
  static constexpr std::string_view kEntities[] = {"organization", "property", "ticket", "contact", "user",
                                                   "invoice",      "meter",    "news",   "employee", "acl"};
  static constexpr std::string_view kTopics[] = {"audit", "events", "changes", "telemetry", "outbox"};

  Plan plan(int db, uint64_t i) const {
    uint64_t h = mix64(key_seed_ ^ (static_cast<uint64_t>(db) << 56) ^ i);
    uint64_t r = h % 1000, t = (h >> 40) % 30;
    if (opt_.profile == Profile::kSmall) {
      bool ttl = t % 3 == 0;  // a third
      if (r < 100) {
        uint64_t s = (h >> 20) % 10;
        return {s < 7 ? kBullJob : s < 9 ? kBullLock : kBullLogs, ttl, h};
      }
      if (r < 500) return {kSess, ttl, h};
      if (r < 780) return {kCache, ttl, h};
      if (r < 850) return {kCounter, ttl, h};
      if (r < 890) return {kUserHash, ttl, h};
      if (r < 905) return {kIntSet, ttl, h};
      if (r < 920) return {kStrSet, ttl, h};
      if (r < 960) return {kZset, ttl, h};
      return {kList, ttl, h};
    }
    // mixed
    if (r < 250) return {kSess, true, h};
    if (r < 450) return {kCache, t < 9, h};
    if (r < 550) return {kCounter, t < 3, h};
    if (r < 560) return {kNumericKey, false, h};
    if (r < 700) return {kUserHash, t < 2, h};
    if (r < 780) return {kList, false, h};
    if (r < 815) return {kIntSet, false, h};
    if (r < 850) return {kStrSet, false, h};
    if (r < 920) return {kZset, false, h};
    uint64_t s = (h >> 20) % 20;
    if (s < 17) return {kBullJob, false, h};
    if (s < 19) return {kBullLock, true, h};
    return {kBullLogs, false, h};
  }

  std::vector<Special> specials(int db, uint64_t quota) const {
    std::vector<Special> v;
    switch (opt_.profile) {
      case Profile::kSmall:
        if (quota >= 1000)
          for (uint32_t q = 0; q < 8; ++q)
            for (Kind k : {kQueueId, kQueueWait, kQueueCompleted, kQueueMeta}) v.push_back({k, q});
        break;
      case Profile::kMixed: {
        if (quota >= 1000)
          for (uint32_t q = 0; q < 6; ++q)
            for (Kind k : {kQueueId, kQueueWait, kQueueCompleted, kQueueFailed, kQueueMeta, kQueueEvents})
              v.push_back({k, q});
        // A few streams (1 per 5000 keys) and multi-MB strings (1 per 100,000 keys), spread
        // over the databases in turn.
        uint64_t streams = n_keys_ / 5000, blobs = std::max<uint64_t>(1, n_keys_ / 100'000);
        for (uint64_t s = static_cast<uint64_t>(db); s < streams; s += kDbs) v.push_back({kStream, static_cast<uint32_t>(s)});
        for (uint64_t b = static_cast<uint64_t>(db); b < blobs; b += kDbs) v.push_back({kBlob, static_cast<uint32_t>(b)});
        break;
      }
      case Profile::kHugeValues:
        for (uint64_t b = static_cast<uint64_t>(db); b < n_keys_; b += kDbs) v.push_back({kBlob, static_cast<uint32_t>(b)});
        break;
    }
    if (v.size() > quota) v.resize(quota);
    return v;
  }

  void write_aux() {
    Rng rng(mix64(opt_.seed ^ 0xa0c5));
    aux("redis-ver", opt_.rdb_version >= 11 ? "7.2.4" : "7.0.15");
    aux("redis-bits", "64");
    aux("ctime", "1733000000");
    std::string mem;
    append_u64(mem, 900'000'000 + rng.below(1'000'000'000));
    aux("used-mem", mem);
    if (opt_.profile == Profile::kMixed) {
      // A primary with replicas also writes its replication ids (rdbrekey drops them).
      aux("repl-stream-db", "0");
      std::string id;
      append_hex(id, rng.next(), 16);
      append_hex(id, rng.next(), 16);
      append_hex(id, rng.next(), 8);
      aux("repl-id", id);
      std::string off;
      append_u64(off, rng.below(1ULL << 40));
      aux("repl-offset", off);
    }
    aux("aof-base", "0");
  }
  void aux(std::string_view field, std::string_view value) {
    out_.u8(rdb::kOpAux);
    out_.str(field);
    out_.str(value);
  }
  void write_function() {
    out_.u8(rdb::kOpFunction2);
    out_.str(
        "#!lua name=rdbgen\n"
        "redis.register_function('rdbgen_echo', function(keys, args) return args[1] end)\n"
        "redis.register_function{function_name='rdbgen_len', callback=function(keys, args) "
        "return redis.call('STRLEN', keys[1]) end, flags={'no-writes'}}\n");
  }

  void write_db(int db, uint64_t quota) {
    std::vector<Special> sp = specials(db, quota);
    const uint64_t regular = quota - sp.size();
    uint64_t expires = 0;
    if (opt_.profile != Profile::kHugeValues)
      for (uint64_t i = 0; i < regular; ++i) expires += plan(db, i).ttl;

    out_.u8(rdb::kOpSelectDb);
    out_.len(static_cast<uint64_t>(db));
    out_.u8(rdb::kOpResizeDb);
    out_.len(quota);
    out_.len(expires);
    summary_.db_keys[db] = quota;
    summary_.db_expires[db] = expires;
    summary_.keys += quota;
    summary_.expires += expires;

    Rng rng(mix64(opt_.seed * 0x100000001b3ULL + static_cast<uint64_t>(db) + 1));
    db_ = db;
    // Specials are spread evenly among the regular keys.
    size_t next_special = 0;
    for (uint64_t i = 0; i <= regular; ++i) {
      while (next_special < sp.size() &&
             (regular == 0 || next_special * regular <= i * sp.size() || i == regular)) {
        write_special(sp[next_special++], rng);
      }
      if (i < regular) write_regular(plan(db, i), i, rng);
    }
  }

  int64_t ttl_for(bool ttl, Rng& rng) {
    return ttl ? kFarFuture + static_cast<int64_t>(rng.below(365ULL * 86400 * 1000)) : -1;
  }

  // ---- keys drawn per index -----------------------------------------------------------------

  void write_regular(const Plan& p, uint64_t i, Rng& rng) {
    const bool small = opt_.profile == Profile::kSmall;
    const int64_t exp = ttl_for(p.ttl, rng);
    key_.clear();
    val_.clear();
    switch (p.kind) {
      case kSess:
        key_ = "sess:";
        append_hex(key_, p.h, 16);
        append_hex(key_, rng.next(), 16);
        if (small) {
          append_token(val_, rng, rng.range(5, 40));
        } else {
          val_ = "{\"cookie\":{\"originalMaxAge\":86400000,\"expires\":\"";
          append_iso_date(val_, rng);
          val_ += "\",\"httpOnly\":true,\"path\":\"/\"},\"userId\":\"";
          append_uuid(val_, rng);
          val_ += "\"";
          if (rng.below(2)) {
            val_ += ",\"passport\":";
            append_json(val_, rng, rng.range(60, 500));
          }
          val_ += '}';
        }
        return string_key(exp, val_);
      case kCache:
        if (small) {
          key_ = "cache:";
          append_u64(key_, i);
          switch (rng.below(10)) {
            case 0:
            case 1:
              append_u64(val_, rng.log_range(1, 100'000'000));
              break;
            case 2:
            case 3:
            case 4:
              val_ = "{\"v\":";
              append_u64(val_, rng.below(100000));
              val_ += ",\"ok\":true}";
              break;
            default:
              append_token(val_, rng, rng.range(5, 40));
          }
        } else {
          key_ = "cache:";
          key_ += kEntities[(p.h >> 16) % std::size(kEntities)];
          key_ += ':';
          append_u64(key_, i);
          if (rng.below(3) == 0) {
            key_ += ":organization:";
            append_uuid(key_, rng);
          }
          append_json(val_, rng, rng.log_range(200, 4096));
        }
        return string_key(exp, val_);
      case kCounter:
        key_ = small ? "cnt:" : "counter:";
        if (!small) {
          key_ += kEntities[(p.h >> 16) % std::size(kEntities)];
          key_ += ":views:";
        }
        append_u64(key_, i);
        {
          uint64_t r = rng.below(100);
          uint64_t v = r < 70 ? rng.below(1000) : r < 95 ? rng.log_range(1000, 2'000'000'000) : rng.log_range(1ULL << 31, 1ULL << 50);
          append_u64(val_, v);
        }
        return string_key(exp, val_);
      case kNumericKey:
        // Keys that are numbers are written int-encoded by Redis (0xC2 + int32).
        append_u64(key_, 1'000'000'000 + i);
        append_token(val_, rng, rng.range(8, 30));
        return string_key(exp, val_);
      case kUserHash:
        key_ = small ? "user:" : "obj:";
        if (!small) {
          key_ += kEntities[(p.h >> 16) % std::size(kEntities)];
          key_ += ':';
        }
        append_u64(key_, i);
        fill_user_hash(rng, small ? rng.range(2, 10) : (rng.below(100) < 95 ? rng.log_range(3, 30) : rng.log_range(129, 500)));
        return hash_key(exp);
      case kIntSet: {
        key_ = small ? "ids:" : "set:ids:";
        append_u64(key_, i);
        size_t n = small ? rng.range(1, 20) : rng.log_range(1, 600);
        uint64_t span = rng.below(4) == 0 ? (1ULL << 40) : rng.below(2) ? 30000 : 2'000'000;
        ints_.clear();
        for (size_t j = 0; j < n; ++j) ints_.push_back(static_cast<int64_t>(rng.below(span)));
        std::sort(ints_.begin(), ints_.end());
        ints_.erase(std::unique(ints_.begin(), ints_.end()), ints_.end());
        return int_set_key(exp);
      }
      case kStrSet: {
        key_ = small ? "tags:" : "set:tags:";
        append_u64(key_, i);
        size_t n = small ? rng.range(1, 10) : rng.log_range(1, 200);
        strs_.clear();
        for (size_t j = 0; j < n; ++j) {
          std::string m = std::string(kWords[rng.below(kNumWords)]);
          m += '-';
          append_u64(m, j);
          if (!small && rng.below(8) == 0) {
            m += ':';
            append_json(m, rng, rng.range(40, 120));
          }
          strs_.push_back(std::move(m));
        }
        return str_set_key(exp);
      }
      case kZset: {
        key_ = small ? "lb:" : "zset:";
        if (!small) {
          key_ += kEntities[(p.h >> 16) % std::size(kEntities)];
          key_ += ":rank:";
        }
        append_u64(key_, i);
        size_t n = small ? rng.range(1, 20) : (rng.below(100) < 90 ? rng.log_range(1, 128) : rng.log_range(129, 1000));
        zset_.clear();
        for (size_t j = 0; j < n; ++j) {
          std::string m = "player:";
          append_u64(m, j * 7919 % 100003);
          m += ':';
          append_hex(m, rng.next(), 4);
          double score = rng.below(3) ? static_cast<double>(rng.below(100000))
                                      : static_cast<double>(rng.below(400000)) / 4.0 - 50000.0;
          zset_.emplace_back(score, std::move(m));
        }
        return zset_key(exp);
      }
      case kList: {
        key_ = small ? "q:" : "list:";
        if (!small) key_ += kTopics[(p.h >> 16) % std::size(kTopics)];
        if (!small) key_ += ':';
        append_u64(key_, i);
        size_t n = small ? rng.range(1, 20) : rng.log_range(1, 300);
        strs_.clear();
        for (size_t j = 0; j < n; ++j) {
          std::string e;
          switch (rng.below(small ? 2 : 4)) {
            case 0: append_u64(e, rng.log_range(1, 10'000'000)); break;
            case 1:
            case 2: append_token(e, rng, rng.range(4, 24)); break;
            default: append_json(e, rng, rng.log_range(20, 200)); break;
          }
          strs_.push_back(std::move(e));
        }
        return list_key(exp);
      }
      case kBullJob: {
        std::string_view q = kQueues[(p.h >> 16) % std::size(kQueues)];
        key_ = "bull:";
        key_ += q;
        key_ += ':';
        append_u64(key_, i);
        fill_bull_job(rng, q, i, small);
        return hash_key(exp);
      }
      case kBullLock: {
        key_ = "bull:";
        key_ += kQueues[(p.h >> 16) % std::size(kQueues)];
        key_ += ':';
        append_u64(key_, i);
        key_ += ":lock";
        append_uuid(val_, rng);
        return string_key(exp, val_);
      }
      case kBullLogs: {
        key_ = "bull:";
        key_ += kQueues[(p.h >> 16) % std::size(kQueues)];
        key_ += ':';
        append_u64(key_, i);
        key_ += ":logs";
        strs_.clear();
        size_t n = rng.range(1, 5);
        for (size_t j = 0; j < n; ++j) {
          std::string e = "step ";
          append_u64(e, j);
          e += ": ";
          append_words(e, rng, static_cast<int>(rng.range(2, 8)));
          strs_.push_back(std::move(e));
        }
        return list_key(exp);
      }
      default:
        throw std::logic_error("rdbgen: bad plan");
    }
  }

  void fill_user_hash(Rng& rng, size_t n) {
    static constexpr std::string_view kFields[] = {"name", "email", "phone", "role", "lang",
                                                   "tz",   "createdAt", "visits", "score", "plan"};
    fields_.clear();
    values_.clear();
    for (size_t j = 0; j < n; ++j) {
      std::string f;
      if (j < std::size(kFields)) {
        f = kFields[j];
      } else {
        f = "field:";
        append_u64(f, j);
      }
      std::string v;
      switch (rng.below(4)) {
        case 0: append_u64(v, rng.log_range(1, 1'000'000'000)); break;
        case 1: append_words(v, rng, static_cast<int>(rng.range(1, 4))); break;
        case 2: append_iso_date(v, rng); break;
        default: append_token(v, rng, rng.range(3, 30)); break;
      }
      fields_.push_back(std::move(f));
      values_.push_back(std::move(v));
    }
  }

  void fill_bull_job(Rng& rng, std::string_view queue, uint64_t id, bool small) {
    fields_.clear();
    values_.clear();
    auto add = [&](std::string_view f, std::string v) {
      fields_.emplace_back(f);
      values_.push_back(std::move(v));
    };
    add("name", std::string(queue) + "-job");
    std::string data;
    if (small) {
      data = "{\"id\":";
      append_u64(data, id);
      data += ",\"to\":\"";
      append_token(data, rng, rng.range(4, 16));
      data += "\"}";
    } else {
      append_json(data, rng, rng.log_range(80, 1500));
    }
    add("data", std::move(data));
    add("opts", rng.below(2) ? "{\"attempts\":3,\"delay\":0}" : "{\"attempts\":5,\"backoff\":{\"type\":\"exponential\"}}");
    std::string ts;
    uint64_t t0 = kNowMs - rng.below(30ULL * 86400 * 1000);
    append_u64(ts, t0);
    add("timestamp", ts);
    add("delay", "0");
    add("priority", "0");
    add("attemptsMade", std::to_string(rng.below(3)));
    if (rng.below(3)) {
      std::string p;
      append_u64(p, t0 + rng.below(5000));
      add("processedOn", p);
      std::string f;
      append_u64(f, t0 + 5000 + rng.below(60000));
      add("finishedOn", std::move(f));
      if (!small && rng.below(2)) {
        std::string rv;
        append_json(rv, rng, rng.range(20, 200));
        add("returnvalue", std::move(rv));
      }
    }
  }

  // ---- specials -----------------------------------------------------------------------------

  void write_special(const Special& s, Rng& rng) {
    const bool small = opt_.profile == Profile::kSmall;
    key_.clear();
    val_.clear();
    if (s.kind >= kQueueId && s.kind <= kQueueEvents) {
      key_ = "bull:";
      key_ += kQueues[s.index % std::size(kQueues)];
    }
    switch (s.kind) {
      case kQueueId:
        key_ += ":id";
        append_u64(val_, rng.log_range(1000, 50'000'000));
        return string_key(-1, val_);
      case kQueueWait: {
        key_ += ":wait";
        size_t n = small ? rng.range(1, 200) : rng.range(100, 3000);
        strs_.clear();
        uint64_t base = rng.range(1000, 1'000'000);
        for (size_t j = 0; j < n; ++j) {
          strs_.emplace_back();
          append_u64(strs_.back(), base + j);
        }
        return list_key(-1);
      }
      case kQueueCompleted:
      case kQueueFailed: {
        key_ += s.kind == kQueueCompleted ? ":completed" : ":failed";
        size_t n = s.kind == kQueueFailed ? rng.range(1, 100) : small ? rng.range(1, 128) : rng.range(100, 2000);
        zset_.clear();
        uint64_t base = rng.range(1000, 1'000'000);
        for (size_t j = 0; j < n; ++j) {
          std::string m;
          append_u64(m, base + j);
          zset_.emplace_back(static_cast<double>(kNowMs - rng.below(86400000)), std::move(m));
        }
        return zset_key(-1);
      }
      case kQueueMeta:
        key_ += ":meta";
        fields_.assign({"opts.maxLenEvents", "version", "paused"});
        values_.assign({"10000", "bullmq:5.12.0", "0"});
        if (rng.below(2)) {
          fields_.pop_back();
          values_.pop_back();
        }
        return hash_key(-1);
      case kQueueEvents:
        key_ += ":events";
        return stream_key(-1, rng, rng.range(200, 2000), 0, true);
      case kStream:
        key_ = "stream:";
        key_ += kTopics[s.index % std::size(kTopics)];
        key_ += ':';
        append_u64(key_, s.index);
        return stream_key(-1, rng, rng.log_range(50, 1500), static_cast<int>(rng.below(3)), false);
      case kBlob: {
        key_ = "blob:";
        if (opt_.profile == Profile::kHugeValues) {
          key_ += "backup:";
          append_u64(key_, s.index);
          blob_.resize(rng.range(1ULL << 20, 20ULL << 20));
        } else {
          key_ += "export:";
          append_u64(key_, s.index);
          blob_.resize(rng.range(2ULL << 20, 8ULL << 20));
        }
        // Random bytes, so that nothing (LZF, a filesystem) can compress them.
        rng.fill(blob_.data(), blob_.size());
        out_.key(rdb::kTypeString, key_, -1);
        out_.str(std::string_view(reinterpret_cast<const char*>(blob_.data()), blob_.size()));
        ++summary_.by_type[rdb::kTypeString];
        return;
      }
      default:
        throw std::logic_error("rdbgen: bad special");
    }
  }

  // ---- value writers (encoding chosen as Redis 7.0 / 7.2 would) -------------------------------

  void string_key(int64_t exp, std::string_view value) {
    out_.key(rdb::kTypeString, key_, exp);
    out_.str(value);
    ++summary_.by_type[rdb::kTypeString];
  }

  // fields_ / values_
  void hash_key(int64_t exp) {
    bool small = fields_.size() <= 128;
    for (size_t j = 0; small && j < fields_.size(); ++j)
      small = fields_[j].size() <= 64 && values_[j].size() <= 64;
    if (small) {
      lp_.reset();
      for (size_t j = 0; j < fields_.size(); ++j) {
        lp_.add(fields_[j]);
        lp_.add(values_[j]);
      }
      out_.key(rdb::kTypeHashListpack, key_, exp);
      out_.str(lp_.finish());
      ++summary_.by_type[rdb::kTypeHashListpack];
    } else {
      out_.key(rdb::kTypeHash, key_, exp);
      out_.len(fields_.size());
      for (size_t j = 0; j < fields_.size(); ++j) {
        out_.str(fields_[j]);
        out_.str(values_[j]);
      }
      ++summary_.by_type[rdb::kTypeHash];
    }
  }

  // ints_ (sorted, unique, non-empty)
  void int_set_key(int64_t exp) {
    if (ints_.size() <= 512) {
      rdbrekey::build_intset(blob_str_, ints_);
      out_.key(rdb::kTypeSetIntset, key_, exp);
      out_.str(blob_str_);
      ++summary_.by_type[rdb::kTypeSetIntset];
    } else {
      out_.key(rdb::kTypeSet, key_, exp);
      out_.len(ints_.size());
      for (int64_t v : ints_) {
        tmp_.clear();
        append_i64(tmp_, v);
        out_.str(tmp_);
      }
      ++summary_.by_type[rdb::kTypeSet];
    }
  }

  // strs_ (unique, not integers, non-empty)
  void str_set_key(int64_t exp) {
    bool lp = opt_.rdb_version >= 11 && strs_.size() <= 128;
    for (size_t j = 0; lp && j < strs_.size(); ++j) lp = strs_[j].size() <= 64;
    if (lp) {
      lp_.reset();
      for (const auto& m : strs_) lp_.add(m);
      out_.key(rdb::kTypeSetListpack, key_, exp);
      out_.str(lp_.finish());
      ++summary_.by_type[rdb::kTypeSetListpack];
    } else {
      out_.key(rdb::kTypeSet, key_, exp);
      out_.len(strs_.size());
      for (const auto& m : strs_) out_.str(m);
      ++summary_.by_type[rdb::kTypeSet];
    }
  }

  // zset_ (unique members, non-empty)
  void zset_key(int64_t exp) {
    bool lp = zset_.size() <= 128;
    for (size_t j = 0; lp && j < zset_.size(); ++j) lp = zset_[j].second.size() <= 64;
    if (lp) {
      // A listpack zset is sorted by score, then member.
      std::sort(zset_.begin(), zset_.end());
      lp_.reset();
      for (const auto& [score, member] : zset_) {
        lp_.add(member);
        tmp_.clear();
        append_score(tmp_, score);
        lp_.add(tmp_);
      }
      out_.key(rdb::kTypeZsetListpack, key_, exp);
      out_.str(lp_.finish());
      ++summary_.by_type[rdb::kTypeZsetListpack];
    } else {
      // Redis writes ZSET_2 from the greatest score to the smallest.
      std::sort(zset_.begin(), zset_.end(), [](const auto& a, const auto& b) { return b < a; });
      out_.key(rdb::kTypeZset2, key_, exp);
      out_.len(zset_.size());
      for (const auto& [score, member] : zset_) {
        out_.str(member);
        out_.binary_double(score);
      }
      ++summary_.by_type[rdb::kTypeZset2];
    }
  }
  // As Redis' d2string: integral values as integers, others in shortest round-trip form.
  static void append_score(std::string& out, double d) {
    if (std::floor(d) == d && std::fabs(d) < 1e15) {
      append_i64(out, static_cast<int64_t>(d));
      return;
    }
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    out.append(buf, static_cast<size_t>(r.ptr - buf));
  }

  // strs_ (non-empty): a quicklist of packed listpack nodes of at most 8 KiB each.
  void list_key(int64_t exp) {
    constexpr size_t kNodeBytes = 8192;
    out_.key(rdb::kTypeListQuicklist2, key_, exp);
    // Count the nodes first (the node count comes before them).
    size_t nodes = 0;
    {
      size_t bytes = 7, in_node = 0;
      for (const auto& e : strs_) {
        size_t sz = e.size() + 11;  // upper bound of one entry's size
        if (in_node && bytes + sz > kNodeBytes) {
          ++nodes;
          bytes = 7;
          in_node = 0;
        }
        bytes += sz;
        ++in_node;
      }
      if (in_node) ++nodes;
    }
    out_.len(nodes);
    lp_.reset();
    size_t bytes = 7;
    for (const auto& e : strs_) {
      size_t sz = e.size() + 11;
      if (lp_.count() && bytes + sz > kNodeBytes) {
        out_.len(rdb::kQuicklistNodePacked);
        out_.str(lp_.finish());
        lp_.reset();
        bytes = 7;
      }
      lp_.add(e);
      bytes += sz;
    }
    out_.len(rdb::kQuicklistNodePacked);
    out_.str(lp_.finish());
    ++summary_.by_type[rdb::kTypeListQuicklist2];
  }

  // A stream of n entries (IDs increasing from late 2024), in nodes of <= 100 entries / ~4 KiB,
  // with `groups` consumer groups (each with a PEL owned by 1..3 consumers).
  void stream_key(int64_t exp, Rng& rng, uint64_t n, int groups, bool bull_events) {
    static constexpr std::string_view kEventFields[] = {"event", "jobId", "prev"};
    static constexpr std::string_view kGenericFields[] = {"type", "actor", "payload"};
    static constexpr std::string_view kEvents[] = {"added", "waiting", "active", "completed", "failed", "progress"};
    const auto& master_fields = bull_events ? kEventFields : kGenericFields;

    struct Node {
      uint64_t ms, seq;
      std::string lp;
    };
    std::vector<Node> nodes;
    ids_.clear();
    uint64_t ms = kNowMs - rng.below(86400000ULL * 30), seq = 0;
    ListpackBuilder body;
    uint64_t node_ms = 0, node_seq = 0, in_node = 0;
    auto close_node = [&]() {
      lp_.reset();
      lp_.add_int(static_cast<int64_t>(in_node));  // count of valid entries
      lp_.add_int(0);                              // deleted entries
      lp_.add_int(static_cast<int64_t>(std::size(master_fields)));
      for (auto f : master_fields) lp_.add(f);
      lp_.add_int(0);  // master entry terminator
      lp_.append_entries(body);
      nodes.push_back({node_ms, node_seq, std::string(lp_.finish())});
      body.reset();
      in_node = 0;
    };
    for (uint64_t e = 0; e < n; ++e) {
      if (e > 0) {
        if (rng.below(4) == 0) {
          ++seq;
        } else {
          ms += 1 + rng.below(5000);
          seq = 0;
        }
      }
      ids_.emplace_back(ms, seq);
      if (in_node && (in_node >= 100 || body.bytes() >= 4096)) close_node();
      if (in_node == 0) {
        node_ms = ms;
        node_seq = seq;
      }
      // Values of this entry.
      values_.clear();
      if (bull_events) {
        values_.emplace_back(kEvents[rng.below(std::size(kEvents))]);
        values_.emplace_back(std::to_string(rng.range(1, 5'000'000)));
        values_.emplace_back(rng.below(2) ? "waiting" : "active");
      } else {
        values_.emplace_back(kWords[rng.below(kNumWords)]);
        values_.emplace_back("user:" + std::to_string(rng.below(100000)));
        std::string j;
        append_json(j, rng, rng.log_range(30, 300));
        values_.push_back(std::move(j));
      }
      const bool same = rng.below(10) != 0;
      body.add_int(same ? 2 : 0);  // flags: SAMEFIELDS or none
      body.add_int(static_cast<int64_t>(ms - node_ms));
      body.add_int(static_cast<int64_t>(seq) - static_cast<int64_t>(node_seq));
      int64_t fields = static_cast<int64_t>(std::size(master_fields));
      if (same) {
        for (const auto& v : values_) body.add(v);
        body.add_int(fields + 3);
      } else {
        // Its own field names (one more than the master's).
        body.add_int(fields + 1);
        for (size_t f = 0; f < values_.size(); ++f) {
          body.add(master_fields[f]);
          body.add(values_[f]);
        }
        body.add("trace");
        tmp_.clear();
        append_hex(tmp_, rng.next(), 16);
        body.add(tmp_);
        body.add_int((fields + 1) * 2 + 4);
      }
      ++in_node;
    }
    if (in_node) close_node();

    const bool v3 = opt_.rdb_version >= 11;
    const uint8_t type = v3 ? rdb::kTypeStreamListpacks3 : rdb::kTypeStreamListpacks2;
    out_.key(type, key_, exp);
    out_.len(nodes.size());
    for (const auto& node : nodes) {
      uint8_t node_key[rdb::kStreamIdSize];  // the node's master ID, as an RDB string
      rdbrekey::encode_stream_id(node_key, node.ms, node.seq);
      out_.str(std::string_view(reinterpret_cast<const char*>(node_key), sizeof node_key));
      out_.str(node.lp);
    }
    out_.len(n);                   // length
    out_.len(ids_.back().first);   // last id
    out_.len(ids_.back().second);
    out_.len(ids_.front().first);  // first id
    out_.len(ids_.front().second);
    out_.len(0);                   // max deleted entry id
    out_.len(0);
    out_.len(n);                   // entries added
    out_.len(static_cast<uint64_t>(groups));
    for (int g = 0; g < groups; ++g) {
      std::string name = g == 0 ? "workers" : "analytics";
      out_.str(name);
      uint64_t last = rng.below(n);  // index of the last delivered entry
      out_.len(ids_[last].first);
      out_.len(ids_[last].second);
      out_.len(last + 1);  // entries read
      uint64_t pel = std::min<uint64_t>(last + 1, rng.below(11));
      uint64_t consumers = 1 + rng.below(3);
      out_.len(pel);
      for (uint64_t k = last + 1 - pel; k <= last && pel; ++k) {
        out_.id16(ids_[k].first, ids_[k].second);
        out_.le64(ids_[k].first + rng.below(10000));  // delivery time
        out_.len(1 + rng.below(3));                   // delivery count
      }
      out_.len(consumers);
      for (uint64_t c = 0; c < consumers; ++c) {
        out_.str("worker-" + std::to_string(c + 1));
        uint64_t seen = ids_.back().first + rng.below(60000);
        out_.le64(seen);
        if (v3) out_.le64(seen - rng.below(1000));  // active time
        uint64_t own = 0;
        for (uint64_t k = last + 1 - pel; k <= last && pel; ++k) own += (k % consumers) == c;
        out_.len(own);
        for (uint64_t k = last + 1 - pel; k <= last && pel; ++k)
          if ((k % consumers) == c) out_.id16(ids_[k].first, ids_[k].second);
      }
    }
    ++summary_.by_type[type];
  }

  const Options opt_;
  Emitter out_;
  uint64_t key_seed_;
  uint64_t n_keys_ = 0;
  int db_ = 0;
  Summary summary_;

  std::string key_, val_, tmp_, blob_str_;
  std::vector<std::string> fields_, values_, strs_;
  std::vector<int64_t> ints_;
  std::vector<std::pair<double, std::string>> zset_;
  std::vector<std::pair<uint64_t, uint64_t>> ids_;
  std::vector<uint8_t> blob_;
  ListpackBuilder lp_;
};

}  // namespace

Summary generate(const Options& opt, rdbrekey::ByteSink& sink) {
  Generator g(opt, sink);
  return g.run();
}

}  // namespace rdbgen
