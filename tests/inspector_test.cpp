#include "rdbrekey/inspector.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rdbrekey/format.h"
#include "rdbrekey/rdb_encoding.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_builder.h"

namespace rdbrekey {
namespace {

TEST(Inspector, CountsTypesTtlsRenamesAndServers) {
  std::string bytes = test::RdbBuilder("REDIS0011")
                          .aux("redis-ver", "7.2.4")
                          .select_db(0)
                          .expire_ms(1000).string_key("old", "x")
                          .expire_ms(5000).string_key("new", "x")
                          .string_key("condo:kept", "x")
                          .string_key("bull:tasks:1", "x")
                          .string_key("bull:low:2", "x")
                          .set_key("big", {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "b"})
                          .select_db(2)
                          .string_key("z", "x")
                          .eof()
                          .bytes();
  MemorySource src("i.rdb", bytes.data(), bytes.size());
  InspectOptions opt;
  opt.apps = {{0, "@app/condo"}};
  opt.now_ms = 2000;
  opt.largest = 1;
  InspectResult r = inspect(src, opt);
  EXPECT_EQ(r.version.number, 11);
  EXPECT_EQ(r.aux["redis-ver"], "7.2.4");
  const InspectDb& db0 = r.dbs.at(0);
  EXPECT_EQ(db0.keys, 6u);
  EXPECT_EQ(db0.by_type.at("string"), 5u);
  EXPECT_EQ(db0.by_type.at("set"), 1u);
  EXPECT_EQ(db0.with_ttl, 2u);
  EXPECT_EQ(db0.expired, 1u);
  EXPECT_EQ(db0.prefix, "condo");
  EXPECT_EQ(db0.renamed, 3u);
  EXPECT_EQ(db0.already_prefixed, 1u);
  EXPECT_EQ(db0.hashtagged, 2u);
  EXPECT_EQ(db0.queues, (std::set<std::string>{"bull:low", "bull:tasks"}));
  EXPECT_TRUE(r.dbs.at(2).prefix.empty());
  ASSERT_EQ(r.largest.size(), 1u);
  EXPECT_EQ(r.largest[0].key, "big");
  std::map<std::string, bool> loads;
  for (const auto& s : r.servers) loads[s.server] = s.loads;
  EXPECT_FALSE(loads.at("Redis 7.0"));  // REDIS0011
  EXPECT_TRUE(loads.at("Redis 7.2"));
  EXPECT_TRUE(loads.at("Valkey 7.2 / 8.x"));
  EXPECT_TRUE(loads.at("Valkey 9.x"));
}

TEST(Inspector, FieldTtlHashesAndValkeyFiles) {
  std::unique_ptr<ByteSource> hfe_input = open_input(test::shared_fixture("HDT3213_rdb/cases_hash_with_hfe.rdb"));
  ByteSource& hfe = *hfe_input;
  InspectResult r = inspect(hfe, InspectOptions{});
  for (const auto& s : r.servers)
    EXPECT_EQ(s.loads, s.server.starts_with("Redis 7.4") || s.server.starts_with("Redis 8.")) << s.server;
  std::unique_ptr<ByteSource> valkey_input = open_input(test::shared_fixture("HDT3213_rdb/cases_valkey_hash2_with_hfe.rdb"));
  ByteSource& valkey = *valkey_input;
  r = inspect(valkey, InspectOptions{});
  for (const auto& s : r.servers) EXPECT_EQ(s.loads, s.server == "Valkey 9.x") << s.server;
}

// What convert --target would do, per target, from the same table the converter uses.
TEST(Inspector, PlansEveryTarget) {
  ListpackBuilder set;
  set.add("a");
  set.add("b");
  std::string blob;
  append_plain_string(blob, set.finish());
  std::string bytes = test::RdbBuilder("REDIS0011")
                          .byte(rdb::kOpFunction2)
                          .str("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
                          .byte(rdb::kTypeSetListpack)
                          .str("s")
                          .raw(blob)
                          .string_key("k", "v")
                          .eof()
                          .bytes();
  MemorySource src("in.rdb", bytes.data(), bytes.size());
  InspectResult r = inspect(src, InspectOptions{});
  std::map<std::string, const TargetVerdict*> by_name;
  for (const auto& t : r.targets) by_name[t.target] = &t;
  ASSERT_EQ(by_name.size(), target_servers().size());
  EXPECT_TRUE(by_name.at("valkey8")->steps.empty());
  EXPECT_TRUE(by_name.at("valkey8")->loads_as_is);
  EXPECT_EQ(by_name.at("valkey9")->writes.magic(), "VALKEY080");
  const TargetVerdict& r70 = *by_name.at("redis7.0");
  EXPECT_FALSE(r70.loads_as_is);
  ASSERT_EQ(r70.steps.size(), 1u);
  EXPECT_EQ(r70.steps[0].what, "set-listpack -> set");
  EXPECT_EQ(r70.steps[0].records, 1u);
  EXPECT_TRUE(r70.steps[0].lossless);
  const TargetVerdict& r62 = *by_name.at("redis6.2");
  ASSERT_EQ(r62.steps.size(), 2u);
  EXPECT_EQ(r62.steps[1].what, "function libraries left out");
  EXPECT_EQ(r62.steps[1].needs, "--drop-functions");
  EXPECT_TRUE(r62.convertible);
}

TEST(Inspector, CliJson) {
  test::RunResult res = test::run({test::rdbrekey_binary(), "inspect", test::project_fixture("sample.rdb"), "--json",
                                   "-a", "0=@app/condo", "--now", "0"});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto j = nlohmann::json::parse(res.out);
  EXPECT_EQ(j["version"], "REDIS0010");
  EXPECT_EQ(j["databases"][0]["prefix"], "condo");
  EXPECT_EQ(j["databases"][0]["renamed"], 100);
  EXPECT_NE(res.out.find("\"bull:tasks\""), std::string::npos);
  bool redis70 = false;
  for (const auto& s : j["servers"])
    if (s["server"] == "Redis 7.0") redis70 = s["loads"];
  EXPECT_TRUE(redis70);
}

}  // namespace
}  // namespace rdbrekey
