// The CLI's promises on bad input and bad usage: a clear message, the documented exit code, and
// no output file (nor temporary file) left behind.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <nlohmann/json.hpp>

#include "rdbrekey/crc64.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_builder.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;
using test::RunResult;

struct CliCase : ::testing::Test {
  test::TempDir dir;
  std::string input(const std::string& bytes, const std::string& name = "in.rdb") {
    std::string p = dir.file(name);
    test::write_file(p, bytes);
    return p;
  }
  RunResult convert(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{test::rdbrekey_binary(), "convert"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  // The directory holds exactly these names (inputs), so no output and no temp file was left.
  void expect_only(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    EXPECT_EQ(dir.entries(), names);
  }
};

std::string good_dump() {
  return RdbBuilder("REDIS0010").select_db(0).string_key("k", "v").select_db(1).string_key("q", "w").eof().bytes();
}

TEST_F(CliCase, SuccessPrintsASummary) {
  std::string in = input(good_dump());
  RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=@app/condo", "-a", "1=@app/address-service"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("REDIS0010"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("condo:data_version = 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("keys/min"), std::string::npos) << r.out;
  expect_only({"in.rdb", "out.rdb"});
}

TEST_F(CliCase, TruncatedInput) {
  std::string full = good_dump();
  for (size_t cut : {size_t{5}, size_t{12}, full.size() - 9, full.size() - 1}) {
    std::string in = input(full.substr(0, cut));
    RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=a", "-a", "1=b"});
    EXPECT_EQ(r.exit_code, 4) << cut << r.err;
    EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("in.rdb: byte offset"), std::string::npos) << r.err;
    expect_only({"in.rdb"});
  }
}

TEST_F(CliCase, ChecksumMismatch) {
  std::string bytes = good_dump();
  bytes[15] ^= 0x20;  // flip a bit of a key: the framing still holds, the CRC does not
  std::string in = input(bytes);
  RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=a", "-a", "1=b"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
  expect_only({"in.rdb"});
}

TEST_F(CliCase, UnknownTypeByte) {
  std::string in = input(RdbBuilder("REDIS0010").string_key("a", "b").byte(29).str("k").str("v").eof().bytes());
  RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=a"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("unknown value type or opcode 29"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("byte offset 14"), std::string::npos) << r.err;
  expect_only({"in.rdb"});
}

TEST_F(CliCase, UnmappedDatabase) {
  std::string in = input(good_dump());
  RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=a"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("db 1: 1 key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--unmapped"), std::string::npos) << r.err;
  expect_only({"in.rdb"});
}

TEST_F(CliCase, RecordTheOutputVersionCannotHold) {
  std::string in = input(test::read_file(test::shared_fixture("HDT3213_rdb/cases_hash_with_hfe.rdb")));
  RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=a"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("--rdb-version 12"), std::string::npos) << r.err;
  expect_only({"in.rdb"});
}

