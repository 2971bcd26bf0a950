// Hash slots: the published vectors, the hash tag edge cases, both CRC engines (carry-less and
// tables) against a bitwise reference (every length 0..300 at every alignment, and names that end
// or start at a page next to an unreadable one), and CLUSTER KEYSLOT of a real server.
#include "rdbrekey/hash_slot.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/redis_server.h"

namespace rdbrekey {
namespace {

using namespace std::string_literals;

// CRC16/XMODEM one bit at a time, straight from the definition.
uint16_t reference_crc16(const unsigned char* p, size_t size) {
  uint16_t crc = 0;
  for (size_t i = 0; i < size; ++i) {
    crc = static_cast<uint16_t>(crc ^ (p[i] << 8));
    for (int bit = 0; bit < 8; ++bit) crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

// keyHashSlot written the way the servers write it: index loops, no memchr.
uint16_t reference_slot(const std::string& key) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  size_t open = 0;
  while (open < key.size() && key[open] != '{') ++open;
  if (open == key.size()) return reference_crc16(p, key.size()) & 0x3FFF;
  size_t close = open + 1;
  while (close < key.size() && key[close] != '}') ++close;
  if (close == key.size() || close == open + 1) return reference_crc16(p, key.size()) & 0x3FFF;
  return reference_crc16(p + open + 1, close - open - 1) & 0x3FFF;
}

// Random bytes with braces sprinkled in, so that tags of every shape turn up.
std::string random_key(std::mt19937_64& rng) {
  static const char kAlphabet[] = {'{', '}', '{', '}', 'a', ':', '\0', '\xff'};
  std::string key(rng() % 40, '\0');
  for (char& c : key) c = (rng() % 3 == 0) ? kAlphabet[rng() % sizeof kAlphabet] : static_cast<char>(rng());
  return key;
}

TEST(HashSlot, Crc16CheckValue) {
  EXPECT_EQ(crc16_xmodem("123456789", 9), 0x31C3);
  EXPECT_EQ(crc16_xmodem("", 0), 0);
}

TEST(HashSlot, PublishedVectors) {
  EXPECT_EQ(key_hash_slot("foo"), 12182);
  EXPECT_EQ(key_hash_slot("{condo:bull:queue}:rest"), 7175);
  EXPECT_EQ(key_hash_slot("foo{}{bar}"), 8363);
  EXPECT_EQ(key_hash_slot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(key_hash_slot("foo{bar}{zap}"), 5061);
}

TEST(HashSlot, TagOfOneQueueGivesOneSlot) {
  const uint16_t slot = key_hash_slot("{condo:bull:queue}:rest");
  EXPECT_EQ(key_hash_slot("{condo:bull:queue}:wait"), slot);
  EXPECT_EQ(key_hash_slot("{condo:bull:queue}"), slot);
  EXPECT_EQ(key_hash_slot("condo:bull:queue"), slot);
}

TEST(HashSlot, EdgeCasesOfBraces) {
  EXPECT_EQ(key_hash_slot(""), 0);
  EXPECT_EQ(hash_tag_of(""), "");
  EXPECT_EQ(hash_tag_of("{"), "{");
  EXPECT_EQ(key_hash_slot("{"), crc16_xmodem("{", 1) & 0x3FFF);
  EXPECT_EQ(hash_tag_of("}{"), "}{");
  EXPECT_EQ(key_hash_slot("}{"), crc16_xmodem("}{", 2) & 0x3FFF);
  EXPECT_EQ(hash_tag_of("{}"), "{}");
  EXPECT_EQ(key_hash_slot("{}"), crc16_xmodem("{}", 2) & 0x3FFF);
  EXPECT_EQ(hash_tag_of("{a}"), "a");
  EXPECT_EQ(hash_tag_of("x{a"), "x{a");
  EXPECT_EQ(hash_tag_of("{{}"), "{");
  EXPECT_EQ(hash_tag_of("a}{b}"), "b");
  EXPECT_EQ(hash_tag_of("{a}{b}"), "a");
}

TEST(HashSlot, BinaryKeys) {
  const std::string key = "\0\xff{\0}\xff"s;
  EXPECT_EQ(hash_tag_of(key), "\0"s);
  EXPECT_EQ(key_hash_slot(key), crc16_xmodem("\0", 1) & 0x3FFF);
  const std::string untagged = "\0\0\xff\xfe\x01"s;
  EXPECT_EQ(key_hash_slot(untagged), reference_slot(untagged));
  EXPECT_LT(key_hash_slot("\xff\xff\xff\xff\xff\xff\xff\xff\xff"s), kClusterSlots);
}

TEST(HashSlot, BothEnginesEqualBitwiseAtEveryLengthAndAlignment) {
  std::mt19937_64 rng(7);
  std::vector<unsigned char> buf(300 + 8);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t size = 0; size <= 300; ++size) {
      const uint16_t expected = reference_crc16(buf.data() + offset, size);
      ASSERT_EQ(crc16_xmodem(buf.data() + offset, size), expected) << "offset " << offset << ", size " << size;
      ASSERT_EQ(detail::crc16_xmodem_portable(buf.data() + offset, size), expected) << offset << " " << size;
      ASSERT_EQ(detail::crc16_xmodem_clmul(buf.data() + offset, size), expected) << offset << " " << size;
    }
  }
  EXPECT_EQ(detail::crc16_xmodem_portable("123456789", 9), 0x31C3);
  EXPECT_EQ(detail::crc16_xmodem_clmul("123456789", 9), 0x31C3);
}

TEST(HashSlot, TheCarrylessEngineIsTheOneUsedWhereTheProcessorHasIt) {
#if defined(__x86_64__)
  EXPECT_EQ(detail::crc16_clmul_available(), __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("ssse3") &&
                                                   __builtin_cpu_supports("sse4.1"));
#endif
  if (!detail::crc16_clmul_available()) GTEST_SKIP() << "skipped: this processor has no PCLMULQDQ";
}

// Short names are read 8 bytes at a time, within their page: a name that ends just before an
// unreadable page, or starts just after one, is read without a fault and hashed right.
TEST(HashSlot, NamesBesideAnUnreadablePage) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* map = ::mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* base = static_cast<unsigned char*>(map);
  ASSERT_EQ(::mprotect(base, page, PROT_NONE), 0);
  ASSERT_EQ(::mprotect(base + 2 * page, page, PROT_NONE), 0);
  unsigned char* first = base + page;
  unsigned char* end = base + 2 * page;
  std::mt19937_64 rng(5);
  for (size_t i = 0; i < page; ++i) first[i] = static_cast<unsigned char>(rng() % 3 == 0 ? '{' : 'a' + rng() % 26);
  for (size_t size = 0; size <= 40; ++size) {
    for (const unsigned char* p : {static_cast<const unsigned char*>(end - size), static_cast<const unsigned char*>(first)}) {
      const std::string key(reinterpret_cast<const char*>(p), size);
      const std::string_view view(reinterpret_cast<const char*>(p), size);
      ASSERT_EQ(crc16_xmodem(p, size), reference_crc16(p, size)) << size;
      ASSERT_EQ(key_hash_slot(view), reference_slot(key)) << size;
      std::vector<std::string_view> pieces{view.substr(0, size / 3), view.substr(size / 3)};
      ASSERT_EQ(key_hash_slot(std::span<const std::string_view>(pieces)), reference_slot(key)) << size;
    }
  }
  ::munmap(map, 3 * page);
}

TEST(HashSlot, SlotEqualsReferenceForRandomKeys) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    const std::string key = random_key(rng);
    ASSERT_EQ(key_hash_slot(key), reference_slot(key)) << test::escape_bytes(key);
  }
}


