// The CLI's cluster split (--cluster, --output-dir) and merged backups (INPUT:DB=APP,
// --aux-from) without a cluster: what the files hold, the manifest, the options that must go
// together, and that a failure leaves nothing behind. The restore into a real cluster is in
// cluster_e2e_test.cpp.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/cluster_topology.h"
#include "rdbrekey/hash_slot.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_builder.h"
#include "support/rdb_image.h"
#include "support/redis_server.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;
using test::RunResult;
using Json = nlohmann::json;

std::string q(const std::string& s) { return "'" + s + "'"; }

const std::vector<std::string> kSampleApps = {"-a", "0=@app/condo", "-a", "1=@app/resident-app",
                                              "-a", "2=@app/address-service", "-a", "3=@app/eps"};

struct ClusterCli : ::testing::Test {
  test::TempDir dir;
  std::string bin = test::rdbrekey_binary();
  std::string sample = test::project_fixture("sample.rdb");

  RunResult rdbrekey(std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
    args.insert(args.begin(), bin);
    return test::run(args, 120, stdin_path);
  }
  RunResult convert_sample(std::vector<std::string> extra) {
    std::vector<std::string> args{"convert", sample};
    args.insert(args.end(), kSampleApps.begin(), kSampleApps.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return rdbrekey(args);
  }
  std::string input(const std::string& bytes, const std::string& name) {
    test::write_file(dir.file(name), bytes);
    return dir.file(name);
  }
  Json manifest(const std::string& out_dir) { return Json::parse(test::read_file(out_dir + "/manifest.json")); }
};

test::FileImage image_of_file(const std::string& path) {
  std::string bytes = test::read_file(path);
  return test::image_of_bytes(bytes);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The split holds exactly the keys of the single-file conversion, each in the file of the
// primary that owns its slot, byte for byte, and the manifest says so.
TEST_F(ClusterCli, EveryKeyOfTheSingleFileIsInExactlyTheFileOfItsSlot) {
  RunResult one = convert_sample({"-o", dir.file("one.rdb")});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  std::string out = dir.file("shards");
  RunResult r = convert_sample({"--cluster", "3", "--output-dir", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::FileImage whole = image_of_file(dir.file("one.rdb"));
  const auto& want = whole.dbs.at(0);

  Json m = manifest(out);
  ASSERT_EQ(m["files"].size(), 3u);
  EXPECT_EQ(m["keys"].get<uint64_t>(), want.size());
  ClusterTopology t = even_split_topology(3);
  std::map<std::string, test::KeyImage> got;
  for (size_t i = 0; i < 3; ++i) {
    const Json& f = m["files"][i];
    std::string path = out + "/" + f["file"].get<std::string>();
    EXPECT_EQ(f["file"], "shard-" + std::to_string(i + 1) + "-of-3.rdb");
    test::FileImage img = image_of_file(path);
    ASSERT_LE(img.dbs.size(), 1u);
    std::map<uint16_t, uint64_t> per_slot;
    for (const auto& [name, k] : img.dbs.at(0)) {
      uint16_t slot = key_hash_slot(name);
      EXPECT_EQ(t.owner[slot], i) << name;
      ++per_slot[slot];
      EXPECT_TRUE(got.emplace(name, k).second) << name;
    }
    EXPECT_EQ(f["keys"].get<uint64_t>(), img.dbs.at(0).size());
    std::map<uint16_t, uint64_t> listed;
    for (const auto& [slot, n] : f["keys_per_slot"].items()) listed[static_cast<uint16_t>(std::stoi(slot))] = n.get<uint64_t>();
    EXPECT_EQ(listed, per_slot);
    EXPECT_EQ(f["bytes"].get<uint64_t>(), test::read_file(path).size());
    // The CRC-64 listed is the file's own trailer.
    std::string bytes = test::read_file(path);
    uint64_t trailer = 0;
    for (int b = 7; b >= 0; --b) trailer = (trailer << 8) | static_cast<uint8_t>(bytes[bytes.size() - 8 + b]);
    EXPECT_EQ(f["crc64"], fmt::format("{:016x}", trailer));
  }
  EXPECT_EQ(got, want);
  // Queues stay in one slot; the guards are where the manifest says.
  ASSERT_FALSE(m["queues"].empty());
  for (const auto& qe : m["queues"]) {
    EXPECT_TRUE(qe["one_slot"].get<bool>()) << qe.dump();
    EXPECT_EQ(qe["slots"][0].get<uint16_t>(), key_hash_slot("{" + qe["name"].get<std::string>() + "}"));
  }
  for (const auto& a : m["applications"]) {
    std::string key = a["guard"]["key"];
    EXPECT_EQ(a["guard"]["slot"].get<uint16_t>(), key_hash_slot(key));
    test::FileImage img = image_of_file(out + "/" + a["guard"]["file"].get<std::string>());
    EXPECT_TRUE(img.dbs.at(0).count(key)) << key;
  }
}

// Each file loads into a real server, which holds exactly the manifest's count.
TEST_F(ClusterCli, EveryFileLoadsIntoARealServer) {
  std::string out = dir.file("shards");
  RunResult r = convert_sample({"--cluster", "4", "--output-dir", out, "--verify"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("read back and verified"), std::string::npos) << r.out;
  Json m = manifest(out);
  uint64_t total = 0;
  for (const auto& f : m["files"]) {
    auto server = test::RedisServer::on_rdb(out + "/" + f["file"].get<std::string>());
    long long n = server->client().ok({"DBSIZE"}).as_int();
    EXPECT_EQ(static_cast<uint64_t>(n), f["keys"].get<uint64_t>());
    total += static_cast<uint64_t>(n);
  }
  EXPECT_EQ(total, m["keys"].get<uint64_t>());
}

TEST_F(ClusterCli, StandardInputGivesTheSameFiles) {
  ASSERT_EQ(convert_sample({"--cluster", "3", "--output-dir", dir.file("a")}).exit_code, 0);
  std::vector<std::string> args{"convert", "-"};
  args.insert(args.end(), kSampleApps.begin(), kSampleApps.end());
  for (const char* a : {"--cluster", "3", "--output-dir"}) args.push_back(a);
  args.push_back(dir.file("b"));
  RunResult r = rdbrekey(args, sample);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int k = 1; k <= 3; ++k) {
    std::string name = "/shard-" + std::to_string(k) + "-of-3.rdb";
    EXPECT_EQ(test::read_file(dir.file("a") + name), test::read_file(dir.file("b") + name)) << name;
  }
}

TEST_F(ClusterCli, OptionsThatMustGoTogether) {
  std::string out = dir.file("o");
  EXPECT_EQ(convert_sample({"--cluster", "3"}).exit_code, 2);                               // no --output-dir
  EXPECT_EQ(convert_sample({"--cluster", "3", "--output-dir", out, "-o", dir.file("x.rdb")}).exit_code, 2);
  EXPECT_EQ(convert_sample({"--output-dir", out}).exit_code, 2);                            // no --cluster
  EXPECT_EQ(convert_sample({}).exit_code, 2);                                               // no output at all
  for (const char* bad : {"0", "16385", ""})
    EXPECT_EQ(convert_sample({"--cluster", bad, "--output-dir", out}).exit_code, 2) << bad;
  for (const char* not_a_number : {"-1", "3x"})  // then a file name, and there is no such file
    EXPECT_EQ(convert_sample({"--cluster", not_a_number, "--output-dir", out}).exit_code, 3) << not_a_number;
  EXPECT_EQ(convert_sample({"--cluster", dir.file("missing.txt"), "--output-dir", out}).exit_code, 3);  // cannot be read
  test::write_file(dir.file("half.txt"),
                   "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 master - 0 0 1 connected 0-5460\n");
  RunResult r = convert_sample({"--cluster", dir.file("half.txt"), "--output-dir", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("5461-16383"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(out));  // nothing created for a refused command
}

TEST_F(ClusterCli, FilesAreNotReplacedWithoutForce) {
  std::string out = dir.file("o");
  ASSERT_EQ(convert_sample({"--cluster", "2", "--output-dir", out}).exit_code, 0);
  std::string before = test::read_file(out + "/shard-1-of-2.rdb");
  test::write_file(out + "/shard-2-of-2.rdb", "not mine");
  RunResult r = convert_sample({"--cluster", "2", "--output-dir", out, "--data-version", "5"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(test::read_file(out + "/shard-1-of-2.rdb"), before);
  EXPECT_EQ(test::read_file(out + "/shard-2-of-2.rdb"), "not mine");
  r = convert_sample({"--cluster", "2", "--output-dir", out, "--data-version", "5", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(test::read_file(out + "/shard-2-of-2.rdb"), "not mine");
}

// A refusal after reading (a collision) leaves no file, no temporary file, and no directory
// that the tool created; a directory that was there stays as it was.
TEST_F(ClusterCli, AFailureLeavesNothingBehind) {
  std::string in = input(RdbBuilder("REDIS0010").string_key("x", "1").string_key("condo:x", "2").eof().bytes(), "in.rdb");
  std::string fresh = dir.file("fresh");
  RunResult r = rdbrekey({"convert", in, "-a", "0=condo", "--cluster", "3", "--output-dir", fresh});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_FALSE(exists(fresh));
  std::string there = dir.file("there");
  ASSERT_EQ(::mkdir(there.c_str(), 0755), 0);
  test::write_file(there + "/keep.txt", "mine");
  r = rdbrekey({"convert", in, "-a", "0=condo", "--cluster", "3", "--output-dir", there});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  RunResult ls = test::run({"ls", "-A", there});
  EXPECT_EQ(ls.out, "keep.txt\n");
}

TEST_F(ClusterCli, DryRunWritesNothing) {
  std::string out = dir.file("o");
  RunResult r = convert_sample({"--cluster", "3", "--output-dir", out, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(exists(out));
  EXPECT_NE(r.out.find("shard-2-of-3.rdb"), std::string::npos) << r.out;
}

TEST_F(ClusterCli, TheOutputsAreNeverAnInput) {
  std::string out = dir.file("o");
  ASSERT_EQ(::mkdir(out.c_str(), 0755), 0);
  std::string in = out + "/shard-1-of-2.rdb";
  test::write_file(in, test::read_file(sample));
  std::vector<std::string> args{"convert", in, "--cluster", "2", "--output-dir", out, "--force"};
  args.insert(args.end(), kSampleApps.begin(), kSampleApps.end());
  EXPECT_EQ(rdbrekey(args).exit_code, 2);
  EXPECT_EQ(test::read_file(in), test::read_file(sample));
  args = {"convert", sample, "--cluster", "2", "--output-dir", out, "--report", in, "--force"};
  args.insert(args.end(), kSampleApps.begin(), kSampleApps.end());
  EXPECT_EQ(rdbrekey(args).exit_code, 2);
}

TEST_F(ClusterCli, TheReportListsTheFiles) {
  std::string out = dir.file("o");
  RunResult r = convert_sample({"--cluster", "3", "--output-dir", out, "--report", dir.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json rep = Json::parse(test::read_file(dir.file("r.json")));
  ASSERT_EQ(rep["output"]["files"].size(), 3u);
  uint64_t keys = 0;
  for (const auto& f : rep["output"]["files"]) keys += f["keys"].get<uint64_t>();
  EXPECT_EQ(keys, rep["output"]["keys"].get<uint64_t>());
  EXPECT_EQ(rep["output"]["keys"], manifest(out)["keys"]);
}

// ---- several backups into one ----------------------------------------------------------------

std::string host(std::string_view ver, std::vector<std::pair<uint64_t, std::string>> keys) {
  RdbBuilder b("REDIS0010");
  b.aux("redis-ver", ver);
  uint64_t db = ~uint64_t{0};
  for (const auto& [d, k] : keys) {
    if (d != db) b.select_db(db = d);
    b.string_key(k, std::string(ver));
  }
  return b.eof().bytes();
}

TEST_F(ClusterCli, ThreeHostsWithTheirOwnDatabaseNumbers) {
  std::string a = input(host("7.0.1", {{0, "x"}, {1, "u"}}), "host-a.rdb");
  std::string b = input(host("7.0.2", {{0, "x"}, {4, "bull:mail:1"}}), "host-b.rdb");
  std::string c = input(host("7.0.3", {{2, "y"}}), "host-c.rdb");
  std::string out = dir.file("o");
  RunResult r = rdbrekey({"convert", a, b, c, "-a", a + ":0=@app/condo", "-a", a + ":1=@app/resident-app", "-a",
                          b + ":0=billing", "-a", b + ":4=condo", "-a", c + ":2=eps", "--aux-from", b, "--cluster", "3",
                          "--output-dir", out, "--report", dir.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> names;
  std::string all;
  for (int k = 1; k <= 3; ++k) {
    std::string bytes = test::read_file(out + "/shard-" + std::to_string(k) + "-of-3.rdb");
    all += bytes;
    test::FileImage img = test::image_of_bytes(bytes);
    if (img.dbs.count(0))
      for (const auto& [n, ki] : img.dbs.at(0)) names.insert(n);
    // AUX of host-b in every file.
    EXPECT_NE(bytes.find("7.0.2"), std::string::npos);
  }
  EXPECT_EQ(names, (std::set<std::string>{"condo:x", "resident_app:u", "billing:x", "{condo:bull:mail}:1", "eps:y",
                                          "condo:data_version", "resident_app:data_version", "billing:data_version",
                                          "eps:data_version"}));
  Json rep = Json::parse(test::read_file(dir.file("r.json")));
  EXPECT_EQ(rep["aux_from"], b);
  bool seen_b4 = false;
  for (const auto& d : rep["databases"])
    if (d["input"] == b && d["db"] == 4) seen_b4 = d["prefix"] == "condo";
  EXPECT_TRUE(seen_b4) << rep["databases"].dump();
}

TEST_F(ClusterCli, MappingsThatNameNoInputOrMapADatabaseTwice) {
  std::string a = input(host("7.0.1", {{0, "x"}}), "a.rdb");
  std::string b = input(host("7.0.2", {{0, "y"}}), "b.rdb");
  std::string out = dir.file("out.rdb");
  EXPECT_EQ(rdbrekey({"convert", a, b, "-a", dir.file("c.rdb") + ":0=condo", "-o", out}).exit_code, 2);
  EXPECT_EQ(rdbrekey({"convert", a, b, "-a", "0=condo", "-a", b + ":0=billing", "-o", out}).exit_code, 2);
  EXPECT_EQ(rdbrekey({"convert", a, b, "-a", a + ":0=condo", "-a", a + ":0=billing", "-o", out}).exit_code, 2);
  EXPECT_EQ(rdbrekey({"convert", a, b, "-a", "0=condo", "--aux-from", dir.file("c.rdb"), "-o", out}).exit_code, 2);
  EXPECT_FALSE(exists(out));
  // The same file under another name is that input.
  RunResult r = rdbrekey({"convert", a, b, "-a", dir.path() + "/./a.rdb:0=condo", "-a", b + ":0=billing", "-o", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A path with ':' and '=' in it.
  ASSERT_EQ(::mkdir(dir.file("at=1:x").c_str(), 0755), 0);
  std::string odd = dir.file("at=1:x") + "/b:2=.rdb";
  test::write_file(odd, test::read_file(b));
  r = rdbrekey({"convert", a, odd, "-a", a + ":0=condo", "-a", odd + ":0=billing", "-o", dir.file("out3.rdb")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Standard input is "-".
  r = rdbrekey({"convert", a, "-", "-a", a + ":0=condo", "-a", "-:0=billing", "-o", dir.file("out2.rdb")}, b);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  test::FileImage img = image_of_file(dir.file("out2.rdb"));
  EXPECT_TRUE(img.dbs.at(0).count("billing:y"));
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

// The split with the options that read an input twice or leave keys out: keep-last keeps the
// last of a collision in whichever file its slot owns, from a file or a pipe alike; expired keys
// are in no file.
TEST_F(ClusterCli, CollisionPolicyAndDropExpiredWithTheSplit) {
  std::string in = input(RdbBuilder("REDIS0010")
                             .string_key("x", "first")
                             .string_key("condo:x", "last")
                             .expire_ms(1000)
                             .string_key("gone", "1")
                             .eof()
                             .bytes(),
                         "in.rdb");
  std::string out = dir.file("o");
  RunResult r = rdbrekey({"convert", in, "-a", "0=condo", "--cluster", "3", "--output-dir", out, "--on-collision",
                          "keep-last", "--drop-expired=2000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> names;
  for (int k = 1; k <= 3; ++k) {
    test::FileImage img = image_of_file(out + "/shard-" + std::to_string(k) + "-of-3.rdb");
    if (!img.dbs.count(0)) continue;
    for (const auto& [n, ki] : img.dbs.at(0)) names[n] = ki.value;
  }
  ASSERT_EQ(names.size(), 2u);  // condo:x once, and the guard
  EXPECT_EQ(names.at("condo:x").substr(1), "last");
  EXPECT_TRUE(names.count("condo:data_version"));
  // From a pipe (spooled to $TMPDIR to be read twice): the same shard files, byte for byte.
  r = test::run({"bash", "-c", "cat " + q(in) + " | " + bin + " convert - -a 0=condo --cluster 3 --output-dir " +
                                   q(dir.file("p")) + " --on-collision keep-last --drop-expired=2000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int k = 1; k <= 3; ++k) {
    std::string name = "/shard-" + std::to_string(k) + "-of-3.rdb";
    EXPECT_EQ(test::read_file(dir.file("p") + name), test::read_file(out + name)) << name;
  }
}

TEST_F(ClusterCli, AnOutputDirectoryThatIsNotADirectory) {
  test::write_file(dir.file("plain"), "x");
  EXPECT_EQ(convert_sample({"--cluster", "3", "--output-dir", dir.file("plain")}).exit_code, 2);
  EXPECT_EQ(convert_sample({"--cluster", "3", "--output-dir", "/dev/null"}).exit_code, 2);
  EXPECT_EQ(convert_sample({"--cluster", "3", "--output-dir", dir.file("no/such/parent")}).exit_code, 3);
  EXPECT_EQ(test::read_file(dir.file("plain")), "x");
}

}  // namespace
}  // namespace rdbrekey
