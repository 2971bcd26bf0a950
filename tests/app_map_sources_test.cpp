// The database -> application map from a monorepo checkout (as the online migrator reads one)
// and from a mapping file, and how the sources are joined.
#include "rdbrekey/app_map_sources.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "rdbrekey/error.h"
#include "support/process.h"

namespace rdbrekey {
namespace {

namespace fs = std::filesystem;

// A fake monorepo in a temporary directory: apps/<dir>/package.json and .env, as a checkout has
// them.
struct FakeMonorepo {
  test::TempDir dir;
  std::string root() const { return dir.path(); }
  // An application using a KV store (ioredis among its dependencies) and, when env is not
  // empty, its .env.
  void app(const std::string& subdir, const std::string& name, const std::string& env,
           const std::string& deps = R"({"ioredis": "^5.3.2", "lodash": "^4"})") {
    fs::create_directories(dir.file("apps/" + subdir));
    test::write_file(dir.file("apps/" + subdir + "/package.json"),
                     R"({"name": ")" + name + R"(", "version": "1.0.0", "dependencies": )" + deps + "}\n");
    if (!env.empty()) test::write_file(dir.file("apps/" + subdir + "/.env"), env);
  }
};

// The code and message of the Error `f` throws (fails the test when it throws none).
template <class F>
std::pair<Errc, std::string> error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  ADD_FAILURE() << "no error";
  return {Errc::kInternal, ""};
}

TEST(EnvValue, ReadsDotenvSyntax) {
  std::string env =
      "# the app's settings\n"
      "NODE_ENV=production\n"
      "export REDIS_URL=\"redis://u:p@h:6379/6\"\n"
      "SERVER_URL='http://x' # a comment\n"
      "PLAIN = redis://h:1/2   # comment after\n"
      "MULTI=\"line one\nline two\"\n"
      "ESCAPED=\"a\\nb\"\n"
      "TICKS=`x`\n"
      "EMPTY=\n"
      "not a setting\n"
      "LAST=1\n"
      "LAST=2\n";
  auto url = env_value(env, "REDIS_URL");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->value, "redis://u:p@h:6379/6");
  EXPECT_EQ(url->line, 3);
  EXPECT_EQ(env_value(env, "SERVER_URL")->value, "http://x");
  EXPECT_EQ(env_value(env, "PLAIN")->value, "redis://h:1/2");
  EXPECT_EQ(env_value(env, "PLAIN")->line, 5);
  EXPECT_EQ(env_value(env, "MULTI")->value, "line one\nline two");
  EXPECT_EQ(env_value(env, "ESCAPED")->value, "a\nb");
  EXPECT_EQ(env_value(env, "ESCAPED")->line, 8);  // the quoted value above spans two lines
  EXPECT_EQ(env_value(env, "TICKS")->value, "x");
  EXPECT_EQ(env_value(env, "EMPTY")->value, "");
  EXPECT_EQ(env_value(env, "LAST")->value, "2");
  EXPECT_FALSE(env_value(env, "MISSING"));
  EXPECT_FALSE(env_value(env, "REDIS"));  // a whole name only
  EXPECT_EQ(env_value("A=1\r\nREDIS_URL=redis://h/3\r\n", "REDIS_URL")->value, "redis://h/3");
}

TEST(MonorepoMap, EveryAppWithItsDatabase) {
  FakeMonorepo repo;
  repo.app("condo", "@app/condo", "REDIS_URL=redis://user:secret@redis.internal:6379\n");
  repo.app("address-service", "@app/address-service",
           "# address service\nexport REDIS_URL=\"redis://user:secret@redis.internal:6379/1?family=4\"\n");
  repo.app("resident-app", "@app/resident-app", "REDIS_URL='redis://redis.internal:6379/2#main'\n",
           R"({"@open-condo/keystone": "workspace:^"})");
  repo.app("eps", "@app/eps", "SOMETHING=1\nREDIS_URL=redis://REDIS.internal/3 # the eps db\n");
  repo.app("web", "@app/web", "NEXT_PUBLIC_X=1\n");                   // no REDIS_URL
  repo.app("static", "@app/static", "");                              // no .env
  repo.app("docs", "@app/docs", "REDIS_URL=redis://redis.internal:6379/9\n", R"({"react": "18"})");  // no KV
  repo.app("lib", "@open-condo/ui", "REDIS_URL=redis://redis.internal:6379/8\n");  // not an @app/ package
  fs::create_directories(repo.dir.file("apps/empty-dir"));

  MonorepoMap m = read_monorepo_map(repo.root(), {});
  ASSERT_EQ(m.entries.size(), 4u);
  std::vector<std::pair<uint64_t, std::string>> got;
  for (const auto& e : m.entries) got.emplace_back(e.db, e.name);
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, std::string>>{
                     {0, "@app/condo"}, {1, "@app/address-service"}, {2, "@app/resident-app"}, {3, "@app/eps"}}));
  EXPECT_EQ(m.entries[1].source, repo.dir.file("apps/address-service/.env") + ":2");
  EXPECT_EQ(m.server, "redis.internal:6379");

  std::vector<std::string> skipped;
  for (const auto& s : m.skipped) skipped.push_back(fs::path(s.dir).filename().string() + ": " + s.why);
  ASSERT_EQ(skipped.size(), 5u) << ::testing::PrintToString(skipped);
  EXPECT_NE(skipped[0].find("docs: uses no KV store"), std::string::npos) << skipped[0];
  EXPECT_EQ(skipped[1], "empty-dir: no package.json");
  EXPECT_NE(skipped[2].find("lib: not an application package"), std::string::npos) << skipped[2];
  EXPECT_EQ(skipped[3], "static: no .env");
  EXPECT_EQ(skipped[4], "web: no REDIS_URL in " + repo.dir.file("apps/web/.env"));
  EXPECT_EQ(merge_app_maps(m.entries),
            (std::map<uint64_t, std::string>{
                {0, "@app/condo"}, {1, "@app/address-service"}, {2, "@app/resident-app"}, {3, "@app/eps"}}));
}

