// Property test: generated dumps (keys chosen to collide: twins under the prefix, Bull keys
// and their hashtagged names, guards, the empty key, databases above 65535) converted with
// random option combinations (one to three inputs, files and pipes, every --unmapped policy,
// --drop-expired, every collision policy, guards on and off), each outcome checked against the
// oracle (support/oracle.h): the exit code, every key's fate and bytes, the counts, the report
// of what was left out and what was kept instead.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "rdbrekey/converter.h"
#include "support/oracle.h"
#include "support/process.h"
#include "support/rdb_builder.h"
#include "support/scenario.h"
#include "support/stream_source.h"

namespace rdbrekey {
namespace {

TEST(ConversionProperty, RandomDumpsAndOptionsAgreeWithTheOracle) {
  std::mt19937 rng(20261201);
  int ok = 0, refused = 0, kept = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    test::Scenario s = test::generate_scenario(rng);
    test::Expected want = test::expect_conversion(s.opt, s.inputs);
    ASSERT_FALSE(want.input_has_duplicates);
    std::vector<std::unique_ptr<ByteSource>> sources;
    std::vector<ByteSource*> ptrs;
    for (const auto& in : s.inputs) {
      if (in.pipe) sources.push_back(std::make_unique<test::StreamSource>(in.name, in.bytes, 1 + rng() % 64));
      else sources.push_back(std::make_unique<MemorySource>(in.name, in.bytes.data(), in.bytes.size()));
      ptrs.push_back(sources.back().get());
    }
    MemorySink sink;
    std::optional<Errc> code;
    std::string error;
    ConvertResult result;
    try {
      result = convert(s.opt, ptrs, sink);
    } catch (const Error& e) {
      code = e.code();
      error = e.what();
    }
    std::string out(sink.data().begin(), sink.data().end());
    std::vector<std::string> diffs = test::check_conversion(want, code, &result, &out);
    if (!diffs.empty() && std::getenv("RDBREKEY_PROPERTY_DUMP")) {
      // Keep the failing case's files for a look with the CLI.
      std::string dir = std::getenv("RDBREKEY_PROPERTY_DUMP");
      for (const auto& in : s.inputs) test::write_file(dir + "/" + in.name, in.bytes);
      test::write_file(dir + "/out.rdb", out);
    }
    ASSERT_TRUE(diffs.empty()) << "iteration " << iteration << s.text << "\n  error: " << error << "\n  "
                               << fmt::format("{}", fmt::join(diffs, "\n  "));
    if (!code) ++ok;
    if (code == Errc::kCollision || code == Errc::kUnmappedDatabase) ++refused;
    if (!result.collision_drops.empty()) ++kept;
  }
  // The generator reaches every outcome often.
  EXPECT_GT(ok, 500);
  EXPECT_GT(refused, 300);
  EXPECT_GT(kept, 200);
}

}  // namespace
}  // namespace rdbrekey