TEST(HashSlot, EqualsClusterKeyslotOfARealServer) {
  auto server = test::start_cluster_enabled_server();
  std::mt19937_64 rng(13);
  std::vector<std::string> keys = {"foo", "{condo:bull:queue}:rest", "foo{}{bar}", "foo{{bar}}zap", "{", "}{", "{}"};
  while (keys.size() < 2000) keys.push_back(random_key(rng));
  std::vector<std::vector<std::string>> commands;
  for (const auto& key : keys) commands.push_back({"CLUSTER", "KEYSLOT", key});
  const std::vector<test::Reply> replies = server->client().pipeline(commands);
  ASSERT_EQ(replies.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(key_hash_slot(keys[i]), replies[i].as_int()) << test::escape_bytes(keys[i]);
  }
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

// A name in pieces (as the renamer gives it: "P:" + key, "{P:bull:" + queue + "}" + rest) has
// the slot of the joined name, wherever the braces fall and however long it is.
TEST(HashSlot, PiecesHaveTheSlotOfTheJoinedName) {
  std::mt19937 rng(11);
  const std::string alphabet = "ab{}:xyz\x7b\x7d\x00\xff{{}}";
  for (int i = 0; i < 20000; ++i) {
    size_t n = rng() % 4 + 1;
    std::vector<std::string> pieces(n);
    std::string joined;
    for (auto& p : pieces) {
      size_t len = rng() % 3 == 0 ? rng() % 700 : rng() % 24;
      for (size_t k = 0; k < len; ++k) p += rng() % 4 == 0 ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng());
      joined += p;
    }
    std::vector<std::string_view> views(pieces.begin(), pieces.end());
    ASSERT_EQ(key_hash_slot(std::span<const std::string_view>(views)), reference_slot(joined)) << i;
    ASSERT_EQ(detail::key_hash_slot_portable(std::span<const std::string_view>(views)), reference_slot(joined)) << i;
    ASSERT_EQ(key_hash_slot(joined), crc16_xmodem(hash_tag_of(joined).data(), hash_tag_of(joined).size()) & 0x3FFF);
  }
  // A tag already found, in pieces: the CRC of its bytes, braces or not, with either engine.
  for (int i = 0; i < 2000; ++i) {
    std::string a, b;
    for (size_t k = rng() % 40; k; --k) a += alphabet[rng() % alphabet.size()];
    for (size_t k = rng() % 300; k; --k) b += static_cast<char>(rng());
    const std::string joined = a + b;
    const std::string_view tag[2] = {a, b};
    const uint16_t want = reference_crc16(reinterpret_cast<const unsigned char*>(joined.data()), joined.size()) & 0x3FFF;
    ASSERT_EQ(hash_slot_of_tag(tag), want) << i;
    ASSERT_EQ(detail::hash_slot_of_tag_portable(tag), want) << i;
  }
  std::vector<std::string_view> queue{"{condo:bull:", "queue", "}", ":rest"};
  EXPECT_EQ(key_hash_slot(std::span<const std::string_view>(queue)), 7175);
  std::vector<std::string_view> plain{"fo", "o"};
  EXPECT_EQ(key_hash_slot(std::span<const std::string_view>(plain)), 12182);
}