TEST(MonorepoMap, AppFilterTakesSomeAsTheMigratorMatchesThem) {
  FakeMonorepo repo;
  repo.app("condo", "@app/condo", "REDIS_URL=redis://h:6379/0\n");
  repo.app("eps", "@app/eps", "REDIS_URL=redis://h:6379/3\n");
  repo.app("pass", "@app/pass", "REDIS_URL=redis://h:6379/4\n");
  MonorepoMap m = read_monorepo_map(repo.root(), {"eps", "@app/condo"});
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].name, "@app/condo");
  EXPECT_EQ(m.entries[1].name, "@app/eps");
  EXPECT_TRUE(m.skipped.empty());  // pass was not asked for: not listed as skipped

  auto [code, msg] = error_of([&] { read_monorepo_map(repo.root(), {"@app/eps", "condoo"}); });
  EXPECT_EQ(code, Errc::kBadOption);
  EXPECT_NE(msg.find("--app-filter condoo"), std::string::npos) << msg;
  EXPECT_NE(msg.find("@app/condo, @app/eps, @app/pass"), std::string::npos) << msg;
  // "@eps" is an exact full name, not a suffix
  EXPECT_EQ(error_of([&] { read_monorepo_map(repo.root(), {"@eps"}); }).first, Errc::kBadOption);
}

