#include "rdbrekey/value_walker.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/byte_source.h"
#include "rdbrekey/error.h"
#include "rdbrekey/rdb_input.h"
#include "rdbrekey/record_scanner.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_builder.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

constexpr RdbVersion redis_v(int n) { return RdbVersion{RdbFamily::kRedis, n}; }
constexpr RdbVersion kValkey80{RdbFamily::kValkey, 80};

// ---------------------------------------------------------------------------------------------
// Building values by hand (../shared/spec/rdb-format.md §3, §5).

RdbBuilder b() { return RdbBuilder(""); }

std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s += static_cast<char>(v >> (8 * i));
  return s;
}
std::string t8(int64_t ms) { return le(static_cast<uint64_t>(ms), 8); }
std::string binary_double(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return le(bits, 8);
}
std::string binary_float(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return le(bits, 4);
}
// A raw stream ID: ms and seq, big-endian (§3.5).
std::string id16(uint64_t ms, uint64_t seq) {
  std::string s;
  for (int i = 7; i >= 0; --i) s += static_cast<char>(ms >> (8 * i));
  for (int i = 7; i >= 0; --i) s += static_cast<char>(seq >> (8 * i));
  return s;
}
// A length in its 64-bit form (0x81 + 8 bytes big-endian), whatever its size.
std::string len64(uint64_t n) {
  std::string s("\x81", 1);
  for (int i = 7; i >= 0; --i) s += static_cast<char>(n >> (8 * i));
  return s;
}

// Blob contents (§5.1): real layouts, although the walker never looks inside.
std::string listpack(const std::vector<std::string>& entries) {
  std::string body;
  for (const auto& e : entries) {  // strings shorter than 64 bytes: 10xxxxxx len, data, backlen
    body += static_cast<char>(0x80 | e.size());
    body += e;
    body += static_cast<char>(1 + e.size());
  }
  body += '\xff';
  return le(6 + body.size(), 4) + le(entries.size(), 2) + body;
}
std::string ziplist(const std::vector<std::string>& entries) {
  std::string body;
  size_t prev = 0, tail = 10;
  for (const auto& e : entries) {  // prevlen (1 byte), 00xxxxxx len, data
    tail = 10 + body.size();
    std::string entry;
    entry += static_cast<char>(prev);
    entry += static_cast<char>(e.size());
    entry += e;
    prev = entry.size();
    body += entry;
  }
  body += '\xff';
  return le(10 + body.size(), 4) + le(tail, 4) + le(entries.size(), 2) + body;
}
std::string intset16(const std::vector<int16_t>& values) {
  std::string s = le(2, 4) + le(values.size(), 4);
  for (int16_t v : values) s += le(static_cast<uint16_t>(v), 2);
  return s;
}
std::string zipmap(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string s(1, static_cast<char>(pairs.size()));
  for (const auto& [k, v] : pairs) {
    s += static_cast<char>(k.size());
    s += k;
    s += static_cast<char>(v.size());
    s += '\0';  // free
    s += v;
  }
  return s + '\xff';
}

// One RDB string in every encoding a server writes or accepts (§3.1, §3.2).
std::vector<std::pair<std::string, std::string>> strings_in_every_encoding() {
  std::string repetitive;
  for (int i = 0; i < 40; ++i) repetitive += "bull:queue:";
  return {
      {"empty", b().str("").bytes()},
      {"short", b().str("hello").bytes()},
      {"binary", b().str(std::string("\0\xff\xc3\x81", 4)).bytes()},
      {"63 bytes", b().str(std::string(63, 'x')).bytes()},
      {"14-bit length", b().str(std::string(300, 'y')).bytes()},
      {"32-bit length", b().str(std::string(70000, 'z')).bytes()},
      {"64-bit length", len64(3) + "abc"},
      {"int8", std::string("\xc0\x7b", 2)},
      {"int16", std::string("\xc1\x39\x30", 3)},
      {"int32", std::string("\xc2\x15\xcd\x5b\x07", 5)},
      {"lzf", test::lzf_string(repetitive)},
  };
}

