#include "rdbrekey/rdb_input.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rdbrekey/rdb_writer.h"
#include "support/rdb_builder.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

struct Reader {
  explicit Reader(std::string b, int version = 11)
      : bytes(std::move(b)), src("test.rdb", bytes.data(), bytes.size()), in(src, RdbVersion{RdbFamily::kRedis, version}) {}
  std::string bytes;
  MemorySource src;
  RdbInput in;
};

std::optional<Errc> code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

TEST(RdbInput, LengthsInEveryForm) {
  for (uint64_t n : {0ull, 1ull, 63ull, 64ull, 16383ull, 16384ull, 0xffffffffull, 0x100000000ull, ~0ull}) {
    uint8_t buf[9];
    size_t k = encode_length(buf, n);
    Reader r(std::string(reinterpret_cast<char*>(buf), k));
    EXPECT_EQ(r.in.read_len("len"), n);
    EXPECT_TRUE(r.src.at_end());
  }
}

TEST(RdbInput, LengthSlowPathNearTheEnd) {
  Reader r(std::string("\x40\x01", 2));  // 14-bit length with fewer than 9 bytes left
  EXPECT_EQ(r.in.read_len("len"), 1u);
}

TEST(RdbInput, BadLengthBytesAreCorruption) {
  for (auto [b, want] : std::vector<std::pair<std::string, Errc>>{{std::string("\x82", 1), Errc::kBadFraming},
                                                                   {std::string("\xc0", 1), Errc::kBadFraming},
                                                                   {std::string("\x80\x00", 2), Errc::kTruncated},
                                                                   {std::string("\x41", 1), Errc::kTruncated}}) {
    Reader r(b);
    std::optional<Errc> c = code_of([&] { r.in.read_len("len"); });
    EXPECT_EQ(c, want) << static_cast<int>(static_cast<uint8_t>(b[0]));
  }
}

TEST(RdbInput, IntEncodedStrings) {
  struct Case {
    std::string bytes;
    std::string text;
  } cases[] = {
      {std::string("\xc0\x7b", 2), "123"},
      {std::string("\xc0\xff", 2), "-1"},
      {std::string("\xc1\x39\x30", 3), "12345"},
      {std::string("\xc1\x00\x80", 3), "-32768"},
      {std::string("\xc2\x15\xcd\x5b\x07", 5), "123456789"},
      {std::string("\xc2\x00\x00\x00\x80", 5), "-2147483648"},
  };
  for (const auto& c : cases) {
    Reader r(c.bytes);
    std::string out;
    r.in.read_string(out, "s");
    EXPECT_EQ(out, c.text);
    Reader skip(c.bytes);
    skip.in.skip_string("s");
    EXPECT_TRUE(skip.src.at_end());
  }
}

TEST(RdbInput, PlainAndBinaryStrings) {
  std::string binary("\0\xff{}:", 5);
  Reader r(RdbBuilder("").str(binary).str("").bytes());
  std::string out;
  r.in.read_string(out, "s");
  EXPECT_EQ(out, binary);
  r.in.read_string(out, "s");
  EXPECT_EQ(out, "");
}

TEST(RdbInput, LzfStrings) {
  std::string plain;
  for (int i = 0; i < 50; ++i) plain += "bull:tasks:";
  Reader r(test::lzf_string(plain));
  std::string out;
  r.in.read_string(out, "s");
  EXPECT_EQ(out, plain);
  Reader skip(test::lzf_string(plain));
  skip.in.skip_string("s");
  EXPECT_TRUE(skip.src.at_end());
}

TEST(RdbInput, CorruptLzfIsAnError) {
  // A back-reference before the start of the output: liblzf refuses it.
  std::string s = RdbBuilder("").byte(0xC3).len(4).len(100).raw("\xe0\xff\xff\xff").bytes();
  std::string lie = RdbBuilder("").byte(0xC3).len(3).len(1000000).raw("abc").bytes();  // impossible ratio
  for (const auto& b : {s, lie}) {
    Reader r(b);
    std::string out;
    EXPECT_EQ(code_of([&] { r.in.read_string(out, "s"); }), Errc::kBadFraming);
  }
}

TEST(RdbInput, TruncatedStringNamesOffsetAndWhat) {
  Reader r(RdbBuilder("").len(10).raw("abc").bytes());
  std::string out;
  try {
    r.in.read_string(out, "key");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kTruncated);
    std::string msg = e.what();
    EXPECT_NE(msg.find("test.rdb"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("key"), std::string::npos) << msg;
    EXPECT_NE(msg.find("7 more bytes"), std::string::npos) << msg;
  }
}

TEST(RdbInput, UnknownStringEncoding) {
  Reader r(std::string("\xc4", 1));
  EXPECT_EQ(code_of([&] { r.in.skip_string("s"); }), Errc::kBadFraming);
}

TEST(RdbInput, Counts64BitLengths) {
  Reader r(RdbBuilder("").len(0x100000000ull).len(5).len(0xffffffffull).bytes(), 9);
  EXPECT_EQ(r.in.len64_seen(), 0u);
  EXPECT_EQ(r.in.read_len("len"), 0x100000000ull);
  EXPECT_EQ(r.in.read_len("len"), 5u);
  EXPECT_EQ(r.in.read_len("len"), 0xffffffffull);
  EXPECT_EQ(r.in.len64_seen(), 1u);  // the 32-bit form is not counted
}

}  // namespace
}  // namespace rdbrekey