TEST_F(CliCase, NeverOverwritesAnInputOrAnExistingFile) {
  std::string bytes = good_dump();
  std::string in = input(bytes);
  RunResult r = convert({in, "-o", in, "-a", "0=a", "-a", "1=b", "--force"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(test::read_file(in), bytes);
  std::string other = input("keep me", "existing.rdb");
  r = convert({in, "-o", other, "-a", "0=a", "-a", "1=b"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(test::read_file(other), "keep me");
  r = convert({in, "-o", other, "-a", "0=a", "-a", "1=b", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_only({"existing.rdb", "in.rdb"});
}

TEST_F(CliCase, MissingInputAndBadUsage) {
  RunResult r = convert({dir.file("nope.rdb"), "-o", dir.file("out.rdb"), "-a", "0=a"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("nope.rdb"), std::string::npos);
  std::string in = input(good_dump());
  for (std::vector<std::string> bad : {std::vector<std::string>{in, "-a", "0=a"},
                                       {in, "-o", dir.file("o.rdb"), "-a", "x=a"},
                                       {in, "-o", dir.file("o.rdb"), "-a", "0=a", "-a", "0=b"},
                                       {in, "-o", dir.file("o.rdb"), "-a", "0=a", "--unmapped", "maybe"},
                                       {in, "-o", dir.file("o.rdb"), "-a", "0=a", "--rdb-version", "99"}}) {
    RunResult u = convert(bad);
    EXPECT_EQ(u.exit_code, 2) << u.err;
  }
  expect_only({"in.rdb"});
}

TEST_F(CliCase, HelpAndVersion) {
  RunResult r = test::run({test::rdbrekey_binary(), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("convert"), std::string::npos);
  r = test::run({test::rdbrekey_binary(), "convert", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--unmapped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--data-version"), std::string::npos);
  r = test::run({test::rdbrekey_binary(), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("rdbrekey "), std::string::npos);
}

TEST_F(CliCase, DryRunWritesNothingAndShowsSamples) {
  std::string in = input(good_dump());
  RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=@app/condo", "-a", "1=b", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"k\" -> \"condo:k\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dry run"), std::string::npos) << r.out;
  expect_only({"in.rdb"});
}

TEST_F(CliCase, DryRunShowsThePlanAndTheCollisions) {
  std::string in = input(RdbBuilder("REDIS0010").string_key("x", "1").string_key("condo:x", "2").eof().bytes());
  RunResult r = convert({in, "-o", dir.file("out.rdb"), "-a", "0=condo", "--dry-run"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.out.find("\"x\" -> \"condo:x\""), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("\"condo:x\": db 0 key \"x\""), std::string::npos) << r.err;
  expect_only({"in.rdb"});
}

TEST_F(CliCase, VerifyAndReport) {
  std::string in = input(good_dump());
  std::string out = dir.file("out.rdb");
  RunResult r = convert({in, "-o", out, "-a", "0=@app/condo", "-a", "1=b", "--verify", "--report", dir.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("read back and verified"), std::string::npos) << r.out;
  auto json = nlohmann::json::parse(test::read_file(dir.file("r.json")));
  EXPECT_EQ(json["databases"][0]["prefix"], "condo");
  EXPECT_EQ(json["databases"][0]["keys_read"], 1);
  EXPECT_EQ(json["databases"][0]["renamed"], 1);
  EXPECT_EQ(json["output"]["keys"], 4);  // 2 keys + 2 guards
  EXPECT_EQ(json["output"]["verified"], true);
  RunResult v = test::run({test::rdbrekey_binary(), "verify", out, "--expect-keys", "4"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("OK"), std::string::npos);
  v = test::run({test::rdbrekey_binary(), "verify", out, "--expect-keys", "5"});
  EXPECT_EQ(v.exit_code, 4) << v.err;
  // A damaged file fails verification with the offset.
  std::string bytes = test::read_file(out);
  bytes[bytes.size() - 3] ^= 1;
  test::write_file(dir.file("bad.rdb"), bytes);
  v = test::run({test::rdbrekey_binary(), "verify", dir.file("bad.rdb")});
  EXPECT_EQ(v.exit_code, 4);
  EXPECT_NE(v.err.find("checksum mismatch"), std::string::npos) << v.err;
}

TEST_F(CliCase, DiskFullLeavesNothingBehind) {
  // A file-size limit makes write(2) fail (EFBIG) the way a full disk does (ENOSPC).
  test::RdbBuilder b("REDIS0010");
  for (int i = 0; i < 20000; ++i) b.string_key("key:" + std::to_string(i), std::string(100, 'v'));
  std::string in = input(b.eof().bytes());
  std::string cmd = "ulimit -f 256; exec " + test::rdbrekey_binary() + " convert " + in + " -o " + dir.file("out.rdb") +
                    " -a 0=condo";
  RunResult r = test::run({"bash", "-c", cmd});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("over the file size limit"), std::string::npos) << r.err;
  expect_only({"in.rdb"});
}

class SignalCase : public CliCase, public ::testing::WithParamInterface<int> {};

TEST_P(SignalCase, LeavesNothingBehind) {
  const int sig = GetParam();
  // A FIFO input that never ends keeps the conversion running until the signal comes.
  std::string fifo = dir.file("in.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl(test::rdbrekey_binary().c_str(), "rdbrekey", "convert", fifo.c_str(), "-o", dir.file("out.rdb").c_str(),
            "-a", "0=a", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int w = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  std::string head = RdbBuilder("REDIS0010").select_db(0).string_key("k", "v").bytes();
  ASSERT_EQ(::write(w, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  // Wait until the temporary output exists, then stop the process.
  for (int i = 0; i < 1000 && dir.entries().size() < 2; ++i) ::usleep(10000);
  ASSERT_EQ(dir.entries().size(), 2u) << "temporary output never appeared";
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(w);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig);
  expect_only({"in.fifo"});
}

INSTANTIATE_TEST_SUITE_P(SigintAndSigterm, SignalCase, ::testing::Values(SIGINT, SIGTERM));

}  // namespace
}  // namespace rdbrekey
