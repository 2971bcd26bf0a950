// The CLI under the option combinations of an adversarial pass (issue 7): real pipes and
// standard input, reports, devices and FIFOs as outputs, inputs that change while they are read,
// endless streams, bad numbers, a reader of the summary that goes away.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/rdb_builder.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;
using test::RunResult;

std::string q(const std::string& s) { return "'" + s + "'"; }

struct Cli : ::testing::Test {
  test::TempDir dir;
  std::string bin = test::rdbrekey_binary();
  std::string input(const std::string& bytes, const std::string& name = "in.rdb") {
    test::write_file(dir.file(name), bytes);
    return dir.file(name);
  }
  RunResult rdbrekey(std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
    args.insert(args.begin(), bin);
    return test::run(args, 120, stdin_path);
  }
  // A shell pipeline (for real pipes into standard input).
  RunResult sh(const std::string& cmd) { return test::run({"bash", "-c", "set -o pipefail; " + cmd}); }
  void expect_only(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    EXPECT_EQ(dir.entries(), names);
  }
};

std::string with_x(const std::string& value) { return RdbBuilder("REDIS0010").string_key("x", value).eof().bytes(); }

// Item 3: a file and standard input holding the same key: refused, whether standard input is
// a pipe or a redirected file, in either order.
TEST_F(Cli, CollisionBetweenAFileAndStandardInput) {
  std::string a = input(with_x("a"), "a.rdb");
  std::string b = input(with_x("b"), "b.rdb");
  for (std::string order : {"a -", "- a"}) {
    std::string args = order == "a -" ? q(a) + " -" : "- " + q(a);
    RunResult r = sh("cat " + q(b) + " | " + bin + " convert " + args + " -o " + q(dir.file("out.rdb")) + " -a 0=condo");
    EXPECT_EQ(r.exit_code, 6) << r.err;
    EXPECT_NE(r.err.find("\"condo:x\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("<stdin>"), std::string::npos) << r.err;
    r = rdbrekey({"convert", order == "a -" ? a : "-", order == "a -" ? "-" : a, "-o", dir.file("out.rdb"), "-a", "0=condo"}, b);
    EXPECT_EQ(r.exit_code, 6) << r.err;
  }
  expect_only({"a.rdb", "b.rdb"});
}

// Item 5: the report gets the output's protections and is committed with it.
TEST_F(Cli, TheReportNeverClobbersAndCommitsWithTheOutput) {
  std::string bytes = with_x("1");
  std::string in = input(bytes);
  std::string out = dir.file("out.rdb");
  for (std::vector<std::string> extra : {std::vector<std::string>{"--report", in},
                                         {"--report", in, "--dry-run"},
                                         {"--report", out},
                                         {"--report", dir.path() + "/./out.rdb", "-f"}}) {
    std::vector<std::string> args{"convert", in, "-o", out, "-a", "0=condo"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = rdbrekey(args);
    EXPECT_EQ(r.exit_code, 2) << extra[1] << r.err;
    EXPECT_EQ(test::read_file(in), bytes);
    expect_only({"in.rdb"});
  }
  // A report that cannot be written: nothing is written, not even the RDB.
  RunResult r = rdbrekey({"convert", in, "-o", out, "-a", "0=condo", "--report", dir.file("missing/r.json")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  expect_only({"in.rdb"});
  // An existing report is not replaced without --force, and then nothing is written.
  test::write_file(dir.file("r.json"), "keep");
  r = rdbrekey({"convert", in, "-o", out, "-a", "0=condo", "--report", dir.file("r.json")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(test::read_file(dir.file("r.json")), "keep");
  expect_only({"in.rdb", "r.json"});
  r = rdbrekey({"convert", in, "-o", out, "-a", "0=condo", "--report", dir.file("r.json"), "-f"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = nlohmann::json::parse(test::read_file(dir.file("r.json")));
  EXPECT_EQ(json["output"]["keys"], 2);
  expect_only({"in.rdb", "out.rdb", "r.json"});
}

// Item 6: only a regular file is ever replaced. (The device is reached through a symbolic link
// to /dev/null, so that a regression could only replace the link, never the system's device.)
TEST_F(Cli, DevicesFifosSocketsAndDirectoriesAreNeverReplaced) {
  std::string in = input(with_x("1"));
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir(dir.file("sub").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("/dev/null", dir.file("null-link").c_str()), 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock_path = dir.file("sock");
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  for (std::string out : {dir.file("null-link"), dir.file("fifo"), dir.file("sub"), sock_path}) {
    for (std::string option : {"-o", "--report"}) {
      std::vector<std::string> args{"convert", in, "-a", "0=condo", "-f"};
      if (option == "-o") args.insert(args.end(), {"-o", out});
      else args.insert(args.end(), {"-o", dir.file("out.rdb"), "--report", out});
      RunResult r = rdbrekey(args);
      EXPECT_EQ(r.exit_code, 2) << out << r.err;
      EXPECT_NE(r.err.find("only a regular file is ever replaced"), std::string::npos) << r.err;
    }
  }
  ::close(sock);
  struct stat st {};
  ASSERT_EQ(::lstat(dir.file("null-link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat(dir.file("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::lstat(sock_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  expect_only({"fifo", "in.rdb", "null-link", "sock", "sub"});
}

// Item 7: standard input that is the output (or the report) file.
TEST_F(Cli, StandardInputIsNeverTheOutput) {
  std::string bytes = with_x("1");
  std::string in = input(bytes);
  for (std::vector<std::string> args : {std::vector<std::string>{"convert", "-", "-o", in, "-f", "-a", "0=condo"},
                                        {"convert", "-", "-o", dir.file("o.rdb"), "--report", in, "-f", "-a", "0=condo"},
                                        {"convert", "/dev/stdin", "-o", in, "-f", "-a", "0=condo"}}) {
    RunResult r = rdbrekey(args, in);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("an input is never modified"), std::string::npos) << r.err;
    EXPECT_EQ(test::read_file(in), bytes);
  }
  expect_only({"in.rdb"});
}

// Item 8: an input that shrinks while it is converted (read by mmap) ends with a clean error,
// exit 4, and nothing left behind. The first input is a FIFO holding nothing yet, so that the
// second (opened and mapped before any reading starts) can be cut before it is read.
TEST_F(Cli, AnInputThatShrinksWhileReadLeavesNothing) {
  test::RdbBuilder b("REDIS0010");
  for (int i = 0; i < 20000; ++i) b.string_key("key:" + std::to_string(i), std::string(200, 'v'));
  std::string big = input(b.eof().bytes(), "big.rdb");
  std::string fifo = dir.file("first.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  test::TempDir logs;
  pid_t pid = ::fork();
  if (pid == 0) {
    int err = ::open(logs.file("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(err, 2);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl(bin.c_str(), "rdbrekey", "convert", fifo.c_str(), big.c_str(), "-o", dir.file("out.rdb").c_str(), "-a",
            "0=condo", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int w = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  std::string first = RdbBuilder("REDIS0010").string_key("a", "1").eof().bytes();
  ASSERT_EQ(::write(w, first.data(), 9), 9);  // the header: the FIFO is sniffed, big.rdb opened next
  // Wait until the second input is mapped into the process (its first bytes read too).
  bool mapped = false;
  for (int i = 0; i < 1000 && !mapped; ++i) {
    try {
      mapped = test::read_file("/proc/" + std::to_string(pid) + "/maps").find(big) != std::string::npos;
    } catch (const std::exception&) {
    }
    if (!mapped) ::usleep(10000);
  }
  ASSERT_TRUE(mapped);
  ASSERT_EQ(::truncate(big.c_str(), 100000), 0);
  ASSERT_EQ(::write(w, first.data() + 9, first.size() - 9), static_cast<ssize_t>(first.size() - 9));
  ::close(w);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 4);
  std::string err = test::read_file(logs.file("err"));
  EXPECT_NE(err.find("big.rdb: input changed while reading"), std::string::npos) << err;
  expect_only({"big.rdb", "first.fifo"});
}

// Item 9: reading stops at the end marker and the checksum, whatever follows on a pipe.
TEST_F(Cli, EndlessInputAfterTheEndMarker) {
  std::string in = input(with_x("1"));
  auto start = std::chrono::steady_clock::now();
  // (cat is stopped by SIGPIPE when rdbrekey is done: the status wanted is rdbrekey's.)
  RunResult r = sh("cat " + q(in) + " /dev/zero | " + bin + " verify -; exit ${PIPESTATUS[1]}");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("OK"), std::string::npos);
  r = sh("cat " + q(in) + " /dev/zero | " + bin + " convert - -o " + q(dir.file("out.rdb")) +
         " -a 0=condo; exit ${PIPESTATUS[1]}");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = sh("cat " + q(in) + " /dev/zero | " + bin + " inspect -; exit ${PIPESTATUS[1]}");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

// Item 10: numbers are whole numbers in range, or a usage error.
TEST_F(Cli, BadNumbersAreUsageErrors) {
  std::string in = input(with_x("1"));
  std::string out = dir.file("out.rdb");
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"convert", in, "-o", out, "-a", "0=c", "--data-version", "-1"},
        {"convert", in, "-o", out, "-a", "0=c", "--data-version", ""},
        {"convert", in, "-o", out, "-a", "0=c", "--data-version", "1.5"},
        {"convert", in, "-o", out, "-a", "0=c", "--data-version", "2x"},
        {"convert", in, "-o", out, "-a", "0=c", "--data-version", "99999999999999999999"},
        {"convert", in, "-o", out, "-a", "0=c", "--drop-expired=-1"},
        {"convert", in, "-o", out, "-a", "0=c", "--drop-expired=1e3"},
        {"convert", in, "-o", out, "-a", "-1=c"},
        {"verify", in, "--expect-keys", "-1"},
        {"verify", in, "--expect-keys", ""},
        {"inspect", in, "--largest", "-3"},
        {"inspect", in, "--largest", "100000000"},
        {"inspect", in, "--now", "-5"}}) {
    RunResult r = rdbrekey(bad);
    EXPECT_EQ(r.exit_code, 2) << bad[bad.size() - 1] << ": " << r.err;
  }
  expect_only({"in.rdb"});
  RunResult r = rdbrekey({"convert", in, "-o", out, "-a", "0=c", "--data-version", "9007199254740992"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Item 11: a reader of the summary that has gone away does not change the outcome.
TEST_F(Cli, ClosedStdoutDoesNotTurnSuccessIntoFailure) {
  std::string in = input(with_x("1"));
  // Standard output closed; then both closed, for a failure (its exit code is the message).
  for (auto [args, want] : std::vector<std::pair<std::vector<std::string>, int>>{
           {{"convert", in, "-o", dir.file("out.rdb"), "-a", "0=c", "--progress", "always"}, 0},
           {{"verify", in}, 0},
           {{"inspect", in}, 0},
           {{"convert", dir.file("missing.rdb"), "-o", dir.file("o.rdb"), "-a", "0=c"}, 3}}) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ::close(p[0]);  // nobody will ever read
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(p[1], 1);
      if (want) {
        ::dup2(p[1], 2);
      } else {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 2);
      }
      std::vector<char*> argv{const_cast<char*>(bin.c_str())};
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(p[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == want) << args[0] << " status " << status;
  }
  EXPECT_TRUE(test::read_file(dir.file("out.rdb")).starts_with("REDIS0010"));
}

// Item 12: a pipe input with a database above 65535 converts like the same file given by path;
// stdin twice and hashtag families are usage errors in every command.
TEST_F(Cli, PipesBehaveLikeFiles) {
  std::string in = input(RdbBuilder("REDIS0010").select_db(0).string_key("x", "1").select_db(70000)
                             .string_key("y", "2").eof().bytes());
  for (std::string policy : {"drop", "keep"}) {
    RunResult by_path = rdbrekey({"convert", in, "-o", dir.file("a.rdb"), "-a", "0=condo", "--unmapped", policy, "-f"});
    RunResult by_pipe = sh("cat " + q(in) + " | " + bin + " convert - -o " + q(dir.file("b.rdb")) +
                           " -a 0=condo -f --unmapped " + policy);
    EXPECT_EQ(by_path.exit_code, 0) << by_path.err;
    EXPECT_EQ(by_pipe.exit_code, 0) << by_pipe.err;
    EXPECT_EQ(test::read_file(dir.file("a.rdb")), test::read_file(dir.file("b.rdb")));
  }
  RunResult r = sh("cat " + q(in) + " | " + bin + " convert - - -o " + q(dir.file("c.rdb")) + " -a 0=condo");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("given twice"), std::string::npos) << r.err;
  for (std::string family : {"a:b", "", "x{", "a b"}) {
    RunResult i = rdbrekey({"inspect", in, "--hashtag", family});
    RunResult c = rdbrekey({"convert", in, "-o", dir.file("d.rdb"), "-a", "0=condo", "--hashtag", family});
    EXPECT_EQ(i.exit_code, 2) << family << i.err;
    EXPECT_EQ(c.exit_code, 2) << family << c.err;
  }
}

// Item 13: the printed summary and the JSON report come from one source and agree.
TEST_F(Cli, SummaryAndReportAgree) {
  std::string in = input(RdbBuilder("REDIS0010").select_db(0).string_key("x", "1").string_key("condo:x", "2")
                             .expire_ms(1000).string_key("old", "3").string_key("data_version", "9")
                             .select_db(4).string_key("u", "1").eof().bytes());
  RunResult r = rdbrekey({"convert", in, "-o", dir.file("out.rdb"), "-a", "0=condo", "--unmapped", "drop",
                          "--drop-expired=2000", "--on-collision", "keep-last", "--report", dir.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(test::read_file(dir.file("r.json")));
  EXPECT_EQ(j["totals"]["keys_read"], 5);
  EXPECT_EQ(j["totals"]["dropped"], 3);
  EXPECT_EQ(j["totals"]["collision_dropped"], 1);
  EXPECT_EQ(j["totals"]["merged_into_guard"], 1);
  EXPECT_EQ(j["databases"][0]["dropped"], 2);  // db 0: one expired, one left out by the policy
  EXPECT_EQ(j["collisions_left_out"].size(), 1u);
  EXPECT_NE(r.out.find("db 0    -> condo:                               4 keys: 0 renamed, 1 already prefixed, 0 "
                       "hashtagged, 2 dropped (1 expired, 1 by the collision policy), 1 merged into the guard"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("5 keys read: 1 written"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 dropped, 1 merged into guards"), std::string::npos) << r.out;
  EXPECT_EQ(j["output"]["keys"], 2);
}

// Item 14: a dry run predicts the output's size exactly.
TEST_F(Cli, DryRunPredictsTheSize) {
  test::RdbBuilder b("REDIS0010");
  for (int i = 0; i < 1000; ++i) b.string_key("k" + std::to_string(i), "v");
  std::string in = input(b.eof().bytes());
  RunResult dry = rdbrekey({"convert", in, "-o", dir.file("out.rdb"), "-a", "0=condo", "-n", "--report", dir.file("d.json")});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  RunResult real = rdbrekey({"convert", in, "-o", dir.file("out.rdb"), "-a", "0=condo", "--report", dir.file("r.json")});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  auto d = nlohmann::json::parse(test::read_file(dir.file("d.json")));
  auto r = nlohmann::json::parse(test::read_file(dir.file("r.json")));
  EXPECT_EQ(d["output"]["bytes"], r["output"]["bytes"]);
  EXPECT_EQ(r["output"]["bytes"], test::read_file(dir.file("out.rdb")).size());
}

// --verify reads the output back, and `verify` refuses a file with a duplicate key.
TEST_F(Cli, VerifyFindsDuplicateKeys) {
  std::string dup = input(RdbBuilder("REDIS0010").string_key("a", "1").string_key("a", "2").eof().bytes(), "dup.rdb");
  RunResult r = rdbrekey({"verify", dup});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("duplicate key"), std::string::npos) << r.err;
  r = sh("cat " + q(dup) + " | " + bin + " verify -");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  r = rdbrekey({"verify", dup, "--no-duplicate-check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace rdbrekey
