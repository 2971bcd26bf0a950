#include "rdbrekey/byte_source.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/verifier.h"
#include "support/process.h"
#include "support/rdb_builder.h"
#include "support/stream_source.h"

namespace rdbrekey {
namespace {

std::string many_keys(int n) {
  test::RdbBuilder b("REDIS0010");
  for (int i = 0; i < n; ++i) b.string_key("key:" + std::to_string(i), std::string(200, 'v'));
  return b.eof().bytes();
}

// A mapped input that shrinks while it is read (a backup job rewriting it in place) ends in a
// clean "input changed while reading" error, not in SIGBUS.
TEST(ByteSources, ShrinkingWhileMappedIsACleanError) {
  test::TempDir dir;
  std::string path = dir.file("in.rdb");
  test::write_file(path, many_keys(20000));  // about 4.3 MB
  for (bool through_converter : {false, true}) {
    test::write_file(path, many_keys(20000));
    std::unique_ptr<ByteSource> src_input = open_input(path);
  ByteSource& src = *src_input;
    ASSERT_TRUE(src.stable());
    ASSERT_EQ(::truncate(path.c_str(), 100000), 0);
    try {
      if (through_converter) {
        ConvertOptions opt;
        opt.apps = {{0, "condo"}};
        NullSink sink;
        convert(opt, {&src}, sink);
      } else {
        verify(src);
      }
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInputChanged);
      EXPECT_NE(std::string(e.what()).find("input changed while reading"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("in.rdb"), std::string::npos) << e.what();
    }
    EXPECT_NE(src.changed_since_open(), "");
  }
}

// A file rewritten in place with the same size is noticed by its modification time.
TEST(ByteSources, ModifiedWhileReadIsNoticed) {
  test::TempDir dir;
  std::string path = dir.file("in.rdb");
  test::write_file(path, many_keys(10));
  std::unique_ptr<ByteSource> src_input = open_input(path);
  ByteSource& src = *src_input;
  EXPECT_EQ(src.changed_since_open(), "");
  timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  EXPECT_NE(src.changed_since_open().find("modified"), std::string::npos);
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  NullSink sink;
  try {
    convert(opt, {&src}, sink);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInputChanged);
    EXPECT_NE(std::string(e.what()).find("input changed while reading"), std::string::npos) << e.what();
  }
}

// Reading stops at the end marker and its checksum: a stream that goes on forever after it
// (cat dump.rdb /dev/zero) is not read to its end.
TEST(ByteSources, NothingIsReadPastTheEndMarker) {
  std::string dump = many_keys(100);
  test::StreamSource endless("<stdin>", dump, 4096, true);
  VerifyResult v = verify(endless);
  EXPECT_EQ(v.keys, 100u);
  EXPECT_LT(endless.delivered(), dump.size() + (1 << 17));
  // The same through the converter.
  test::StreamSource endless2("<stdin>", dump, 4096, true);
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  NullSink sink;
  ConvertResult r = convert(opt, {&endless2}, sink);
  EXPECT_EQ(r.keys_written, 101u);
  EXPECT_LT(endless2.delivered(), dump.size() + (1 << 17));
  // From a file, the bytes after the end are counted without being read.
  test::TempDir dir;
  test::write_file(dir.file("tail.rdb"), dump + std::string(5000, 'x'));
  std::unique_ptr<ByteSource> tail_input = open_input(dir.file("tail.rdb"));
  ByteSource& tail = *tail_input;
  EXPECT_EQ(verify(tail).trailing_bytes, 5000u);
}

TEST(ByteSources, PipesAreReadInSteps) {
  // A FIFO is not stable and has no size; it reads whole.
  test::TempDir dir;
  std::string fifo = dir.file("in.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string dump = many_keys(30000);
  pid_t pid = ::fork();
  if (pid == 0) {
    test::write_file(fifo, dump);
    ::_exit(0);
  }
  std::unique_ptr<ByteSource> src_input = open_input(fifo);
  ByteSource& src = *src_input;
  EXPECT_FALSE(src.stable());
  EXPECT_EQ(src.size_hint(), 0u);
  EXPECT_EQ(verify(src).keys, 30000u);
  EXPECT_EQ(src.changed_since_open(), "");
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace
}  // namespace rdbrekey
