#include "rdbrekey/output_paths.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/error.h"
#include "support/process.h"

namespace rdbrekey {
namespace {

std::optional<Errc> code_of(const std::vector<std::string>& inputs, const std::vector<OutputPath>& outputs, bool overwrite,
                 std::string* msg = nullptr) {
  try {
    check_output_paths(inputs, outputs, overwrite);
  } catch (const Error& e) {
    if (msg) *msg = e.what();
    return e.code();
  }
  return std::nullopt;
}

TEST(OutputPaths, AnInputUnderAnyName) {
  test::TempDir dir;
  std::string in = dir.file("in.rdb");
  test::write_file(in, "x");
  ASSERT_EQ(::link(in.c_str(), dir.file("hard.rdb").c_str()), 0);
  ASSERT_EQ(::symlink(in.c_str(), dir.file("soft.rdb").c_str()), 0);
  for (const std::string& out : {in, dir.file("hard.rdb"), dir.file("soft.rdb"), dir.path() + "/./in.rdb"})
    for (const char* option : {"--output", "--report"}) {
      std::string msg;
      EXPECT_EQ(code_of({in}, {{option, out}}, true, &msg), Errc::kOutputIsInput) << out;
      EXPECT_NE(msg.find("an input is never modified"), std::string::npos) << msg;
    }
  EXPECT_EQ(code_of({in}, {{"--output", dir.file("out.rdb")}}, false), std::nullopt);
}

TEST(OutputPaths, StandardInputIsTheOutputFile) {
  test::TempDir dir;
  std::string in = dir.file("in.rdb");
  test::write_file(in, "x");
  int saved = ::dup(0);
  int fd = ::open(in.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::dup2(fd, 0);
  std::string msg;
  std::optional<Errc> c = code_of({"-"}, {{"--output", in}}, true, &msg);
  std::optional<Errc> r = code_of({"-"}, {{"--output", dir.file("o.rdb")}, {"--report", in}}, true);
  std::optional<Errc> twice = code_of({"-", in}, {{"--output", dir.file("o.rdb")}}, true);
  ::dup2(saved, 0);
  ::close(saved);
  ::close(fd);
  EXPECT_EQ(c, Errc::kOutputIsInput);
  EXPECT_NE(msg.find("on standard input"), std::string::npos) << msg;
  EXPECT_EQ(r, Errc::kOutputIsInput);
  EXPECT_EQ(twice, Errc::kSameFileTwice);  // one file given twice (as "-" and by name)
  EXPECT_EQ(code_of({"-", "-"}, {{"--output", dir.file("o.rdb")}}, true), Errc::kSameFileTwice);
}

TEST(OutputPaths, OnlyRegularFilesAreReplaced) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  // A device through a symbolic link: a regression could only replace the link.
  ASSERT_EQ(::symlink("/dev/null", dir.file("null-link").c_str()), 0);
  for (std::string out : {dir.file("null-link"), dir.file("fifo"), dir.path()}) {
    std::string msg;
    EXPECT_EQ(code_of({}, {{"--output", out}}, true, &msg), Errc::kNotRegularFile) << out;
    EXPECT_NE(msg.find("only a regular file is ever replaced"), std::string::npos) << msg;
    try {
      AtomicFileSink sink(out, true);
      ADD_FAILURE() << out;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kNotRegularFile);
    }
  }
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"fifo", "null-link"}));
  EXPECT_EQ(code_of({}, {{"--output", "/dev/null"}}, true), Errc::kNotRegularFile);  // checked, never opened
}

TEST(OutputPaths, OutputsAreDistinctAndNotReplacedUnlessAsked) {
  test::TempDir dir;
  std::string msg;
  EXPECT_EQ(code_of({}, {{"--output", dir.file("o.rdb")}, {"--report", dir.path() + "/./o.rdb"}}, true, &msg),
            Errc::kSameFileTwice);
  EXPECT_NE(msg.find("are the same file"), std::string::npos) << msg;
  test::write_file(dir.file("o.rdb"), "old");
  EXPECT_EQ(code_of({}, {{"--output", dir.file("o.rdb")}}, false), Errc::kOutputExists);
  EXPECT_EQ(code_of({}, {{"--output", dir.file("o.rdb")}}, true), std::nullopt);
  EXPECT_EQ(code_of({}, {{"--output", "-"}}, false), std::nullopt);  // standard output
  EXPECT_EQ(code_of({}, {{"--report", "-"}}, true), Errc::kBadOption);
  EXPECT_EQ(code_of({}, {{"--output", ""}}, true), Errc::kBadOption);
}

TEST(AtomicFileSink, CommitTogetherIsAllOrNothing) {
  test::TempDir dir;
  {
    AtomicFileSink a(dir.file("a.rdb"), false), b(dir.file("b.json"), false);
    a.write("A", 1);
    b.write("B", 1);
    Committable* parts[] = {&a, &b};
    commit_together(parts);
  }
  EXPECT_EQ(test::read_file(dir.file("a.rdb")), "A");
  EXPECT_EQ(test::read_file(dir.file("b.json")), "B");
  // The second cannot be committed (its name appeared meanwhile): the first is removed again.
  {
    AtomicFileSink a(dir.file("c.rdb"), false), b(dir.file("d.json"), false);
    a.write("C", 1);
    b.write("D", 1);
    test::write_file(dir.file("d.json"), "someone else's");
    try {
      Committable* parts[] = {&a, &b};
      commit_together(parts);
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kOutputExists);
    }
  }
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"a.rdb", "b.json", "d.json"}));
  EXPECT_EQ(test::read_file(dir.file("d.json")), "someone else's");
}

}  // namespace
}  // namespace rdbrekey
