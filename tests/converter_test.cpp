#include "rdbrekey/converter.h"

#include <gtest/gtest.h>

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

namespace rdbrekey {
namespace {

using test::RdbBuilder;

// One key of a file as read back: where it lives, its prefix opcodes and its value's bytes.
struct KeyImage {
  uint8_t type = 0;
  bool has_expire = false;
  int64_t expire_ms = 0;
  std::string value;
  bool operator==(const KeyImage&) const = default;
};

struct FileImage {
  RdbVersion version;
  std::map<uint64_t, std::map<std::string, KeyImage>> dbs;
  std::vector<std::string> aux;
  int functions = 0, module_aux = 0;
};

FileImage image_of(ByteSource& src) {
  RecordScanner sc(src);
  FileImage img;
  img.version = sc.read_header();
  Record r;
  while (sc.next(r)) {
    if (r.kind == RecordKind::kAux) img.aux.emplace_back(r.key);
    if (r.kind == RecordKind::kFunction) ++img.functions;
    if (r.kind == RecordKind::kModuleAux) ++img.module_aux;
    if (r.kind != RecordKind::kKey) continue;
    MemorySink value;
    KeyImage k{r.opcode, r.prefix.has_expire, r.prefix.expire_ms, {}};
    std::string key(r.key);
    sc.copy_payload(value);
    value.finalize();
    k.value.assign(value.data().begin(), value.data().end());
    EXPECT_TRUE(img.dbs[sc.current_db()].emplace(key, k).second) << "duplicate key " << key;
  }
  return img;
}

FileImage image_of_bytes(const std::string& bytes) {
  MemorySource src("out", bytes.data(), bytes.size());
  return image_of(src);
}

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

ExitCode convert_error(const ConvertOptions& opt, const std::vector<std::string>& inputs, std::string* msg = nullptr) {
  try {
    convert_bytes(opt, inputs);
  } catch (const Error& e) {
    if (msg) *msg = e.what();
    return e.code();
  }
  return ExitCode::kOk;
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
  EXPECT_EQ(convert_error(condo_options(), {in}, &msg), ExitCode::kRefused);
  EXPECT_NE(msg.find("db 3: 2 keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("db 7: 1 key"), std::string::npos) << msg;
  ConvertOptions drop = condo_options();
  drop.unmapped = UnmappedPolicy::kDrop;
  Converted c = convert_bytes(drop, {in});
  EXPECT_EQ(c.result.dbs.at(3).dropped, 2u);
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
  EXPECT_EQ(convert_error(opt, {in}, &msg), ExitCode::kRefused);
  EXPECT_NE(msg.find("\"hash-hfe\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("db 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--rdb-version 12"), std::string::npos) << msg;
  opt.target = RdbVersion{RdbFamily::kRedis, 12};
  EXPECT_EQ(convert_error(opt, {in}), ExitCode::kOk);
  // A Valkey 9 field-TTL hash cannot go to a REDIS file.
  std::string valkey = test::read_file(test::shared_fixture("HDT3213_rdb/cases_valkey_hash2_with_hfe.rdb"));
  opt.target = RdbVersion{RdbFamily::kRedis, 11};
  EXPECT_EQ(convert_error(opt, {valkey}, &msg), ExitCode::kRefused);
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
  EXPECT_EQ(convert_error(opt, {in}), ExitCode::kUsage);
  opt = condo_options();
  opt.apps[2] = "@app/";
  EXPECT_EQ(convert_error(opt, {in}), ExitCode::kUsage);
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

using test::RdbBuilder;

std::string collision_message(const ConvertOptions& opt, const std::vector<std::string>& inputs) {
  std::string msg;
  EXPECT_EQ(convert_error(opt, inputs, &msg), ExitCode::kRefused);
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
  FileSource src(fifo);
  MemorySink sink;
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  try {
    convert(opt, {&src}, sink);
    ADD_FAILURE() << "collision not found";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kRefused);
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
  EXPECT_EQ(convert_error(opt, {in}), ExitCode::kRefused);
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
    ExitCode c = convert_error(opt, {data.substr(0, cut)});
    ASSERT_EQ(c, ExitCode::kCorrupt) << "cut at " << cut;
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
      EXPECT_NE(e.code(), ExitCode::kInternal) << e.what();
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