// A key's CRC alone, plus the prefix's part for its length, is the slot of prefix + key: for
// every length kept (and none beyond), prefixes of every size, keys with '}' and binary bytes;
// a '{' in the key makes its CRC kHasOpenBrace, one in the prefix makes the table unusable.
TEST(PrefixSlots, KeyCrcAndLengthGiveTheSlotOfTheWholeName) {
  std::mt19937 rng(17);
  const std::string alphabet = "ab}:xyz\x00\xff"s;  // bytes below 0x7a and these: never a {
  for (const std::string prefix : {""s, "a:"s, "resident_app:"s, "x}y:"s, std::string(40, 'p') + ":"}) {
    PrefixSlots by_length(prefix);
    ASSERT_TRUE(by_length.usable()) << prefix;
    for (size_t len = 0; len < PrefixSlots::kLengths + 40; ++len) {
      std::string key;
      for (size_t k = 0; k < len; ++k) key += rng() % 4 == 0 ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 0x7a);
      const uint32_t crc = crc16_unless_brace(key);
      ASSERT_EQ(crc, reference_crc16(reinterpret_cast<const unsigned char*>(key.data()), key.size())) << len;
      ASSERT_EQ(by_length.covers(len), len < PrefixSlots::kLengths);
      if (by_length.covers(len)) ASSERT_EQ(by_length.slot(crc, len), reference_slot(prefix + key)) << prefix << " " << len;
    }
  }
  EXPECT_EQ(crc16_unless_brace("user:{1}"), kHasOpenBrace);
  EXPECT_EQ(crc16_unless_brace(std::string(100, 'a') + "{"), kHasOpenBrace);
  EXPECT_EQ(crc16_unless_brace(""), 0u);
  EXPECT_FALSE(PrefixSlots("{a:").usable());
  EXPECT_FALSE(PrefixSlots("{a:").covers(3));
}

}  // namespace
}  // namespace rdbrekey
