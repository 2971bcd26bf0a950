#include "rdbrekey/converter.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rdbrekey/key_rules.h"
#include "rdbrekey/record_scanner.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_builder.h"
#include "support/rdb_image.h"
#include "support/oracle.h"
#include "support/stream_source.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

using test::FileImage;
using test::image_of_bytes;
using test::KeyImage;

struct Converted {
  ConvertResult result;
  std::string bytes;
};

Converted convert_bytes(const ConvertOptions& opt, const std::vector<std::string>& inputs) {
  std::vector<std::unique_ptr<MemorySource>> srcs;
  std::vector<ByteSource*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    srcs.push_back(std::make_unique<MemorySource>("in" + std::to_string(i) + ".rdb", inputs[i].data(), inputs[i].size()));
    ptrs.push_back(srcs.back().get());
  }
  MemorySink sink;
  Converted c;
  c.result = convert(opt, ptrs, sink);
  c.bytes.assign(sink.data().begin(), sink.data().end());
  return c;
}

ConvertOptions condo_options() {
  ConvertOptions opt;
  opt.apps = {{0, "@app/condo"}, {1, "@app/address-service"}};
  return opt;
}

std::optional<Errc> convert_error(const ConvertOptions& opt, const std::vector<std::string>& inputs, std::string* msg = nullptr) {
  try {
    convert_bytes(opt, inputs);
  } catch (const Error& e) {
    if (msg) *msg = e.what();
    return e.code();
  }
  return std::nullopt;
}

// Converting every shared fixture renames each key by the rules and copies every value, type
// and expire time byte for byte; nothing else appears but the guards.
TEST(Converter, EveryFixtureKeepsEveryValueByteForByte) {
  int converted = 0;
  for (const auto& path : test::shared_fixtures()) {
    SCOPED_TRACE(path);
    if (test::expected_failure(path)) continue;
    std::string data = test::read_file(path);
    ConvertOptions opt;
    for (uint64_t db = 0; db < 16; ++db) opt.apps[db] = "app" + std::to_string(db);
    // Redis 7.4 field-TTL hashes need a Redis 7.4 target; everything else takes the default.
    FileImage in = image_of_bytes(data);
    bool needs_12 = false;
    for (auto& [db, keys] : in.dbs)
      for (auto& [k, v] : keys)
        if (!in.version.is_valkey() && v.type >= 22) needs_12 = true;
    if (needs_12) opt.target = RdbVersion{RdbFamily::kRedis, 12};
    Converted c = convert_bytes(opt, {data});
    FileImage out = image_of_bytes(c.bytes);
    ASSERT_LE(out.dbs.size(), 1u);
    const auto& out_keys = out.dbs[0];
    size_t expected_count = 0;
    std::set<std::string> guard_keys;
    for (auto& [db, name] : opt.apps) guard_keys.insert(name + ":data_version");
    for (auto& [db, keys] : in.dbs) {
      KeyRenamer renamer(opt.apps[db], {"bull"});
      for (auto& [k, v] : keys) {
        std::string renamed;
        renamer.rename(k, renamed);
        if (guard_keys.count(renamed)) continue;
        ++expected_count;
        auto it = out_keys.find(renamed);
        ASSERT_NE(it, out_keys.end()) << renamed;
        EXPECT_EQ(it->second, v) << renamed;
      }
    }
    EXPECT_EQ(out_keys.size(), expected_count + guard_keys.size());
    for (const auto& g : guard_keys) EXPECT_TRUE(out_keys.count(g)) << g;
    EXPECT_EQ(out.functions, in.functions);
    EXPECT_EQ(out.module_aux, in.module_aux);
    for (const auto& a : out.aux) EXPECT_TRUE(a != "repl-id" && a != "repl-offset" && a != "slot-info") << a;
    ++converted;
  }
  EXPECT_GT(converted, 100);
}

TEST(Converter, RenamesByDatabaseAndWritesGuards) {
  std::string in = RdbBuilder("REDIS0010")
                       .aux("redis-ver", "7.0.15")
                       .aux("repl-id", "abc")
                       .select_db(0)
                       .string_key("sess:1", "x")
                       .string_key("bull:tasks:1", "job")
                       .string_key("condo:already", "y")
                       .string_key("", "empty")
                       .select_db(1)
                       .expire_ms(4102444800000)
                       .string_key("cache", "z")
                       .string_key("data_version", "7")
                       .eof()
                       .bytes();
  Converted c = convert_bytes(condo_options(), {in});
  FileImage out = image_of_bytes(c.bytes);
  EXPECT_EQ(out.version, (RdbVersion{RdbFamily::kRedis, 10}));
  auto& keys = out.dbs[0];
  std::vector<std::string> names;
  for (auto& [k, v] : keys) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"address_service:cache", "address_service:data_version", "condo:",
                                             "condo:already", "condo:data_version", "condo:sess:1",
                                             "{condo:bull:tasks}:1"}));
  EXPECT_EQ(keys["address_service:cache"].expire_ms, 4102444800000);
  EXPECT_EQ(keys["address_service:data_version"].value, std::string("\x01" "7", 2));  // larger: kept
  EXPECT_EQ(keys["condo:data_version"].value, std::string("\x01" "2", 2));
  EXPECT_FALSE(keys["condo:data_version"].has_expire);
  EXPECT_EQ(out.aux, std::vector<std::string>{"redis-ver"});
  const DbStats& db0 = c.result.dbs.at(0);
  EXPECT_EQ(db0.keys_read, 4u);
  EXPECT_EQ(db0.renamed, 2u);
  EXPECT_EQ(db0.hashtagged, 1u);
  EXPECT_EQ(db0.already_prefixed, 1u);
  EXPECT_EQ(db0.empty_key, 1u);
  EXPECT_EQ(c.result.dbs.at(1).with_ttl, 1u);
  EXPECT_EQ(c.result.guards.size(), 2u);
}