// ---------------------------------------------------------------------------------------------
// Walking.

using Walk = std::function<void(ValueWalker&)>;

Walk value_of_type(uint8_t type) {
  return [type](ValueWalker& w) { w.walk_value(type); };
}

// Walks the first `size` bytes of `bytes`; returns the offset where the walk ended.
uint64_t walk(const std::string& bytes, size_t size, const Walk& f, RdbVersion v) {
  MemorySource src("value", bytes.data(), size);
  RdbInput in(src, v);
  ValueWalker w(in);
  f(w);
  return src.offset();
}

// The code of the Error the walk throws, or nullopt when it ends normally.
std::optional<Errc> walk_error(const std::string& bytes, size_t size, const Walk& f, RdbVersion v,
                               std::string* message = nullptr) {
  try {
    walk(bytes, size, f, v);
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return std::nullopt;
}

std::optional<Errc> walk_error(const std::string& bytes, const Walk& f, RdbVersion v, std::string* message = nullptr) {
  return walk_error(bytes, bytes.size(), f, v, message);
}

// The framing of one value: the walk consumes exactly its bytes — alone, and with more bytes
// after it (the walker's in-buffer fast paths) — a tee copies exactly those bytes, and every
// strict prefix (all of them, or about `max_prefixes` spread over the value) is a truncation.
void expect_frames(const std::string& value, const Walk& f, RdbVersion v, size_t max_prefixes = ~size_t{0}) {
  ASSERT_EQ(walk(value, value.size(), f, v), value.size());
  std::string padded = value + std::string(100, '\x05');
  ASSERT_EQ(walk(padded, padded.size(), f, v), value.size()) << "with bytes after the value";
  {
    MemorySource src("value", padded.data(), padded.size());
    RdbInput in(src, v);
    ValueWalker w(in);
    MemorySink sink;
    src.begin_tee(sink);
    f(w);
    src.end_tee();
    sink.finalize();
    ASSERT_EQ(std::string(sink.data().begin(), sink.data().end()), value) << "bytes copied through a tee";
  }
  size_t step = value.size() <= max_prefixes ? 1 : value.size() / max_prefixes;
  for (size_t cut = 0; cut < value.size(); cut += (cut < 64 || value.size() - cut < 64) ? 1 : step) {
    std::string msg;
    std::optional<Errc> c = walk_error(value, cut, f, v, &msg);
    ASSERT_EQ(c, Errc::kTruncated) << "prefix of " << cut << " of " << value.size() << " bytes: " << msg;
  }
}

void expect_value_frames(uint8_t type, const std::string& value, RdbVersion v = redis_v(11)) {
  expect_frames(value, value_of_type(type), v);
}

// ---------------------------------------------------------------------------------------------
// Every value type.

TEST(ValueWalker, StringsInEveryEncoding) {
  for (const auto& [name, s] : strings_in_every_encoding()) {
    SCOPED_TRACE(name);
    expect_value_frames(0, s);
  }
}

TEST(ValueWalker, ListAndSetOfStrings) {
  RdbBuilder list = b();
  auto strings = strings_in_every_encoding();
  list.len(strings.size());
  for (const auto& [name, s] : strings) list.raw(s);
  for (uint8_t type : {1, 2}) {
    SCOPED_TRACE(type);
    expect_value_frames(type, list.bytes());
    expect_value_frames(type, b().len(0).bytes());  // empty (a server skips it, framing is fine)
  }
  // Many elements: a 6-bit count, then a 14-bit one.
  RdbBuilder many = b().len(100);
  for (int i = 0; i < 100; ++i) many.str("member:" + std::to_string(i));
  expect_value_frames(2, many.bytes());
  RdbBuilder more = b().len(300);
  for (int i = 0; i < 300; ++i) more.str(std::to_string(i * 7));
  expect_value_frames(1, more.bytes());
}

TEST(ValueWalker, ZsetWithStringDoubles) {
  // Scores: text of any length, and the NaN / +inf / -inf markers that carry no bytes.
  RdbBuilder z = b().len(6);
  z.str("a").byte(3).raw("1.5");
  z.str("b").byte(1).raw("0");
  z.str("c").byte(253);
  z.str("d").byte(254);
  z.str("e").byte(255);
  z.raw(test::lzf_string(std::string(100, 'f'))).byte(23).raw("-1.2345678901234567e+30");
  expect_value_frames(3, z.bytes());
}

TEST(ValueWalker, HashOfStringPairs) {
  RdbBuilder h = b();
  auto strings = strings_in_every_encoding();
  h.len(strings.size());
  for (const auto& [name, s] : strings) h.str(name).raw(s);
  expect_value_frames(4, h.bytes());
}

TEST(ValueWalker, Zset2WithBinaryDoubles) {
  RdbBuilder z = b().len(5);
  z.str("m1").raw(binary_double(3.25));
  z.str("m2").raw(binary_double(-0.0));
  z.str("m3").raw(binary_double(1e308));
  z.raw(std::string("\xc0\x05", 2)).raw(binary_double(-2.5e-300));
  // Bytes that look like length or encoding markers inside the score.
  z.str("m5").raw(std::string("\xc3\x81\x80\xff\xfe\xfd\x40\x00", 8));
  expect_value_frames(5, z.bytes());
}

TEST(ValueWalker, BlobEncodings) {
  const std::pair<uint8_t, std::string> blobs[] = {
      {9, zipmap({{"field", "value"}, {"f2", "v2"}})},
      {10, ziplist({"a", "bb", "ccc"})},
      {11, intset16({-3, 1, 2, 300})},
      {12, ziplist({"member", "1.5", "other", "2"})},
      {13, ziplist({"field", "value", "f2", "v2"})},
      {16, listpack({"field", "value"})},
      {17, listpack({"member", "1"})},
      {20, listpack({"x", "y", "z"})},
  };
  for (const auto& [type, blob] : blobs) {
    SCOPED_TRACE(static_cast<int>(type));
    expect_value_frames(type, b().str(blob).bytes());
    // Servers LZF-compress blobs longer than 20 bytes.
    expect_value_frames(type, test::lzf_string(blob + blob + blob + blob));
  }
}

TEST(ValueWalker, QuicklistOfZiplists) {
  std::string zl = ziplist({"one", "two", "three"});
  std::string value = b().len(3).str(zl).raw(test::lzf_string(zl + zl + zl)).str(ziplist({"4"})).bytes();
  expect_value_frames(14, value, redis_v(7));
}

TEST(ValueWalker, Quicklist2PlainAndPackedNodes) {
  std::string lp = listpack({"a", "b", "c"});
  RdbBuilder q = b().len(4);
  q.len(2).str(lp);                                        // packed node
  q.len(1).str(std::string(1000, 'P'));                    // plain node: one large element
  q.len(2).raw(test::lzf_string(lp + lp + lp + lp + lp));  // packed, compressed
  q.len(1).raw(std::string("\xc1\x00\x80", 3));            // plain node, int-encoded element
  expect_value_frames(18, q.bytes());
  expect_value_frames(18, b().len(1).len(1).str("only").bytes());
}

// A stream value of version v (§5.2): two nodes, two groups (one with a PEL shared by two
// consumers and, for v5, a NACK), and for v4+ an IDMP zone with two producers.
std::string stream_value(int v) {
  const uint64_t ms = 1700000000000ull;  // real IDs need 64-bit lengths
  RdbBuilder s = b();
  s.len(2);
  s.str(id16(ms, 0)).str(listpack({"f", "v", "1", "2"}));
  s.str(id16(ms + 5, 3)).raw(test::lzf_string(listpack({"field", "value", "field", "value", "field", "value"})));
  s.len(7).len(ms + 9).len(1);                       // length, last id
  if (v >= 2) s.len(ms).len(0).len(ms + 1).len(2).len(9);  // first id, max deleted, entries added
  s.len(2);                                          // groups
  // Group 1.
  s.str("workers").len(ms + 9).len(1);
  if (v >= 2) s.len(7);                              // entries read
  s.len(3);                                          // PEL
  for (int i = 0; i < 3; ++i) s.raw(id16(ms + i, 0)).raw(t8(static_cast<int64_t>(ms) + 100 + i)).len(1 + i);
  s.len(2);                                          // consumers
  s.str("alice").raw(t8(static_cast<int64_t>(ms) + 500));
  if (v >= 3) s.raw(t8(static_cast<int64_t>(ms) + 400));
  s.len(1).raw(id16(ms, 0));
  s.raw(std::string("\xc0\x07", 2)).raw(t8(-1));    // int-encoded consumer name "7"
  if (v >= 3) s.raw(t8(0));
  s.len(1).raw(id16(ms + 1, 0));
  if (v >= 5) s.len(1).raw(id16(ms + 2, 0));        // the NACKed entry
  // Group 2: nothing pending, no consumers.
  s.str("idle").len(0).len(0);
  if (v >= 2) s.len(0);
  s.len(0).len(0);
  if (v >= 5) s.len(0);
  if (v >= 4) {
    s.len(3600).len(1000).len(2);                    // duration, max entries, producers
    s.str("producer-1").len(2).str("iid-a").len(ms).len(0).str("iid-b").len(ms + 1).len(5);
    s.str("producer-2").len(0);
    s.len(2).len(300);                               // iids added, duplicates
  }
  return s.bytes();
}

std::string empty_stream_value(int v) {
  RdbBuilder s = b();
  s.len(0).len(0).len(0).len(0);  // no nodes, length 0, last id 0-0
  if (v >= 2) s.len(0).len(0).len(0).len(0).len(0);
  s.len(0);  // no groups
  if (v >= 4) s.len(0).len(0).len(0).len(0).len(0);
  return s.bytes();
}

const std::pair<int, uint8_t> kStreams[] = {{1, 15}, {2, 19}, {3, 21}, {4, 26}, {5, 27}};

TEST(ValueWalker, StreamsOfEveryVersion) {
  for (auto [version, type] : kStreams) {
    SCOPED_TRACE("stream v" + std::to_string(version));
    expect_value_frames(type, stream_value(version), redis_v(14));
    expect_value_frames(type, empty_stream_value(version), redis_v(14));
  }
}

TEST(ValueWalker, StreamVersionsDifferInFraming) {
  // A v2 value is not a v3 value: the consumer's active time is missing (and vice versa).
  std::string v2 = stream_value(2), v3 = stream_value(3);
  auto ends_at = [](const std::string& bytes, uint8_t type) -> std::optional<uint64_t> {
    try {
      return walk(bytes, bytes.size(), value_of_type(type), redis_v(14));
    } catch (const Error&) {
      return std::nullopt;
    }
  };
  std::string v1 = stream_value(1);
  EXPECT_NE(ends_at(v1, 19), std::optional<uint64_t>(v1.size()));
  EXPECT_NE(ends_at(v2, 15), std::optional<uint64_t>(v2.size()));
  EXPECT_NE(ends_at(v2, 21), std::optional<uint64_t>(v2.size()));
  EXPECT_NE(ends_at(v3, 19), std::optional<uint64_t>(v3.size()));
  // v4 adds the IDMP zone, v5 the NACKs.
  std::string v4 = stream_value(4), v5 = stream_value(5);
  EXPECT_NE(ends_at(v3, 26), std::optional<uint64_t>(v3.size()));
  EXPECT_NE(ends_at(v4, 27), std::optional<uint64_t>(v4.size()));
  EXPECT_NE(ends_at(v5, 26), std::optional<uint64_t>(v5.size()));
}

// A module value stream (§3.6) with every opcode, ending in EOF.
std::string module_stream() {
  RdbBuilder m = b();
  m.len(1).len(42);                          // SINT
  m.len(2).len(300);                         // UINT, 14-bit
  m.len(2).len(0xfffffffful);                // UINT, 32-bit
  m.len(2).raw(len64(0x123456789abcdefull)); // UINT, 64-bit
  m.len(3).raw(binary_float(1.5f));          // FLOAT
  m.len(4).raw(binary_double(-7.25));        // DOUBLE
  m.len(5).str("plain string");              // STRING
  m.len(5).raw(std::string("\xc1\x39\x30", 3));
  m.len(5).raw(test::lzf_string(std::string(200, 'm')));
  m.len(5).str("");
  m.len(0);                                  // EOF
  return m.bytes();
}

TEST(ValueWalker, ModuleValueWithEveryOpcode) {
  // Module type ids are 64-bit (9 name characters and a version), stored as a 64-bit length.
  std::string value = len64(0x7d2c1b5a3f08e401ull) + module_stream();
  expect_value_frames(7, value, redis_v(9));
  expect_value_frames(7, b().len(5).len(0).bytes(), redis_v(9));  // an empty module stream
  // Each opcode alone.
  const std::string one_op[] = {
      b().len(1).len(1).len(0).bytes(),           b().len(2).len(70000).len(0).bytes(),
      b().len(3).raw(binary_float(2.f)).len(0).bytes(), b().len(4).raw(binary_double(2.)).len(0).bytes(),
      b().len(5).str("s").len(0).bytes(),
  };
  for (const auto& s : one_op) {
    expect_value_frames(7, len64(1) + s, redis_v(9));
    expect_frames(s, [](ValueWalker& w) { w.walk_module_stream("module data"); }, redis_v(9));
  }
}

TEST(ValueWalker, ModuleAux) {
  for (uint64_t when : {1, 2}) {
    std::string aux = len64(0x7d2c1b5a3f08e401ull) + b().len(2).len(when).bytes() + module_stream();
    expect_frames(aux, [](ValueWalker& w) { w.walk_module_aux(); }, redis_v(9));
  }
}

TEST(ValueWalker, ValkeyHash2WithFieldExpiry) {
  RdbBuilder h = b().len(3);
  h.str("f1").str("v1").raw(t8(-1));                             // no expiry
  h.str("f2").raw(test::lzf_string(std::string(64, 'v'))).raw(t8(1750000000123));
  h.raw(std::string("\xc0\x01", 2)).str("").raw(t8(0));
  expect_value_frames(22, h.bytes(), kValkey80);
}

TEST(ValueWalker, RedisHashFieldTtlTypes) {
  // 22 (7.4 RC): L n, n x (L absolute ttl, S, S).
  RdbBuilder pre = b().len(2);
  pre.len(0).str("f1").str("v1");
  pre.raw(len64(1750000000123ull)).str("f2").str(std::string(100, 'v'));
  expect_value_frames(22, pre.bytes(), redis_v(12));
  // 24: T8 min expire, L n, n x (L relative ttl, S, S).
  RdbBuilder md = b();
  md.raw(t8(1750000000000)).len(3);
  md.len(0).str("f1").str("v1");
  md.len(1).str("f2").raw(std::string("\xc2\x15\xcd\x5b\x07", 5));
  md.len(123456).raw(test::lzf_string(std::string(50, 'k'))).str("v3");
  expect_value_frames(24, md.bytes(), redis_v(12));
  // 23 (7.4 RC): a listpack of (field, value, ttl) triplets; 25: T8 min expire + that listpack.
  std::string lp = listpack({"f1", "v1", "0", "f2", "v2", "1750000000"});
  expect_value_frames(23, b().str(lp).bytes(), redis_v(12));
  expect_value_frames(25, t8(1750000000000) + b().str(lp).bytes(), redis_v(12));
  expect_value_frames(25, t8(0) + test::lzf_string(lp + lp + lp), redis_v(12));
}

TEST(ValueWalker, SparseArray) {
  // 28 (Redis 8.8): L count, L flag [L insert index], count x (L index, L tag, S | D8).
  RdbBuilder a = b().len(4).len(1).len(17);
  a.len(0).len(0).str("sds element");
  a.len(5).len(1).raw(le(static_cast<uint64_t>(-42), 8));
  a.len(16).len(2).raw(binary_double(0.125));
  a.len(300).len(3).raw(std::string("\xc0\x09", 2));
  expect_value_frames(28, a.bytes(), redis_v(14));
  expect_value_frames(28, b().len(1).len(0).len(0).len(3).str("x").bytes(), redis_v(14));
}

// ---------------------------------------------------------------------------------------------
// Corrupt framing.

void expect_bad_framing(uint8_t type, const std::string& value, RdbVersion v) {
  std::string msg;
  EXPECT_EQ(walk_error(value, value_of_type(type), v, &msg), Errc::kBadFraming) << msg;
  // Also with bytes after it: the error is the framing, not the end of the input.
  EXPECT_EQ(walk_error(value + std::string(100, '\0'), value_of_type(type), v, &msg), Errc::kBadFraming) << msg;
}

TEST(ValueWalker, QuicklistContainerMustBePlainOrPacked) {
  for (uint64_t container : {0, 3, 200}) {
    SCOPED_TRACE(container);
    expect_bad_framing(18, b().len(1).len(container).str("x").bytes(), redis_v(11));
    // The second node is the bad one.
    expect_bad_framing(18, b().len(2).len(2).str(listpack({"a"})).len(container).str("x").bytes(), redis_v(11));
  }
}

TEST(ValueWalker, StreamNodeKeyMustBe16Bytes) {
  for (auto [version, type] : kStreams) {
    SCOPED_TRACE(version);
    std::string good = stream_value(version);
    // The first node key is right after the node count (1 byte): 0x10 + 16 bytes.
    ASSERT_EQ(good[1], '\x10');
    for (size_t n : {size_t{0}, size_t{15}, size_t{17}}) {
      std::string bad = good.substr(0, 1) + b().str(std::string(n, '\x01')).bytes() + good.substr(18);
      expect_bad_framing(type, bad, redis_v(14));
    }
    // An int-encoded or LZF key is not a raw ID either.
    expect_bad_framing(type, good.substr(0, 1) + std::string("\xc0\x01", 2) + good.substr(18), redis_v(14));
    expect_bad_framing(type, good.substr(0, 1) + test::lzf_string(std::string(16, 'a')) + good.substr(18),
                       redis_v(14));
  }
}

TEST(ValueWalker, ModuleAuxWhenOpcodeMustBe2) {
  for (uint64_t op : {0, 1, 3, 4, 5, 6}) {
    SCOPED_TRACE(op);
    std::string aux = len64(1) + b().len(op).len(2).bytes() + module_stream();
    std::string msg;
    EXPECT_EQ(walk_error(aux, [](ValueWalker& w) { w.walk_module_aux(); }, redis_v(9), &msg), Errc::kBadFraming)
        << msg;
  }
}

TEST(ValueWalker, UnknownModuleOpcode) {
  for (uint64_t op : {6, 7, 63, 64, 1000}) {
    SCOPED_TRACE(op);
    expect_bad_framing(7, len64(1) + b().len(2).len(5).len(op).len(0).bytes(), redis_v(9));
    std::string msg;
    std::string aux = len64(1) + b().len(2).len(1).len(op).len(0).bytes();
    EXPECT_EQ(walk_error(aux, [](ValueWalker& w) { w.walk_module_aux(); }, redis_v(9), &msg), Errc::kBadFraming)
        << msg;
  }
  // A string-encoding byte where an opcode (a length) belongs.
  expect_bad_framing(7, len64(1) + std::string("\xc0\x01", 2), redis_v(9));
}

TEST(ValueWalker, ArrayFraming) {
  // An element tag other than 0..3.
  for (uint64_t tag : {4, 5, 63, 1000}) {
    SCOPED_TRACE(tag);
    expect_bad_framing(28, b().len(1).len(0).len(0).len(tag).str("x").bytes(), redis_v(14));
    expect_bad_framing(28, b().len(2).len(0).len(0).len(0).str("ok").len(1).len(tag).str("x").bytes(), redis_v(14));
  }
  // No elements; an insert-index flag other than 0/1.
  expect_bad_framing(28, b().len(0).len(0).bytes(), redis_v(14));
  expect_bad_framing(28, b().len(1).len(2).len(0).len(0).len(0).str("x").bytes(), redis_v(14));
}

TEST(ValueWalker, BadLengthAndStringBytes) {
  // 10xxxxxx other than 0x80/0x81 as a count; a string-encoding byte as a count.
  expect_bad_framing(1, std::string("\x82\x00\x00\x00\x01\x01x", 7), redis_v(11));
  expect_bad_framing(2, std::string("\xc0\x01", 2), redis_v(11));
  expect_bad_framing(4, std::string("\xc1\x01\x00", 3), redis_v(11));
  // An unknown string encoding (0xC4..) as a value or an element.
  expect_bad_framing(0, std::string("\xc4", 1), redis_v(11));
  expect_bad_framing(1, std::string("\x02\x01x\xff", 4), redis_v(11));
  // An LZF string with a zero length.
  expect_bad_framing(0, std::string("\xc3\x00\x05", 3), redis_v(11));
  expect_bad_framing(0, std::string("\xc3\x03\x00xyz", 6), redis_v(11));
  // A string-encoding byte in a stream count.
  expect_bad_framing(15, std::string("\xc0\x01", 2), redis_v(9));
}

TEST(ValueWalker, TypesThatCannotBeWalked) {
  auto code = [](uint8_t type, RdbVersion v) { return walk_error(std::string(64, '\0'), value_of_type(type), v); };
  EXPECT_EQ(code(6, redis_v(11)), Errc::kUnknownType);   // module pre-GA: not skippable
  EXPECT_EQ(code(8, redis_v(11)), Errc::kUnknownType);
  EXPECT_EQ(code(29, redis_v(14)), Errc::kUnknownType);
  EXPECT_EQ(code(200, redis_v(14)), Errc::kUnknownType);
  // Redis-only types under VALKEY magic.
  for (uint8_t t : {23, 24, 25, 26, 27, 28}) EXPECT_EQ(code(t, kValkey80), Errc::kUnknownType) << int{t};
}

TEST(ValueWalker, Type22DependsOnTheMagic) {
  // The same bytes: a Valkey HASH_2 (S, S, T8) is not a Redis 7.4-RC hash (L, S, S).
  std::string hash2 = b().len(1).str("f").str("v").raw(t8(-1)).bytes();
  ASSERT_EQ(walk(hash2, hash2.size(), value_of_type(22), kValkey80), hash2.size());
  std::optional<uint64_t> redis_end;
  try {
    redis_end = walk(hash2, hash2.size(), value_of_type(22), redis_v(12));
  } catch (const Error&) {
  }
  EXPECT_NE(redis_end, std::optional<uint64_t>(hash2.size()));
}

// ---------------------------------------------------------------------------------------------
// Real values: every value (and MODULE_AUX payload) of some shared fixtures, taken out of the
// file with the record scanner and walked again on its own.

struct FixtureWalk {
  std::map<int, int> types;  // value type -> keys
  int module_aux = 0;
};

FixtureWalk walk_fixture_values(const std::string& path) {
  FixtureWalk seen;
  std::string file = test::read_file(path);
  std::unique_ptr<ByteSource> input = open_input(path);  // (FileSource became open_input)
  ByteSource& src = *input;
  RecordScanner sc(src);
  RdbVersion v = sc.read_header();
  Record r;
  while (sc.next(r)) {
    if (r.kind != RecordKind::kKey && r.kind != RecordKind::kModuleAux) continue;
    uint64_t start = src.offset();
    MemorySink sink;
    sc.copy_payload(sink);
    sink.finalize();
    uint64_t end = src.offset();
    std::string value(sink.data().begin(), sink.data().end());
    EXPECT_EQ(value, file.substr(start, end - start)) << "record at " << r.offset;
    Walk f = r.kind == RecordKind::kKey ? value_of_type(r.opcode) : Walk([](ValueWalker& w) { w.walk_module_aux(); });
    SCOPED_TRACE("record at byte " + std::to_string(r.offset) + ", type " + std::to_string(r.opcode));
    expect_frames(value, f, v, 1500);
    if (r.kind == RecordKind::kKey) ++seen.types[r.opcode];
    else ++seen.module_aux;
  }
  EXPECT_EQ(sc.summary().end_offset + sc.summary().trailing_bytes, file.size());
  return seen;
}

TEST(ValueWalker, RealValuesOfFixtures) {
  // The types each file holds, from ../shared/fixtures/MANIFEST.md.
  const struct {
    const char* file;
    std::map<int, int> types;
    int module_aux;
  } fixtures[] = {
      {"redis_librdb/test_dumps_misc_with_stream.rdb", {{0, 3}, {1, 1}, {2, 1}, {4, 1}, {5, 1}, {15, 5}}, 2},
      {"redis_librdb/test_dumps_module_aux_v12.rdb", {{7, 1}}, 2},
      {"sripathikrishnan_redis-rdb-tools/tests_dumps_redis_40_with_module.rdb", {{0, 1}, {7, 1}}, 0},
      {"sripathikrishnan_redis-rdb-tools/tests_dumps_redis_50_with_streams.rdb",
       {{0, 3}, {2, 1}, {11, 3}, {12, 2}, {13, 2}, {14, 2}, {15, 1}}, 0},
      {"sripathikrishnan_redis-rdb-tools/tests_dumps_parser_filters.rdb",
       {{0, 18}, {1, 1}, {2, 3}, {4, 1}, {9, 2}, {10, 11}, {11, 3}, {12, 4}}, 0},
      {"sripathikrishnan_redis-rdb-tools/tests_dumps_rdb_version_8_with_64b_length_and_scores.rdb", {{0, 1}, {5, 1}}, 0},
      {"sripathikrishnan_redis-rdb-tools/tests_dumps_regular_sorted_set.rdb", {{3, 1}}, 0},
      {"valkey-io_valkey/tests_assets_encodings.rdb",
       {{0, 3}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {10, 1}, {11, 3}, {12, 1}, {13, 1}}, 0},
      {"HDT3213_rdb/cases_listpack.rdb", {{16, 1}, {17, 1}, {18, 1}}, 0},
      {"HDT3213_rdb/cases_issue27.rdb", {{19, 1}}, 0},
      {"HDT3213_rdb/cases_stream_listoacks_3.rdb", {{21, 1}}, 0},
      {"HDT3213_rdb/cases_set_listpack.rdb", {{20, 1}}, 0},
      {"HDT3213_rdb/cases_hash_with_hfe.rdb", {{24, 1}}, 0},
      {"HDT3213_rdb/cases_hash_as_listpack_with_hfe.rdb", {{25, 1}}, 0},
      {"HDT3213_rdb/cases_valkey_hash2_with_hfe.rdb", {{22, 1}}, 0},
      {"redis_librdb/test_dumps_hash_with_expire_v12.rdb", {{22, 1}}, 0},
      {"redis_librdb/test_dumps_hash_lp_with_hexpire_v12.rdb", {{23, 1}}, 0},
      {"redis_librdb/test_dumps_string_lzf.rdb", {{0, 2}}, 0},
      {"redis_librdb/test_dumps_string_int_encoded.rdb", {{0, 57}}, 0},
      {"redis_librdb/test_dumps_quicklist2_v11.rdb", {{18, 1}}, 0},
      {"valkey-io_valkey/tests_assets_list-quicklist.rdb", {{0, 1}, {14, 1}}, 0},
  };
  for (const auto& fx : fixtures) {
    SCOPED_TRACE(fx.file);
    FixtureWalk seen;
    ASSERT_NO_THROW(seen = walk_fixture_values(test::shared_fixture(fx.file)));
    EXPECT_EQ(seen.types, fx.types);
    EXPECT_EQ(seen.module_aux, fx.module_aux);
  }
}

}  // namespace
}  // namespace rdbrekey
