#include "rdbrekey/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rdbrekey {
namespace {

TEST(ProgressMeter, ReportsEveryStepAcrossInputs) {
  std::string a(1000, 'a'), b(500, 'b');
  MemorySource sa("a", a.data(), a.size()), sb("b", b.data(), b.size());
  std::vector<ByteSource*> sources{&sa, &sb};
  std::vector<Progress> seen;
  ProgressMeter meter([&](const Progress& p) { seen.push_back(p); }, sources);
  meter.begin_input(0);
  sa.advance(600);
  int due = 0;
  for (uint32_t i = 0; i < 3 * ProgressMeter::kEvery; ++i)
    if (meter.tick()) {
      ++due;
      if (due == 1) meter.report(12345);
    }
  EXPECT_EQ(due, 3);  // every kEvery records
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].bytes_total, 1500u);
  EXPECT_EQ(seen[0].bytes_done, 600u);
  EXPECT_EQ(seen[0].keys, 12345u);
  meter.begin_input(1);
  sb.advance(100);
  meter.report(20000);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].bytes_done, 1100u);  // the first input whole, 100 of the second
  // Without a callback nothing happens.
  ProgressMeter silent({}, sources);
  silent.report(1);
  EXPECT_EQ(silent.now(1).bytes_total, 1500u);
}

}  // namespace
}  // namespace rdbrekey