TEST(Converter, GuardTakesTheLargestNumberAndDropsTtl) {
  for (auto [value, expect] : std::vector<std::pair<std::string, std::string>>{
           {"1", "2"}, {"2", "2"}, {"3", "3"}, {"abc", "2"}, {"", "2"}, {"10.5", "10.5"}, {"-4", "2"},
           {" 7", " 7"}, {"7 ", "7 "}, {"+5", "+5"}, {"0x10", "0x10"}, {"7x", "2"}, {"nan", "2"},
           {std::string(100, '0') + "9", std::string(100, '0') + "9"}}) {
    std::string in = RdbBuilder("REDIS0009").expire_ms(4102444800000).string_key("data_version", value).eof().bytes();
    ConvertOptions opt;
    opt.apps = {{0, "condo"}};
    FileImage out = image_of_bytes(convert_bytes(opt, {in}).bytes);
    auto& g = out.dbs[0]["condo:data_version"];
    EXPECT_EQ(g.value, RdbBuilder("").str(expect).bytes()) << value;
    EXPECT_FALSE(g.has_expire);
    EXPECT_EQ(out.dbs[0].size(), 1u);
  }
  // An int-encoded source value is numeric too; a non-string one is replaced.
  std::string in = RdbBuilder("REDIS0009").string_key("a", "b").byte(0).str("data_version").raw("\xc0\x05").eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  EXPECT_EQ(image_of_bytes(convert_bytes(opt, {in}).bytes).dbs[0]["condo:data_version"].value, "\x01" "5");
  in = RdbBuilder("REDIS0009").set_key("data_version", {"9"}).eof().bytes();
  EXPECT_EQ(image_of_bytes(convert_bytes(opt, {in}).bytes).dbs[0]["condo:data_version"].value, "\x01" "2");
  // --data-version 0 writes no guard and leaves data_version as an ordinary key.
  opt.data_version = 0;
  FileImage none = image_of_bytes(convert_bytes(opt, {in}).bytes);
  EXPECT_EQ(none.dbs[0].size(), 1u);
  EXPECT_EQ(none.dbs[0].begin()->second.type, 2);
}

