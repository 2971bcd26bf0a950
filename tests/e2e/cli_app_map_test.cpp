// --monorepo, --app-filter and --map on the command line: the bundled sample converted with the
// map a monorepo checkout gives equals the one converted with the demo's --app map, and every
// refusal has its documented exit code.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/process.h"

namespace rdbrekey {
namespace {

namespace fs = std::filesystem;
using test::RunResult;

// The sample's applications (scripts/demo.sh) as a monorepo checkout holds them, plus an app
// without a REDIS_URL.
struct SampleMonorepo : ::testing::Test {
  test::TempDir dir;
  std::string root = dir.file("condo");
  std::string sample = test::project_fixture("sample.rdb");

  void app(const std::string& subdir, const std::string& name, const std::string& env) {
    fs::create_directories(root + "/apps/" + subdir);
    test::write_file(root + "/apps/" + subdir + "/package.json",
                     R"({"name": ")" + name + R"(", "dependencies": {"@open-condo/keystone": "workspace:^"}})");
    test::write_file(root + "/apps/" + subdir + "/.env", env);
  }
  void SetUp() override {
    app("condo", "@app/condo", "REDIS_URL=redis://redis:6379\n");
    app("address-service", "@app/address-service", "export REDIS_URL=\"redis://user:pw@redis:6379/1\"\n");
    app("resident-app", "@app/resident-app", "REDIS_URL=redis://redis:6379/2?connectTimeout=5000\n");
    app("eps", "@app/eps", "# eps\nREDIS_URL='redis://redis:6379/3'\n");
    app("callcenter", "@app/callcenter", "SERVER_URL=http://localhost:3000\n");
  }
  RunResult rdbrekey(std::vector<std::string> args) {
    args.insert(args.begin(), test::rdbrekey_binary());
    return test::run(args);
  }
  // The demo's conversion, with the map given by hand.
  std::string converted_with_app_options() {
    std::string out = dir.file("by-hand.rdb");
    RunResult r = rdbrekey({"convert", sample, "-o", out, "--force", "-a", "0=@app/condo", "-a", "1=@app/address-service", "-a",
                            "2=@app/resident-app", "-a", "3=@app/eps"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return test::read_file(out);
  }
};

TEST_F(SampleMonorepo, ConvertsAsTheHandWrittenMap) {
  std::string out = dir.file("monorepo.rdb");
  RunResult r = rdbrekey({"convert", sample, "-o", out, "--monorepo", root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_file(out), converted_with_app_options());
  // The map it built, where each entry came from, and the app it skipped, on stderr.
  EXPECT_NE(r.err.find("4 application(s) of server redis:6379"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("map     1=@app/address-service  (prefix address_service; " + root +
                       "/apps/address-service/.env:1)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("map     3=@app/eps  (prefix eps; " + root + "/apps/eps/.env:2)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped " + root + "/apps/callcenter (@app/callcenter): no REDIS_URL"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("pw"), std::string::npos) << "the password is never printed: " << r.err;
  EXPECT_NE(r.out.find("-> address_service:"), std::string::npos) << r.out;
}

TEST_F(SampleMonorepo, MapFileAndAppOptionsAddUp) {
  std::string map = dir.file("sample.map");
  test::write_file(map, "# the sample's 2.x host\n0=@app/condo\n1 = @app/address-service\n\n");
  std::string out = dir.file("mapped.rdb");
  RunResult r = rdbrekey({"convert", sample, "-o", out, "--map", map, "-a", "2=@app/resident-app", "-a", "3=eps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_file(out), converted_with_app_options());
  EXPECT_NE(r.err.find("map     0=@app/condo  (prefix condo; " + map + ":2)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("map     3=eps  (prefix eps; --app 3=eps)"), std::string::npos) << r.err;
  // The same database named again for the same application is no conflict.
  RunResult again = rdbrekey({"convert", sample, "-o", dir.file("again.rdb"), "--map", map, "--monorepo", root,
                              "-a", "0=condo"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(test::read_file(dir.file("again.rdb")), converted_with_app_options());
}

TEST_F(SampleMonorepo, AppFilterTakesSome) {
  RunResult r = rdbrekey({"inspect", sample, "--monorepo", root, "--app-filter", "eps", "--app-filter",
                          "@app/condo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("-> condo:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> eps:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("-> address_service:"), std::string::npos) << r.out;
  // The other databases are unmapped: convert refuses them (exit 6), as without --monorepo.
  RunResult unmapped = rdbrekey({"convert", sample, "-o", dir.file("x.rdb"), "--monorepo", root, "--app-filter", "eps"});
  EXPECT_EQ(unmapped.exit_code, 6) << unmapped.err;
  EXPECT_FALSE(fs::exists(dir.file("x.rdb")));
}

TEST_F(SampleMonorepo, ConflictsAreRefusedNamingBothSources) {
  RunResult r = rdbrekey({"convert", sample, "-o", dir.file("x.rdb"), "--monorepo", root, "-a", "1=@app/eps"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("database 1 is mapped to two applications: @app/address-service (" + root +
                       "/apps/address-service/.env:1) and @app/eps (--app 1=@app/eps)"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir.file("x.rdb")));
  // Two apps of the checkout on one database.
  app("pass", "@app/pass", "REDIS_URL=redis://redis:6379/3\n");
  RunResult two = rdbrekey({"inspect", sample, "--monorepo", root});
  EXPECT_EQ(two.exit_code, 6) << two.err;
  EXPECT_NE(two.err.find("@app/eps"), std::string::npos) << two.err;
  EXPECT_NE(two.err.find("@app/pass"), std::string::npos) << two.err;
  // Apps on two servers: restore refuses before it connects anywhere.
  app("pass", "@app/pass", "REDIS_URL=redis://other-redis:6379/4\n");
  RunResult servers = rdbrekey({"restore", sample, "--to", "redis://127.0.0.1:1", "--monorepo", root});
  EXPECT_EQ(servers.exit_code, 6) << servers.err;
  EXPECT_NE(servers.err.find("different servers"), std::string::npos) << servers.err;
  EXPECT_NE(servers.err.find("other-redis:6379: @app/pass"), std::string::npos) << servers.err;
}

TEST_F(SampleMonorepo, BadInputIsAUsageErrorWithFileAndLine) {
  std::string map = dir.file("bad.map");
  test::write_file(map, "0=@app/condo\n1 @app/address-service\n");
  RunResult r = rdbrekey({"convert", sample, "-o", dir.file("x.rdb"), "--map", map});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(map + ":2: \"1 @app/address-service\": expected DB=NAME"), std::string::npos) << r.err;

  RunResult filter_alone = rdbrekey({"convert", sample, "-o", dir.file("x.rdb"), "--app-filter", "eps"});
  EXPECT_EQ(filter_alone.exit_code, 2) << filter_alone.err;
  EXPECT_NE(filter_alone.err.find("give --monorepo"), std::string::npos) << filter_alone.err;

  RunResult no_such_app = rdbrekey({"inspect", sample, "--monorepo", root, "--app-filter", "billing"});
  EXPECT_EQ(no_such_app.exit_code, 2) << no_such_app.err;
  EXPECT_NE(no_such_app.err.find("--app-filter billing"), std::string::npos) << no_such_app.err;

  RunResult not_a_checkout = rdbrekey({"inspect", sample, "--monorepo", dir.file("nowhere")});
  EXPECT_EQ(not_a_checkout.exit_code, 3) << not_a_checkout.err;

  test::write_file(root + "/apps/eps/.env", "REDIS_URL=redis://redis:6379/three\n");
  RunResult bad_url = rdbrekey({"inspect", sample, "--monorepo", root});
  EXPECT_EQ(bad_url.exit_code, 2) << bad_url.err;
  EXPECT_NE(bad_url.err.find(root + "/apps/eps/.env:1: REDIS_URL: database \"three\" is not a number"),
            std::string::npos)
      << bad_url.err;
  EXPECT_FALSE(fs::exists(dir.file("x.rdb")));
}

}  // namespace
}  // namespace rdbrekey
