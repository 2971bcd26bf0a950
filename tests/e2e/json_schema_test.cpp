// Every JSON document the tool writes — convert --report (plain, dry run, compressed for a
// target, with collisions left out and unmapped databases, per cluster primary), the cluster
// manifest.json, inspect --json and restore --report against a real redis-server — is valid
// against docs/report-schema.json, checked by Debian's python3-jsonschema; and the schema is
// strict enough to reject a report that lost a field, gained one, or changed its schema_version.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_builder.h"
#include "support/redis_server.h"

namespace rdbrekey {
namespace {

using test::RunResult;

const std::string kSchema = std::string(RDBREKEY_SOURCE_DIR) + "/docs/report-schema.json";
const std::string kValidator = std::string(RDBREKEY_SOURCE_DIR) + "/tests/schema/validate_json.py";
const std::vector<std::string> kSampleApps{"-a", "0=@app/condo", "-a", "1=@app/address-service", "-a",
                                           "2=@app/resident-app", "-a", "3=@app/eps"};

// Runs the validator on `files` against the schema's document `definition`.
RunResult validate(const std::string& definition, const std::vector<std::string>& files) {
  std::vector<std::string> argv{RDBREKEY_PYTHON3, kValidator, kSchema, definition};
  argv.insert(argv.end(), files.begin(), files.end());
  return test::run(argv);
}

struct JsonSchema : ::testing::Test {
  test::TempDir dir;
  std::string sample = test::project_fixture("sample.rdb");

  void SetUp() override {
    RunResult probe = test::run({RDBREKEY_PYTHON3, "-c", "import jsonschema"});
    ASSERT_EQ(probe.exit_code, 0) << "Debian's python3-jsonschema is needed (scripts/setup.sh installs it): " << probe.err;
  }
  RunResult rdbrekey(std::vector<std::string> args) {
    args.insert(args.begin(), test::rdbrekey_binary());
    return test::run(args);
  }
  std::string convert_report(const std::string& name, std::vector<std::string> args) {
    std::string report = dir.file(name + ".json");
    args.insert(args.begin(), "convert");
    args.insert(args.end(), {"--report", report, "-q"});
    RunResult r = rdbrekey(args);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    return report;
  }
};

TEST_F(JsonSchema, EveryDocumentTheToolWritesIsValid) {
  std::map<std::string, std::vector<std::string>> documents;
  auto with_apps = [&](std::vector<std::string> args) {
    args.insert(args.end(), kSampleApps.begin(), kSampleApps.end());
    return args;
  };
  documents["convert_report"].push_back(convert_report("plain", with_apps({sample, "-o", dir.file("out.rdb")})));
  documents["convert_report"].push_back(
      convert_report("dry-run", with_apps({sample, "-o", dir.file("never.rdb"), "--dry-run"})));
  documents["convert_report"].push_back(convert_report(
      "zstd-target", with_apps({sample, "-o", dir.file("out.rdb.zst"), "--target", "valkey8", "--verify"})));
  documents["convert_report"].push_back(
      convert_report("cluster", with_apps({sample, "--cluster", "3", "--output-dir", dir.file("shards")})));
  documents["cluster_manifest"].push_back(dir.file("shards/manifest.json"));

  // Keys that renaming makes equal (one left out), an unmapped database left out.
  std::string collide = dir.file("collide.rdb");
  test::write_file(collide, test::RdbBuilder("REDIS0011")
                                .select_db(0)
                                .string_key("x", "1")
                                .string_key("condo:x", "2")
                                .select_db(4)
                                .string_key("stray", "3")
                                .eof()
                                .bytes());
  documents["convert_report"].push_back(convert_report(
      "collisions", {collide, "-o", dir.file("c.rdb"), "-a", "0=condo", "--on-collision", "keep-first", "--unmapped",
                     "drop"}));

  for (const auto& [name, args] : std::map<std::string, std::vector<std::string>>{
           {"inspect-mapped", with_apps({"inspect", sample, "--json"})},
           {"inspect-plain", {"inspect", collide, "--json", "--largest", "0"}}}) {
    RunResult r = rdbrekey(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    test::write_file(dir.file(name + ".json"), r.out);
    documents["inspect"].push_back(dir.file(name + ".json"));
  }

  test::RedisServer server;
  std::string to = "redis://127.0.0.1:" + std::to_string(server.port());
  for (const char* mode : {"dry-run", "real"}) {
    std::string report = dir.file(std::string("restore-") + mode + ".json");
    std::vector<std::string> args = with_apps({"restore", sample, "--to", to, "--report", report, "-q"});
    if (std::string(mode) == "dry-run") args.push_back("--dry-run");
    RunResult r = rdbrekey(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    documents["restore_report"].push_back(report);
  }

  for (const auto& [definition, files] : documents) {
    RunResult v = validate(definition, files);
    EXPECT_EQ(v.exit_code, 0) << definition << ":\n" << v.out << v.err;
  }
}

TEST_F(JsonSchema, RejectsAReportThatDrifted) {
  std::string report = convert_report("plain", {sample, "-o", dir.file("out.rdb"), "-a", "0=condo", "-a", "1=addr",
                                                "-a", "2=res", "-a", "3=eps"});
  ASSERT_EQ(validate("convert_report", {report}).exit_code, 0);
  nlohmann::ordered_json good = nlohmann::ordered_json::parse(test::read_file(report));
  std::vector<std::pair<std::string, nlohmann::ordered_json>> drifted;
  drifted.emplace_back("a required field gone", good);
  drifted.back().second.erase("totals");
  drifted.emplace_back("a field the schema does not know", good);
  drifted.back().second["output"]["checksum"] = "x";
  drifted.emplace_back("another schema_version", good);
  drifted.back().second["schema_version"] = 2;
  drifted.emplace_back("a count of the wrong type", good);
  drifted.back().second["databases"][0]["renamed"] = "99";
  for (const auto& [what, doc] : drifted) {
    std::string path = dir.file("drifted.json");
    test::write_file(path, doc.dump(2));
    RunResult v = validate("convert_report", {path});
    EXPECT_EQ(v.exit_code, 1) << what << ": the schema accepted it\n" << v.out << v.err;
  }
}

}  // namespace
}  // namespace rdbrekey