TEST(MonorepoMap, TwoAppsOnOneDatabaseAreRefusedNamingBoth) {
  FakeMonorepo repo;
  repo.app("condo", "@app/condo", "REDIS_URL=redis://h:6379/1\n");
  repo.app("eps", "@app/eps", "REDIS_URL=redis://h:6379/1\n");
  auto [code, msg] = error_of([&] { read_monorepo_map(repo.root(), {}); });
  EXPECT_EQ(code, Errc::kAmbiguousMap);
  EXPECT_NE(msg.find("database 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("@app/condo (" + repo.dir.file("apps/condo/.env") + ":1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("@app/eps (" + repo.dir.file("apps/eps/.env") + ":1)"), std::string::npos) << msg;
  // Filtering one of them out resolves it.
  EXPECT_EQ(read_monorepo_map(repo.root(), {"eps"}).entries.size(), 1u);
}

TEST(MonorepoMap, UrlsOfDifferentServersAreRefusedNamingTheApps) {
  for (const char* other : {"redis://other-host:6379/2", "redis://h:6380/2", "rediss://h:6390/2"}) {
    FakeMonorepo repo;
    repo.app("condo", "@app/condo", "REDIS_URL=redis://h:6379/1\n");
    repo.app("eps", "@app/eps", std::string("REDIS_URL=") + other + "\n");
    auto [code, msg] = error_of([&] { read_monorepo_map(repo.root(), {}); });
    EXPECT_EQ(code, Errc::kAmbiguousMap) << other;
    EXPECT_NE(msg.find("different servers"), std::string::npos) << msg;
    EXPECT_NE(msg.find("h:6379: @app/condo"), std::string::npos) << msg;
    EXPECT_NE(msg.find("@app/eps"), std::string::npos) << msg;
  }
  // The same server written twice (host case, default port) is one server; TLS or not as well.
  FakeMonorepo repo;
  repo.app("condo", "@app/condo", "REDIS_URL=redis://H:6379/1\n");
  repo.app("eps", "@app/eps", "REDIS_URL=rediss://user:pw@h/2\n");
  EXPECT_EQ(read_monorepo_map(repo.root(), {}).entries.size(), 2u);
}

TEST(MonorepoMap, BadFilesAreNamedWithTheirLine) {
  {
    FakeMonorepo repo;
    repo.app("condo", "@app/condo", "A=1\nREDIS_URL=redis://user:s3cret@h:6379/x\n");
    auto [code, msg] = error_of([&] { read_monorepo_map(repo.root(), {}); });
    EXPECT_EQ(code, Errc::kBadOption);
    EXPECT_NE(msg.find(repo.dir.file("apps/condo/.env") + ":2: REDIS_URL"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;
  }
  {
    FakeMonorepo repo;
    repo.app("condo", "@app/condo", "REDIS_URL=http://h:6379/1\n");
    EXPECT_EQ(error_of([&] { read_monorepo_map(repo.root(), {}); }).first, Errc::kBadOption);
  }
  {
    FakeMonorepo repo;
    repo.app("condo", "@app/condo", "REDIS_URL=redis://h:6379?db=4\n");
    auto [code, msg] = error_of([&] { read_monorepo_map(repo.root(), {}); });
    EXPECT_EQ(code, Errc::kBadOption);
    EXPECT_NE(msg.find("in the query"), std::string::npos) << msg;
  }
  {
    FakeMonorepo repo;
    fs::create_directories(repo.dir.file("apps/broken"));
    test::write_file(repo.dir.file("apps/broken/package.json"), "{\n  \"name\": \"@app/broken\",\n}\n");
    auto [code, msg] = error_of([&] { read_monorepo_map(repo.root(), {}); });
    EXPECT_EQ(code, Errc::kBadOption);
    EXPECT_NE(msg.find(repo.dir.file("apps/broken/package.json") + ": not valid JSON"), std::string::npos) << msg;
    EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
  }
}

TEST(MonorepoMap, NothingToMap) {
  test::TempDir empty;
  EXPECT_EQ(error_of([&] { read_monorepo_map(empty.path(), {}); }).first, Errc::kCannotOpen);
  FakeMonorepo repo;
  repo.app("web", "@app/web", "X=1\n");
  auto [code, msg] = error_of([&] { read_monorepo_map(repo.root(), {}); });
  EXPECT_EQ(code, Errc::kBadOption);
  EXPECT_NE(msg.find("no application with a REDIS_URL"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no REDIS_URL in"), std::string::npos) << msg;
}

TEST(MapFile, OneDbPerLineWithComments) {
  test::TempDir dir;
  std::string path = dir.file("prod.map");
  test::write_file(path,
                   "# production, 2.x host redis-1\n"
                   "\n"
                   "0=@app/condo\n"
                   "  1 = @app/address-service   # the address service\n"
                   "2=resident_app\r\n");
  std::vector<AppMapEntry> e = read_map_file(path);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].db, 0u);
  EXPECT_EQ(e[0].name, "@app/condo");
  EXPECT_EQ(e[0].source, path + ":3");
  EXPECT_EQ(e[1].db, 1u);
  EXPECT_EQ(e[1].name, "@app/address-service");
  EXPECT_EQ(e[2].name, "resident_app");
  EXPECT_EQ(e[2].source, path + ":5");
}

TEST(MapFile, BadLinesAreNamedWithFileAndLine) {
  test::TempDir dir;
  for (const char* bad : {"condo", "x=@app/condo", "=@app/condo", "1=", "-1=condo", "1=bad:name", "1234567890=condo"}) {
    std::string path = dir.file("bad.map");
    test::write_file(path, std::string("0=@app/condo\n# ok so far\n") + bad + "\n");
    auto [code, msg] = error_of([&] { read_map_file(path); });
    EXPECT_EQ(code, Errc::kBadOption) << bad;
    EXPECT_TRUE(msg.starts_with(path + ":3: ")) << msg;
  }
  EXPECT_EQ(error_of([&] { read_map_file(dir.file("missing.map")); }).first, Errc::kCannotOpen);
}

TEST(MergeAppMaps, SameApplicationTwiceIsOneEntryTwoAreRefused) {
  std::vector<AppMapEntry> same{{1, "@app/address-service", "a.map:1"}, {1, "address_service", "--app 1=address_service"},
                                {0, "@app/condo", "a.map:2"}};
  EXPECT_EQ(merge_app_maps(same),
            (std::map<uint64_t, std::string>{{0, "@app/condo"}, {1, "@app/address-service"}}));
  std::vector<AppMapEntry> conflict{{1, "@app/address-service", "a.map:1"}, {1, "@app/eps", "--app 1=@app/eps"}};
  auto [code, msg] = error_of([&] { merge_app_maps(conflict); });
  EXPECT_EQ(code, Errc::kAmbiguousMap);
  EXPECT_NE(msg.find("database 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("@app/address-service (a.map:1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("@app/eps (--app 1=@app/eps)"), std::string::npos) << msg;
}

}  // namespace
}  // namespace rdbrekey
