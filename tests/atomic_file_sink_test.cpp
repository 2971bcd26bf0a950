#include "rdbrekey/atomic_file_sink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "rdbrekey/error.h"
#include "support/process.h"

namespace rdbrekey {
namespace {

TEST(AtomicFileSink, FinalizeRenamesIntoPlace) {
  test::TempDir dir;
  std::string path = dir.file("out.rdb");
  {
    AtomicFileSink sink(path, false);
    sink.write("hello", 5);
    EXPECT_EQ(dir.entries().size(), 1u);  // only the temporary file
    EXPECT_NE(dir.entries()[0], "out.rdb");
    sink.finalize();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.rdb"});
  EXPECT_EQ(test::read_file(path), "hello");
}

// Writing back every few KiB, and a deliver() that starts the rest before prepare() waits:
// the file holds every byte, in order, under its name only once committed.
TEST(AtomicFileSink, SmallWritebackStepsAndDeliverKeepEveryByte) {
  test::TempDir dir;
  std::string path = dir.file("out.rdb");
  std::string want;
  for (int i = 0; want.size() < (5u << 20); ++i) want += "record " + std::to_string(i) + ";";
  {
    AtomicFileSink sink(path, false, 64 << 10);
    sink.set_writeback_step(16 << 10);
    for (size_t at = 0; at < want.size(); at += 777) sink.write(want.data() + at, std::min<size_t>(777, want.size() - at));
    sink.deliver();
    EXPECT_EQ(dir.entries().size(), 1u);  // still under its temporary name
    EXPECT_NE(dir.entries()[0], "out.rdb");
    sink.deliver();  // twice is harmless
    sink.finalize();
    sink.deliver();  // and after the end too
  }
  EXPECT_EQ(test::read_file(path), want);
}

TEST(AtomicFileSink, DestructionWithoutFinalizeLeavesNothing) {
  test::TempDir dir;
  {
    AtomicFileSink sink(dir.file("out.rdb"), false);
    sink.write("partial", 7);
  }
  EXPECT_TRUE(dir.entries().empty());
  {
    AtomicFileSink sink(dir.file("out.rdb"), false);
    sink.cancel();
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFileSink, RefusesToReplaceUnlessAsked) {
  test::TempDir dir;
  std::string path = dir.file("out.rdb");
  test::write_file(path, "old");
  try {
    AtomicFileSink sink(path, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kOutputExists);
  }
  {
    AtomicFileSink sink(path, true);
    sink.write("new", 3);
    sink.finalize();
  }
  EXPECT_EQ(test::read_file(path), "new");
  EXPECT_EQ(dir.entries().size(), 1u);
}

TEST(AtomicFileSink, MissingDirectoryIsAnIoError) {
  test::TempDir dir;
  try {
    AtomicFileSink sink(dir.file("missing/out.rdb"), false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kWriteFailed);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace rdbrekey