TEST(Converter, UnmappedDatabasesAreRefusedWithTheirCounts) {
  std::string in = RdbBuilder().select_db(0).string_key("a", "1").select_db(3).string_key("b", "2").string_key("c", "3")
                       .select_db(7).string_key("d", "4").eof().bytes();
  std::string msg;
  EXPECT_EQ(convert_error(condo_options(), {in}, &msg), Errc::kUnmappedDatabase);
  EXPECT_NE(msg.find("db 3: 2 keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("db 7: 1 key"), std::string::npos) << msg;
  ConvertOptions drop = condo_options();
  drop.unmapped = UnmappedPolicy::kDrop;
  Converted c = convert_bytes(drop, {in});
  EXPECT_EQ(c.result.dbs.at(3).unmapped_dropped, 2u);
  EXPECT_EQ(image_of_bytes(c.bytes).dbs[0].count("b"), 0u);
  ConvertOptions keep = condo_options();
  keep.unmapped = UnmappedPolicy::kKeep;
  FileImage kept = image_of_bytes(convert_bytes(keep, {in}).bytes);
  EXPECT_EQ(kept.dbs[0].count("b"), 1u);
  EXPECT_EQ(kept.dbs[0].count("d"), 1u);
  EXPECT_EQ(kept.dbs[0].count("condo:a"), 1u);
}

TEST(Converter, RecordTheOutputCannotHoldIsRefusedWithAHint) {
  std::string in = test::read_file(test::shared_fixture("HDT3213_rdb/cases_hash_with_hfe.rdb"));
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  std::string msg;
  EXPECT_EQ(convert_error(opt, {in}, &msg), Errc::kCannotHold);
  EXPECT_NE(msg.find("\"hash-hfe\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("db 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--rdb-version 12"), std::string::npos) << msg;
  opt.target = RdbVersion{RdbFamily::kRedis, 12};
  EXPECT_EQ(convert_error(opt, {in}), std::nullopt);
  // A Valkey 9 field-TTL hash cannot go to a REDIS file.
  std::string valkey = test::read_file(test::shared_fixture("HDT3213_rdb/cases_valkey_hash2_with_hfe.rdb"));
  opt.target = RdbVersion{RdbFamily::kRedis, 11};
  EXPECT_EQ(convert_error(opt, {valkey}, &msg), Errc::kCannotHold);
  opt.target.reset();
  Converted c = convert_bytes(opt, {valkey});
  EXPECT_EQ(c.result.output_version, (RdbVersion{RdbFamily::kValkey, 80}));
}

TEST(Converter, DownConvertsRedis12ToRedis11WhenTheDataFits) {
  std::string in = test::read_file(test::shared_fixture("redis_librdb/test_dumps_cluster_slot_info.rdb"));
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  Converted c = convert_bytes(opt, {in});
  EXPECT_EQ(c.result.output_version, (RdbVersion{RdbFamily::kRedis, 11}));
  EXPECT_EQ(c.result.slot_records_dropped, 1u);
  EXPECT_EQ(c.bytes.substr(0, 9), "REDIS0011");
}

TEST(Converter, SeveralInputsMergeIntoOneDb) {
  std::string a = RdbBuilder("REDIS0009").string_key("x", "1").eof().bytes();
  std::string b = RdbBuilder("REDIS0010").select_db(1).string_key("y", "2").eof().bytes();
  Converted c = convert_bytes(condo_options(), {a, b});
  FileImage out = image_of_bytes(c.bytes);
  EXPECT_EQ(out.version.number, 10);
  EXPECT_EQ(out.dbs[0].count("condo:x"), 1u);
  EXPECT_EQ(out.dbs[0].count("address_service:y"), 1u);
}

TEST(Converter, BadOptions) {
  std::string in = RdbBuilder().eof().bytes();
  ConvertOptions opt = condo_options();
  opt.hashtags = {"bu:ll"};
  EXPECT_EQ(convert_error(opt, {in}), Errc::kBadOption);
  opt = condo_options();
  opt.apps[2] = "@app/";
  EXPECT_EQ(convert_error(opt, {in}), Errc::kBadOption);
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

using test::RdbBuilder;

std::string collision_message(const ConvertOptions& opt, const std::vector<std::string>& inputs) {
  std::string msg;
  EXPECT_EQ(convert_error(opt, inputs, &msg), Errc::kCollision);
  return msg;
}

TEST(Collisions, KeyRenamedOntoAnAlreadyPrefixedKey) {
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  for (bool prefixed_first : {false, true}) {
    RdbBuilder b("REDIS0010");
    if (prefixed_first) b.string_key("condo:x", "2").string_key("y", "3").string_key("x", "1");
    else b.string_key("x", "1").string_key("y", "3").string_key("condo:x", "2");
    std::string msg = collision_message(opt, {b.eof().bytes()});
    EXPECT_NE(msg.find("1 key the name of another"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"condo:x\": db 0 key "), std::string::npos) << msg;
    EXPECT_NE(msg.find("key \"x\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("key \"condo:x\""), std::string::npos) << msg;
  }
  std::string bull = RdbBuilder("REDIS0010").string_key("{condo:bull:q}:r", "1").string_key("bull:q:r", "2").eof().bytes();
  EXPECT_NE(collision_message(opt, {bull}).find("{condo:bull:q}:r"), std::string::npos);
}

TEST(Collisions, NoFalseReports) {
  // Prefixed keys without a partner, near misses, and many keys: no collision.
  RdbBuilder b("REDIS0010");
  b.string_key("condo:a", "1").string_key("condo:condo:b", "1").string_key("condo:b", "1")
      .string_key("{condo:bull:q}", "1").string_key("bull:q:x", "1").string_key("condominium:1", "1");
  for (int i = 0; i < 5000; ++i) b.string_key("k" + std::to_string(i), "v");
  ConvertOptions opt;
  opt.apps = {{0, "condo"}, {1, "condo"}};
  b.select_db(1);
  for (int i = 0; i < 5000; ++i) b.string_key("j" + std::to_string(i), "v");
  Converted c = convert_bytes(opt, {b.eof().bytes()});
  EXPECT_EQ(c.result.collisions, 0u);
  EXPECT_EQ(c.result.keys_written, 6u + 10000u + 1u);
}

TEST(Collisions, TwoDatabasesOfOneApplication) {
  std::string in = RdbBuilder("REDIS0010").select_db(0).string_key("a", "1").string_key("s", "1")
                       .select_db(4).string_key("s", "2").string_key("b", "2").eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "@app/condo"}, {4, "condo"}};
  std::string msg = collision_message(opt, {in});
  EXPECT_NE(msg.find("\"condo:s\": db 0 key \"s\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("db 4 key \"s\""), std::string::npos) << msg;
}

TEST(Collisions, KeptUnmappedKeysAndSeveralInputs) {
  std::string in = RdbBuilder("REDIS0010").select_db(0).string_key("x", "1").select_db(3).string_key("condo:x", "2").eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  opt.unmapped = UnmappedPolicy::kKeep;
  EXPECT_NE(collision_message(opt, {in}).find("db 3 key \"condo:x\""), std::string::npos);
  opt.unmapped = UnmappedPolicy::kError;
  std::string a = RdbBuilder("REDIS0010").string_key("x", "1").string_key("y", "1").eof().bytes();
  std::string b = RdbBuilder("REDIS0010").string_key("x", "2").eof().bytes();
  std::string msg = collision_message(opt, {a, b});
  EXPECT_NE(msg.find("in0.rdb"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in1.rdb"), std::string::npos) << msg;
}

TEST(Collisions, InputThatCannotBeReadAgain) {
  // A FIFO is read once: the check falls back to two independent hashes.
  test::TempDir dir;
  std::string fifo = dir.file("in.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string data = RdbBuilder("REDIS0010").string_key("x", "1").string_key("condo:x", "2").eof().bytes();
  pid_t pid = ::fork();
  if (pid == 0) {
    test::write_file(fifo, data);
    ::_exit(0);
  }
  std::unique_ptr<ByteSource> src_input = open_input(fifo);
  ByteSource& src = *src_input;
  MemorySink sink;
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  try {
    convert(opt, {&src}, sink);
    ADD_FAILURE() << "collision not found";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCollision);
    EXPECT_NE(std::string(e.what()).find("a key of db 0 in"), std::string::npos) << e.what();
  }
  ::waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

TEST(Converter, DropExpiredLeavesOutKeysExpiredAtTheCutoff) {
  std::string in = test::RdbBuilder("REDIS0010")
                       .expire_ms(1000).string_key("old", "1")
                       .expire_ms(2000).string_key("edge", "1")
                       .expire_ms(3000).string_key("later", "1")
                       .string_key("forever", "1")
                       .eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  opt.drop_expired_before = 2000;
  Converted c = convert_bytes(opt, {in});
  FileImage out = image_of_bytes(c.bytes);
  EXPECT_EQ(out.dbs[0].count("condo:old"), 0u);
  EXPECT_EQ(out.dbs[0].count("condo:edge"), 0u);
  EXPECT_EQ(out.dbs[0].count("condo:later"), 1u);
  EXPECT_EQ(out.dbs[0].count("condo:forever"), 1u);
  EXPECT_EQ(c.result.dbs.at(0).expired_dropped, 2u);
  opt.drop_expired_before.reset();
  EXPECT_EQ(image_of_bytes(convert_bytes(opt, {in}).bytes).dbs[0].size(), 5u);
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

TEST(Converter, ReportsProgress) {
  test::RdbBuilder b("REDIS0010");
  for (int i = 0; i < 200000; ++i) b.string_key("k" + std::to_string(i), "v");
  std::string in = b.eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  std::vector<Progress> seen;
  opt.progress = [&](const Progress& p) { seen.push_back(p); };
  convert_bytes(opt, {in});
  ASSERT_GE(seen.size(), 3u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].bytes_total, in.size());
    EXPECT_LE(seen[i].bytes_done, in.size());
    if (i) EXPECT_GT(seen[i].bytes_done, seen[i - 1].bytes_done);
    if (i) EXPECT_GT(seen[i].keys, seen[i - 1].keys);
  }
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

TEST(Collisions, KeepFirstOrLastLeavesTheOthersOutAndReportsThem) {
  std::string in = test::RdbBuilder("REDIS0010")
                       .select_db(0).string_key("x", "from-db0-plain").string_key("condo:x", "from-db0-prefixed")
                       .string_key("y", "only")
                       .select_db(1).string_key("x", "from-db1")
                       .eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "condo"}, {1, "condo"}};
  for (auto [policy, expect] : std::vector<std::pair<CollisionPolicy, std::string>>{
           {CollisionPolicy::kKeepFirst, "from-db0-plain"}, {CollisionPolicy::kKeepLast, "from-db1"}}) {
    opt.on_collision = policy;
    Converted c = convert_bytes(opt, {in});
    FileImage out = image_of_bytes(c.bytes);
    EXPECT_EQ(out.dbs[0].size(), 3u);  // condo:x, condo:y, the guard
    EXPECT_EQ(out.dbs[0]["condo:x"].value, test::RdbBuilder("").str(expect).bytes());
    EXPECT_EQ(c.result.collision_drops.size(), 2u);
    EXPECT_EQ(c.result.keys_written, 3u);
    for (const auto& d : c.result.collision_drops) EXPECT_EQ(d.name, "condo:x");
    uint64_t dropped = 0;
    for (const auto& [db, st] : c.result.dbs) dropped += st.collision_dropped;
    EXPECT_EQ(dropped, 2u);
  }
  opt.on_collision = CollisionPolicy::kError;
  EXPECT_EQ(convert_error(opt, {in}), Errc::kCollision);
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

// Every prefix of a real multi-type dump, and random single-byte flips: each conversion ends
// with rdbrekey::Error or with an output that reads back whole.
TEST(HostileInput, EveryPrefixAndRandomFlips) {
  std::string data = test::read_file(test::project_fixture("sample.rdb"));
  ConvertOptions opt;
  opt.apps = {{0, "@app/condo"}, {1, "@app/address-service"}, {2, "@app/resident-app"}, {3, "@app/eps"}};
  for (size_t cut = 0; cut < data.size(); ++cut) {
    std::optional<Errc> c = convert_error(opt, {data.substr(0, cut)});
    ASSERT_EQ(c, cut == 0 ? Errc::kNotRdb : Errc::kTruncated) << "cut at " << cut;
  }
  std::mt19937 rng(5);
  int converted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = data;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    try {
      Converted c = convert_bytes(opt, {bad});
      image_of_bytes(c.bytes);  // reads back, or throws
      ++converted;
    } catch (const Error& e) {
      EXPECT_NE(e.code(), Errc::kInternal) << e.what();
    }
  }
  // The CRC covers every byte: only flips inside the 8-byte trailer could pass, and those fail too.
  EXPECT_EQ(converted, 0);
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

// Values of a megabyte and more from a regular file are copied with copy_file_range and hashed
// once for both checksums: the output must still read back with a good CRC and equal values.
TEST(Converter, LargeValuesFromAFileAreSplicedIntact) {
  test::TempDir dir;
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::string in = test::RdbBuilder("REDIS0010")
                       .string_key("a", "1")
                       .string_key("big1", big)
                       .expire_ms(4102444800000)
                       .string_key("big2", big.substr(1))
                       .string_key("z", "2")
                       .eof()
                       .bytes();
  test::write_file(dir.file("in.rdb"), in);
  ConvertOptions opt;
  opt.inputs = {dir.file("in.rdb")};
  opt.output = dir.file("out.rdb");
  opt.apps = {{0, "condo"}};
  opt.verify_output = true;
  ConvertResult r = convert(opt);
  EXPECT_TRUE(r.output_verified);
  FileImage src = image_of_bytes(in);
  FileImage out = image_of_bytes(test::read_file(dir.file("out.rdb")));
  for (const char* k : {"a", "big1", "big2", "z"})
    EXPECT_EQ(out.dbs[0][std::string("condo:") + k], src.dbs[0][k]) << k;
}

}  // namespace
}  // namespace rdbrekey

// ---- Issue 7: option combinations that lost a key or made an unloadable file ----------------

namespace rdbrekey {
namespace {

using test::RdbBuilder;

// Converts with the oracle beside it: the outcome must agree with it in every respect.
struct OracleCase {
  std::vector<test::OracleInput> inputs;
  ConvertOptions opt;

  ConvertResult run(std::optional<Errc> want = std::nullopt, std::string* bytes = nullptr) {
    test::Expected expected = test::expect_conversion(opt, inputs);
    EXPECT_EQ(expected.code, want);
    std::vector<std::unique_ptr<ByteSource>> owned;
    std::vector<ByteSource*> srcs;
    for (const auto& in : inputs) {
      if (in.pipe) owned.push_back(std::make_unique<test::StreamSource>(in.name, in.bytes, 7));
      else owned.push_back(std::make_unique<MemorySource>(in.name, in.bytes.data(), in.bytes.size()));
      srcs.push_back(owned.back().get());
    }
    MemorySink sink;
    ConvertResult result;
    std::optional<Errc> code;
    try {
      result = convert(opt, srcs, sink);
    } catch (const Error& e) {
      code = e.code();
    }
    std::string out(sink.data().begin(), sink.data().end());
    std::vector<std::string> diffs = test::check_conversion(expected, code, &result, &out);
    EXPECT_TRUE(diffs.empty()) << fmt::format("{}", fmt::join(diffs, "\n"));
    if (bytes) *bytes = out;
    return result;
  }
};

// Item 1: a key left out as expired is out of the collision picture on every path: the
// re-scan for unprefixed twins (one input, one db per application) and the full index.
TEST(TrustGaps, ExpiredKeysNeverCollide) {
  for (bool twin_first : {false, true}) {
    for (CollisionPolicy policy : {CollisionPolicy::kError, CollisionPolicy::kKeepFirst, CollisionPolicy::kKeepLast}) {
      for (bool prefixed_expires : {false, true}) {
        SCOPED_TRACE(fmt::format("twin first {}, policy {}, prefixed expires {}", twin_first, static_cast<int>(policy),
                                 prefixed_expires));
        RdbBuilder b("REDIS0010");
        auto plain = [&] { prefixed_expires ? b.string_key("x", "live") : b.expire_ms(1000).string_key("x", "old"); };
        auto prefixed = [&] {
          prefixed_expires ? b.expire_ms(1000).string_key("condo:x", "old") : b.string_key("condo:x", "live");
        };
        if (twin_first) { plain(); prefixed(); } else { prefixed(); plain(); }
        OracleCase c{{{"in.rdb", b.eof().bytes(), false}}, {}};
        c.opt.apps = {{0, "condo"}};
        c.opt.drop_expired_before = 2000;
        c.opt.on_collision = policy;
        std::string out;
        ConvertResult r = c.run(std::nullopt, &out);
        EXPECT_EQ(r.collisions, 0u);
        EXPECT_EQ(r.dbs.at(0).expired_dropped, 1u);
        EXPECT_EQ(image_of_bytes(out).dbs[0]["condo:x"].value, RdbBuilder("").str("live").bytes());
        // The same with every key remembered (two databases of one application).
        c.opt.apps[1] = "condo";
        c.run();
      }
    }
  }
}

// Item 2: a key whose output name is a guard joins the guard's "set max" in every mode
// (unmapped databases kept as they are, several inputs), so the guard is never written twice.
TEST(TrustGaps, TheGuardIsNeverDuplicated) {
  for (std::string value : {"5", "1", "abc"}) {
    for (bool unmapped_first : {false, true}) {
      RdbBuilder b("REDIS0010");
      auto mapped = [&] { b.select_db(0).string_key("x", "1"); };
      auto unmapped = [&] { b.select_db(3).string_key("condo:data_version", value); };
      if (unmapped_first) { unmapped(); mapped(); } else { mapped(); unmapped(); }
      OracleCase c{{{"in.rdb", b.eof().bytes(), false}}, {}};
      c.opt.apps = {{0, "condo"}};
      c.opt.unmapped = UnmappedPolicy::kKeep;
      std::string out;
      ConvertResult r = c.run(std::nullopt, &out);
      EXPECT_EQ(r.dbs.at(3).guard_sources, 1u);
      EXPECT_EQ(image_of_bytes(out).dbs[0]["condo:data_version"].value,
                RdbBuilder("").str(value == "5" ? "5" : "2").bytes());
      // A second input's guard-named key, a file or a pipe, does the same.
      c.inputs.push_back({"second.rdb", RdbBuilder("REDIS0010").string_key("data_version", "9").eof().bytes(), true});
      c.run();
      // Without guards, the two keys are an ordinary collision.
      c.inputs.pop_back();
      c.opt.data_version = 0;
      c.inputs[0].bytes = RdbBuilder("REDIS0010").select_db(0).string_key("data_version", "1")
                              .select_db(3).string_key("condo:data_version", value).eof().bytes();
      c.run(Errc::kCollision);
    }
  }
}

// Item 3: keys from an input read once (a pipe, stdin) are checked against every other input,
// file or pipe, in any order.
TEST(TrustGaps, CollisionsAcrossFilesAndPipes) {
  std::string a = RdbBuilder("REDIS0010").string_key("x", "from-a").string_key("only-a", "1").eof().bytes();
  std::string b = RdbBuilder("REDIS0010").string_key("y", "1").string_key("x", "from-b").eof().bytes();
  for (auto [pipe_a, pipe_b] : std::vector<std::pair<bool, bool>>{{false, true}, {true, false}, {true, true}}) {
    OracleCase c{{{"a.rdb", a, pipe_a}, {"b.rdb", b, pipe_b}}, {}};
    c.opt.apps = {{0, "condo"}};
    c.run(Errc::kCollision);
    // Prefixed in one, unprefixed in the other.
    c.inputs[1].bytes = RdbBuilder("REDIS0010").string_key("condo:x", "b").eof().bytes();
    c.run(Errc::kCollision);
    // No false report either.
    c.inputs[1].bytes = RdbBuilder("REDIS0010").string_key("condo:y", "b").string_key("z", "b").eof().bytes();
    c.run();
  }
  // The message names the file's key and the pipe.
  std::string msg;
  MemorySource fa("a.rdb", a.data(), a.size());
  test::StreamSource pb("<stdin>", b, 3);
  MemorySink sink;
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  try {
    convert(opt, {&fa, &pb}, sink);
    ADD_FAILURE() << "no collision found";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCollision);
    msg = e.what();
  }
  EXPECT_NE(msg.find("\"condo:x\": db 0 key \"x\" (a.rdb, byte "), std::string::npos) << msg;
  EXPECT_NE(msg.find("a key of db 0 in <stdin>"), std::string::npos) << msg;
}

// Item 4: keep-first and keep-last work for every order of a pair found by the re-scan and for
// chains of three keys with one name; the report names, for each left-out key, the key kept.
TEST(TrustGaps, KeepFirstAndKeepLastInEveryOrder) {
  const std::vector<std::pair<std::string, std::string>> twins = {{"x", "condo:x"}, {"bull:q:1", "{condo:bull:q}:1"}};
  for (const auto& [plain, prefixed] : twins) {
    for (bool plain_first : {false, true}) {
      for (CollisionPolicy policy : {CollisionPolicy::kKeepFirst, CollisionPolicy::kKeepLast}) {
        RdbBuilder b("REDIS0010");
        b.string_key("a", "1");
        if (plain_first) b.string_key(plain, "plain").string_key(prefixed, "prefixed");
        else b.string_key(prefixed, "prefixed").string_key(plain, "plain");
        OracleCase c{{{"in.rdb", b.eof().bytes(), false}}, {}};
        c.opt.apps = {{0, "condo"}};
        c.opt.on_collision = policy;
        ConvertResult r = c.run();
        ASSERT_EQ(r.collision_drops.size(), 1u);
        bool keep_plain = (policy == CollisionPolicy::kKeepFirst) == plain_first;
        EXPECT_NE(r.collision_drops[0].kept.find(keep_plain ? "key \"" + plain + "\"" : "key \"" + prefixed + "\""),
                  std::string::npos)
            << r.collision_drops[0].kept;
      }
    }
  }
  // Chains of three: one name from three places (two databases of one application, a kept
  // prefixed key), in every order of the databases.
  for (std::vector<uint64_t> order : {std::vector<uint64_t>{0, 1}, {1, 0}}) {
    for (CollisionPolicy policy : {CollisionPolicy::kKeepFirst, CollisionPolicy::kKeepLast}) {
      RdbBuilder b("REDIS0010");
      for (uint64_t db : order) {
        b.select_db(db);
        if (db == 0) b.string_key("x", "db0-plain").string_key("condo:x", "db0-prefixed");
        else b.string_key("x", "db1-plain");
      }
      OracleCase c{{{"in.rdb", b.eof().bytes(), false}}, {}};
      c.opt.apps = {{0, "condo"}, {1, "condo"}};
      c.opt.on_collision = policy;
      ConvertResult r = c.run();
      ASSERT_EQ(r.collision_drops.size(), 2u);
      EXPECT_EQ(r.collision_drops[0].kept, r.collision_drops[1].kept);  // one key kept for both
      // A third input with the same name lengthens the chain.
      c.inputs.push_back({"third.rdb", RdbBuilder("REDIS0010").string_key("condo:x", "third").eof().bytes(), false});
      r = c.run();
      EXPECT_EQ(r.collision_drops.size(), 3u);
    }
  }
}

// Item 12: any database number works whatever the input is (a pipe remembers every key), and
// an unmapped database above 65535 is simply left out under --unmapped drop.
TEST(TrustGaps, DatabaseNumbersAboveTheIndexRange) {
  std::string in = RdbBuilder("REDIS0010").select_db(0).string_key("x", "1").select_db(70000).string_key("y", "2")
                       .select_db(4000000000ULL).string_key("z", "3").eof().bytes();
  for (bool pipe : {false, true}) {
    OracleCase c{{{"in.rdb", in, pipe}}, {}};
    c.opt.apps = {{0, "condo"}};
    c.opt.unmapped = UnmappedPolicy::kDrop;
    c.run();
    c.opt.unmapped = UnmappedPolicy::kKeep;
    c.run();
    c.opt.apps[70000] = "app2";
    c.run();
  }
}

// Item 14: a dry run counts exactly the bytes the real output has (RESIZEDB included), for
// every output version and with a collision policy that converts twice.
TEST(TrustGaps, DryRunPredictsTheOutputSize) {
  for (std::string magic : {"REDIS0006", "REDIS0007", "REDIS0009", "REDIS0010", "REDIS0011"}) {
    std::string in = RdbBuilder(magic).string_key("x", "1").string_key("condo:x", "2").expire_ms(4102444800000)
                         .string_key("y", std::string(100000, 'v')).eof().bytes();
    for (CollisionPolicy policy : {CollisionPolicy::kKeepFirst, CollisionPolicy::kKeepLast}) {
      ConvertOptions opt;
      opt.apps = {{0, "condo"}};
      opt.on_collision = policy;
      MemorySource a("in.rdb", in.data(), in.size()), b("in.rdb", in.data(), in.size());
      MemorySink real;
      NullSink dry;
      ConvertResult r1 = convert(opt, {&a}, real);
      ConvertResult r2 = convert(opt, {&b}, dry);
      EXPECT_EQ(r1.output_bytes, real.data().size()) << magic;
      EXPECT_EQ(r2.output_bytes, r1.output_bytes) << magic;
    }
  }
}

// Item 13: every key read is counted once, in one place: the totals add up to the output.
TEST(TrustGaps, EveryKeyIsCountedOnce) {
  std::string in = RdbBuilder("REDIS0010").select_db(0).string_key("x", "1").string_key("condo:x", "2")
                       .expire_ms(1000).string_key("old", "3").string_key("data_version", "7")
                       .select_db(5).string_key("u", "4").eof().bytes();
  OracleCase c{{{"in.rdb", in, false}}, {}};
  c.opt.apps = {{0, "condo"}};
  c.opt.unmapped = UnmappedPolicy::kDrop;
  c.opt.drop_expired_before = 2000;
  c.opt.on_collision = CollisionPolicy::kKeepLast;
  ConvertResult r = c.run();
  DbStats t = r.totals();
  EXPECT_EQ(t.keys_read, 5u);
  EXPECT_EQ(t.written(), 1u);
  EXPECT_EQ(t.collision_dropped, 1u);
  EXPECT_EQ(t.expired_dropped, 1u);
  EXPECT_EQ(t.unmapped_dropped, 1u);
  EXPECT_EQ(t.guard_sources, 1u);
  EXPECT_EQ(t.dropped(), 3u);
  EXPECT_EQ(r.keys_written, t.written() + r.guards.size());
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

// ---- several backups into one: a mapping per input ----------------------------------------------

std::string host_dump(std::string_view redis_ver, std::initializer_list<std::pair<uint64_t, std::string_view>> keys) {
  RdbBuilder b;
  b.aux("redis-ver", redis_ver);
  uint64_t db = ~uint64_t{0};
  for (const auto& [d, k] : keys) {
    if (d != db) b.select_db(db = d);
    b.string_key(k, std::string("from ") + std::string(redis_ver));
  }
  return b.eof().bytes();
}

TEST(MergedInputs, EachInputHasItsOwnDatabaseMapping) {
  std::string a = host_dump("7.0.1", {{0, "x"}, {1, "y"}});
  std::string b = host_dump("6.2.9", {{0, "x"}, {3, "bull:q:1"}});
  ConvertOptions opt;
  opt.input_apps = {{DbId{0, 0}, "@app/condo"}, {DbId{0, 1}, "@app/resident-app"}, {DbId{1, 0}, "billing"},
                    {DbId{1, 3}, "condo"}};
  Converted c = convert_bytes(opt, {a, b});
  FileImage img = image_of_bytes(c.bytes);
  const auto& keys = img.dbs.at(0);
  EXPECT_EQ(keys.at("condo:x").value.substr(1), "from 7.0.1");
  EXPECT_EQ(keys.at("resident_app:y").value.substr(1), "from 7.0.1");
  EXPECT_EQ(keys.at("billing:x").value.substr(1), "from 6.2.9");
  EXPECT_TRUE(keys.count("{condo:bull:q}:1"));
  // One guard per application, however many inputs feed it.
  EXPECT_TRUE(keys.count("condo:data_version") && keys.count("billing:data_version") &&
              keys.count("resident_app:data_version"));
  EXPECT_EQ(keys.size(), 4u + 3u);
  // Statistics per input and database.
  EXPECT_EQ(c.result.dbs.at(DbId{1, 0}).prefix, "billing");
  EXPECT_EQ(c.result.dbs.at(DbId{0, 0}).prefix, "condo");
  EXPECT_EQ(c.result.dbs.at(DbId{1, 3}).hashtagged, 1u);
}

TEST(MergedInputs, AMappingForEveryInputAndOneForAnInputMayNotMeet) {
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  opt.input_apps = {{DbId{1, 0}, "billing"}};
  std::string a = host_dump("7.0.1", {{0, "x"}});
  EXPECT_EQ(convert_error(opt, {a, a}), Errc::kBadOption);
}

TEST(MergedInputs, AMappingForAnInputThatIsNotThereIsRefused) {
  ConvertOptions opt;
  opt.input_apps = {{DbId{2, 0}, "billing"}};
  std::string a = host_dump("7.0.1", {{0, "x"}});
  EXPECT_EQ(convert_error(opt, {a, a}), Errc::kBadOption);
}

TEST(MergedInputs, CollisionsAcrossInputsAreFoundExactly) {
  // condo's keys come from db 0 of the first host and db 5 of the second: both hold "x".
  std::string a = host_dump("7.0.1", {{0, "x"}, {0, "only-a"}});
  std::string b = host_dump("7.0.2", {{5, "x"}, {5, "only-b"}});
  ConvertOptions opt;
  opt.input_apps = {{DbId{0, 0}, "condo"}, {DbId{1, 5}, "condo"}};
  std::string msg;
  EXPECT_EQ(convert_error(opt, {a, b}, &msg), Errc::kCollision);
  EXPECT_NE(msg.find("\"x\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("in0.rdb"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in1.rdb"), std::string::npos) << msg;
  opt.on_collision = CollisionPolicy::kKeepLast;
  Converted c = convert_bytes(opt, {a, b});
  FileImage img = image_of_bytes(c.bytes);
  EXPECT_EQ(img.dbs.at(0).at("condo:x").value.substr(1), "from 7.0.2");
  EXPECT_EQ(img.duplicates, 0u);
  EXPECT_EQ(c.result.dbs.at(DbId{0, 0}).collision_dropped, 1u);
}

TEST(MergedInputs, AuxFieldsComeFromTheNamedInput) {
  std::string a = host_dump("7.0.1", {{0, "x"}});
  std::string b = host_dump("6.2.9", {{0, "y"}});
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  for (uint32_t from : {0u, 1u}) {
    opt.aux_from = from;
    Converted c = convert_bytes(opt, {a, b});
    FileImage img = image_of_bytes(c.bytes);
    // The output holds the AUX fields of one input only: redis-ver of that one.
    std::string bytes = c.bytes;
    EXPECT_NE(bytes.find(from == 0 ? "7.0.1" : "6.2.9"), std::string::npos);
    size_t with_ver = 0;
    for (const auto& field : img.aux) with_ver += field == "redis-ver";
    EXPECT_EQ(with_ver, 1u);
    EXPECT_EQ(c.result.aux_kept, 1u);
    EXPECT_EQ(c.result.aux_dropped, 1u);
  }
  opt.aux_from = 2;
  EXPECT_EQ(convert_error(opt, {a, b}), Errc::kBadOption);
}

TEST(MergedInputs, AnUnmappedDatabaseIsNamedWithItsInput) {
  std::string a = host_dump("7.0.1", {{0, "x"}});
  std::string b = host_dump("7.0.1", {{0, "x"}, {4, "z"}});
  ConvertOptions opt;
  opt.input_apps = {{DbId{0, 0}, "condo"}, {DbId{1, 0}, "billing"}};
  std::string msg;
  EXPECT_EQ(convert_error(opt, {a, b}, &msg), Errc::kUnmappedDatabase);
  EXPECT_NE(msg.find("db 4 of in1.rdb"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-a in1.rdb:4=APP"), std::string::npos) << msg;
}

}  // namespace
}  // namespace rdbrekey
