// End to end: a real redis-server writes an RDB, the rdbrekey CLI converts it, a fresh
// redis-server loads the result, and every key is compared with the source server, which is
// still running. The expected names are computed here by a small independent implementation of
// ../shared/spec/migrator-rules.md (not the project's key_rules).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"
#include "support/redis_server.h"
#include "support/resp_client.h"
#include "support/standalone_dataset.h"

namespace rdbrekey::test {
namespace {

using namespace std::string_literals;
using Args = std::vector<std::string>;

// The test's own renaming rules (support/standalone_dataset.h) against the spec's examples.
TEST(ExpectedRules, AgreeWithTheSpecExamples) {
  EXPECT_EQ(expected_prefix("@app/address-service"), "address_service");
  EXPECT_EQ(expected_prefix("@aPP/CoNdO"), "condo");
  EXPECT_EQ(expected_prefix("multiple-words-app"), "multiple_words_app");
  EXPECT_EQ(expected_prefix("eps"), "eps");
  EXPECT_EQ(expected_name("condo", "bull:low:importMeters:123"), "{condo:bull:low}:importMeters:123");
  EXPECT_EQ(expected_name("condo", "bull:tasks"), "{condo:bull:tasks}");
  EXPECT_EQ(expected_name("condo", "bull:q:"), "{condo:bull:q}:");
  EXPECT_EQ(expected_name("condo", "bull:"), "{condo:bull:}");
  EXPECT_EQ(expected_name("condo", "sess:asd123ghj"), "condo:sess:asd123ghj");
  EXPECT_EQ(expected_name("condo", "condominium:1"), "condo:condominium:1");
  EXPECT_EQ(expected_name("condo", "{condo:bull:x}:y"), "{condo:bull:x}:y");
  EXPECT_EQ(expected_name("condo", ""), "condo:");
  EXPECT_EQ(expected_guard(std::nullopt), "2");
  EXPECT_EQ(expected_guard("1"s), "2");
  EXPECT_EQ(expected_guard("abc"s), "2");
  EXPECT_EQ(expected_guard("7"s), "7");
}

RunResult convert(const std::vector<std::string>& args) {
  std::vector<std::string> argv{rdbrekey_binary(), "convert"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, 60);
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

std::string magic_of(const std::string& path) { return read_file(path).substr(0, 9); }

// ---------------------------------------------------------------------------------------------

TEST(ConvertE2E, EveryTypeAndEncodingSurvivesRenamedIntoDb0) {
  TempDir work;
  Source source = make_source(work, [](Filler& f) {
    fill_condo(f);
    fill_address_service(f);
    fill_resident_app(f);
    fill_eps(f);
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_EQ(magic_of(source.rdb), "REDIS0010") << "Debian's redis-server 7.0 writes RDB 10";

  const std::string out = work.file("out.rdb");
  RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "-a", "1=@app/address-service", "-a",
                         "2=@app/resident-app", "-a", "5=eps"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("condo:data_version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("address_service:data_version = 7"), std::string::npos) << r.out;
  EXPECT_EQ(magic_of(out), magic_of(source.rdb)) << "output version = input version";
  // Only the input and the output are in the directory: no temporary file left behind.
  EXPECT_EQ(work.entries(), (std::vector<std::string>{"dump.rdb", "out.rdb"}));

  auto loaded = RedisServer::try_start_on_rdb(out);
  ASSERT_TRUE(loaded.server) << "redis-server 7.0 could not load the converted file: " << loaded.error;
  RespClient& dst = loaded.server->client();
  RespClient& src = source.server->client();

  Plan plan;
  plan.prefixes = {{0, expected_prefix("@app/condo")},
                   {1, expected_prefix("@app/address-service")},
                   {2, expected_prefix("@app/resident-app")},
                   {5, expected_prefix("eps")}};
  expect_converted(src, dst, plan);

  // A few names spelled out, so that a shared mistake of the rules above and the converter's
  // would still be caught.
  dst.ok({"SELECT", "0"});
  for (const std::string& k :
       {"condo:sess:asd123ghj"s, "{condo:bull:tasks}:wait"s, "{condo:bull:tasks}:123"s,
        "{condo:bull:low}:importMeters:1"s, "{condo:bull:tasks}:id"s, "{condo:bull:q}:"s, "{condo:bull:}"s,
        "{condo:bull:onlyqueue}"s, "condo:already"s, "{condo:bull:x}:y"s, "condo:condominium:1"s,
        "condo:{condo}:x"s, "condo:CONDO:upper"s, "condo:bin\0key\xff:{x}"s, "{condo:bull:\0q\xff" "u}:r{e}st"s,
        "condo:"s, "condo:42"s, "address_service:counter"s, "address_service:condo:foreign"s,
        "address_service:already"s, "{address_service:bull:geocode}:wait"s, "address_service:"s,
        "resident_app:events:resident"s, "{resident_app:bull:notify}:events"s, "resident_app:42"s,
        "eps:already"s, "{eps:bull:tasks}:id"s, "{eps:bull:tasks}:7"s})
    EXPECT_EQ(dst.ok({"EXISTS", k}).as_int(), 1) << show(k);
  EXPECT_EQ(dst.ok({"GET", "condo:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"GET", "address_service:data_version"}), Reply::bulk("7"));
  EXPECT_EQ(dst.ok({"GET", "resident_app:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"GET", "eps:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"GET", "condo:counter"}), Reply::bulk("12345"));
  EXPECT_EQ(dst.ok({"OBJECT", "ENCODING", "condo:counter"}), Reply::bulk("int"));
  // 44 keys of db 0, 47 of db 1, 6 of db 2 and 4 of db 5 (data_version keys not counted), and
  // the four guards.
  EXPECT_EQ(dbsize(dst, 0), 44 + 47 + 6 + 4 + 4);
  dst.ok({"SELECT", "0"});

  // The dataset covers the encodings it means to (checked on the target: they were loaded
  // from the converted file).
  for (const auto& [key, encoding] : std::vector<std::pair<std::string, std::string>>{
           {"condo:counter", "int"},
           {"condo:cache:json:long", "raw"},
           {"condo:list:small", "quicklist"},
           {"condo:list:large", "quicklist"},
           {"condo:set:int", "intset"},
           {"condo:set:large", "hashtable"},
           {"condo:set:bigint", "hashtable"},
           {"condo:zset:small", "listpack"},
           {"condo:zset:large", "skiplist"},
           {"condo:hash:small", "listpack"},
           {"condo:hash:large", "hashtable"},
           {"condo:hash:bigvalue", "hashtable"},
           {"condo:stream:events", "stream"}})
    EXPECT_EQ(dst.ok({"OBJECT", "ENCODING", key}), Reply::bulk(encoding)) << key;
  // Strings and keys were LZF-compressed in the source file; the values still are in the output
  // (value bytes are copied through).
  const std::string dump_bytes = read_file(source.rdb), out_bytes = read_file(out);
  EXPECT_EQ(dump_bytes.find(repeat(R"({"a":"condo","b":[1,2,3]})", 40)), std::string::npos);
  EXPECT_EQ(dump_bytes.find("long:key:" + repeat("abcabcabc", 12)), std::string::npos);
  EXPECT_EQ(out_bytes.find(repeat(R"({"a":"condo","b":[1,2,3]})", 40)), std::string::npos);
  EXPECT_EQ(out_bytes.find(repeat("0123456789abcdef", 20000)), std::string::npos);

  // The stream's consumer groups work on the target: the PEL was carried over.
  Reply pending = dst.ok({"XPENDING", "condo:stream:events", "workers"});
  ASSERT_TRUE(pending.is_array());
  EXPECT_EQ(pending.elements.at(0), Reply::number(9));  // 5 + 3 + 2 read, 1 acknowledged

  // The function library is kept.
  EXPECT_EQ(dst.ok({"FUNCTION", "LIST", "WITHCODE"}), src.ok({"FUNCTION", "LIST", "WITHCODE"}));
  EXPECT_EQ(dst.ok({"FCALL", "rdbrekey_noop", "0"}), Reply::number(1));
}

void fill_small_with_unmapped(Filler& f) {
  f.select(0);
  f.set("sess:1", "s1");
  f.expire("sess:1", 2);
  f.rpush("bull:tasks:wait", {"1", "2"});
  f.hset("user:1", {{"name", "a"}});
  f.select(3);  // unmapped
  f.set("other:1", "o1");
  f.expire("other:1", 3);
  f.sadd("other:set", {"x", "y", "z"});
  f.rpush("bull:other:wait", {"7"});
  f.set("data_version", "9");  // not an application's guard: copied as it is with keep
  f.select(7);  // unmapped
  f.zadd("leaderboard", scored(10));
  f.stream("other:stream", 12);
}

TEST(ConvertE2E, UnmappedDatabasesDroppedOrKept) {
  TempDir work;
  Source source = make_source(work, fill_small_with_unmapped);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RespClient& src = source.server->client();

  for (const std::string policy : {"drop", "keep"}) {
    SCOPED_TRACE("--unmapped " + policy);
    const std::string out = work.file("out-" + policy + ".rdb");
    RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "--unmapped", policy});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto loaded = RedisServer::try_start_on_rdb(out);
    ASSERT_TRUE(loaded.server) << loaded.error;
    RespClient& dst = loaded.server->client();
    Plan plan;
    plan.prefixes = {{0, "condo"}};
    plan.unmapped = policy;
    expect_converted(src, dst, plan);
    dst.ok({"SELECT", "0"});
    if (policy == "drop") {
      EXPECT_EQ(dbsize(dst, 0), 4);  // three renamed keys and the guard
      EXPECT_EQ(dst.ok({"EXISTS", "other:1", "leaderboard", "data_version"}).as_int(), 0);
    } else {
      EXPECT_EQ(dbsize(dst, 0), 4 + 4 + 2);
      dst.ok({"SELECT", "0"});
      EXPECT_EQ(dst.ok({"GET", "other:1"}), Reply::bulk("o1"));
      EXPECT_EQ(dst.ok({"GET", "data_version"}), Reply::bulk("9"));
      EXPECT_EQ(dst.ok({"TYPE", "bull:other:wait"}).text(), "list") << "unmapped keys are not hashtagged";
      EXPECT_EQ(dst.ok({"TYPE", "other:stream"}).text(), "stream");
    }
    EXPECT_EQ(dst.ok({"GET", "condo:data_version"}), Reply::bulk("2"));
  }
}

TEST(ConvertE2E, UnmappedDatabaseWithoutPolicyIsRefusedAndLeavesNothing) {
  TempDir work;
  Source source = make_source(work, fill_small_with_unmapped);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  TempDir outdir;
  const std::string out = outdir.file("out.rdb");

  RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo"});
  EXPECT_EQ(r.exit_code, 6) << describe(r);
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(outdir.entries().empty()) << "left behind: " << (outdir.entries().empty() ? "" : outdir.entries()[0]);
  EXPECT_NE(r.err.find('3'), std::string::npos) << "the message names the unmapped db 3: " << r.err;
  EXPECT_NE(r.err.find('7'), std::string::npos) << "the message names the unmapped db 7: " << r.err;

  // --unmapped error is the same as no option.
  RunResult r2 = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "-a", "3=other", "--unmapped", "error"});
  EXPECT_EQ(r2.exit_code, 6) << describe(r2);
  EXPECT_TRUE(outdir.entries().empty());

  // Mapping every db makes it succeed.
  RunResult r3 = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "-a", "3=other", "-a", "7=@app/seven-app"});
  ASSERT_EQ(r3.exit_code, 0) << describe(r3);
  EXPECT_EQ(outdir.entries(), std::vector<std::string>{"out.rdb"});
  auto loaded = RedisServer::try_start_on_rdb(out);
  ASSERT_TRUE(loaded.server) << loaded.error;
  Plan plan;
  plan.prefixes = {{0, "condo"}, {3, "other"}, {7, "seven_app"}};
  expect_converted(source.server->client(), loaded.server->client(), plan);
}

TEST(ConvertE2E, NameCollisionIsRefusedBeforeWriting) {
  // "x" becomes "condo:x", which db 0 already holds. migrator-rules.md §4: a collision is an
  // error before anything is written (a server aborts loading an RDB with a duplicate key).
  TempDir work;
  Source source = make_source(work, [](Filler& f) {
    f.select(0);
    f.set("x", "1");
    f.set("condo:x", "2");
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  TempDir outdir;
  const std::string out = outdir.file("out.rdb");
  RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("condo:x"), std::string::npos) << r.err;
  EXPECT_TRUE(outdir.entries().empty());
}

TEST(ConvertE2E, BundledSampleDump) {
  // fixtures/sample.rdb (tools/make_sample_dump.sh): a reference server loads it as it is and is
  // compared with a server loading the converted file.
  TempDir work;
  const std::string sample = std::string(RDBREKEY_FIXTURES) + "/sample.rdb";
  ASSERT_TRUE(std::filesystem::exists(sample)) << sample;
  std::filesystem::copy_file(sample, work.file("sample.rdb"));
  auto reference = RedisServer::try_start_on_rdb(work.file("sample.rdb"));
  ASSERT_TRUE(reference.server) << reference.error;

  const std::string out = work.file("converted.rdb");
  RunResult r = convert({sample, "-o", out, "-q", "-a", "0=@app/condo", "-a", "1=@app/address-service", "-a",
                         "2=@app/resident-app", "-a", "3=@app/eps"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "") << "-q prints nothing on success";
  EXPECT_EQ(magic_of(out), "REDIS0010");
  auto loaded = RedisServer::try_start_on_rdb(out);
  ASSERT_TRUE(loaded.server) << loaded.error;
  RespClient& dst = loaded.server->client();

  Plan plan;
  plan.prefixes = {{0, "condo"}, {1, "address_service"}, {2, "resident_app"}, {3, "eps"}};
  expect_converted(reference.server->client(), dst, plan);
  EXPECT_EQ(dbsize(dst, 0), 221);
  dst.ok({"SELECT", "0"});
  EXPECT_EQ(dst.ok({"LRANGE", "{condo:bull:tasks}:wait", "0", "-1"}).strings(),
            (std::vector<std::string>{"31", "32", "33", "34", "35", "36"}));
  EXPECT_EQ(dst.ok({"GET", "condo:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"XPENDING", "resident_app:events:notifications", "senders"}).elements.at(0),
            Reply::number(6));
  EXPECT_EQ(dst.ok({"GET", "eps:settings"}), Reply::bulk(R"({"acquiring":"sbbol"})"));
}

TEST(ServerSupport, AServerThatCannotLoadItsRdbIsReported) {
  TempDir dir;
  write_file(dir.file("bad.rdb"), "REDIS0010 this is not an RDB file at all");
  auto r = RedisServer::try_start_on_rdb(dir.file("bad.rdb"));
  EXPECT_FALSE(r.server);
  EXPECT_NE(r.error.find("exited"), std::string::npos) << r.error;
  EXPECT_FALSE(r.log.empty());
}

}  // namespace
}  // namespace rdbrekey::test
