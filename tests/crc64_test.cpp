#include "rdbrekey/crc64.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

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
