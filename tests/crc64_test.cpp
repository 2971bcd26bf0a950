#include "rdbrekey/crc64.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace rdbrekey {
namespace {

TEST(Crc64, CheckValue) {
  EXPECT_EQ(crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
}

TEST(Crc64, EmptyInputKeepsTheCrc) {
  EXPECT_EQ(crc64(0, "", 0), 0u);
  EXPECT_EQ(crc64(0x1234, "", 0), 0x1234u);
}

TEST(Crc64, IncrementalEqualsWholeAtEverySplit) {
  std::mt19937_64 rng(42);
  std::string data(1000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  uint64_t whole = crc64(0, data.data(), data.size());
  for (size_t split = 0; split <= data.size(); split += 37) {
    uint64_t a = crc64(0, data.data(), split);
    EXPECT_EQ(crc64(a, data.data() + split, data.size() - split), whole) << split;
  }
}

// Bit-at-a-time reference, straight from the definition.
uint64_t reference_crc64(uint64_t crc, const std::string& data) {
  for (unsigned char c : data) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
  }
  return crc;
}

TEST(Crc64, LargeInputsMatchTheReference) {
  std::mt19937_64 rng(3);
  std::vector<size_t> sizes{1 << 20, 100000, 32769, 32768};
  for (size_t n = 0; n < 300; ++n) sizes.push_back(n);
  for (size_t n : sizes) {
    std::string data(n, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    uint64_t expect = reference_crc64(0x1234567, data);
    EXPECT_EQ(crc64(0x1234567, data.data(), data.size()), expect) << n;
    EXPECT_EQ(crc64_portable(0x1234567, data.data(), data.size()), expect) << n;
    EXPECT_EQ(crc64(0, data.data(), data.size()), reference_crc64(0, data)) << n;
  }
}

TEST(Crc64, CombineEqualsConcatenation) {
  std::mt19937_64 rng(7);
  for (size_t la : {0, 1, 8, 100, 4097}) {
    for (size_t lb : {0, 1, 7, 64, 5000}) {
      std::string a(la, '\0'), b(lb, '\0');
      for (auto& c : a) c = static_cast<char>(rng());
      for (auto& c : b) c = static_cast<char>(rng());
      uint64_t expect = crc64(crc64(0, a.data(), a.size()), b.data(), b.size());
      EXPECT_EQ(crc64_combine(crc64(0, a.data(), a.size()), crc64(0, b.data(), b.size()), b.size()), expect)
          << la << "+" << lb;
    }
  }
}

}  // namespace
}  // namespace rdbrekey
