#include "rdbrekey/shard_output.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/format.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/verifier.h"
#include "support/rdb_builder.h"
#include "support/rdb_image.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

// Sinks in memory, one per primary, and the sharded output over them.
struct Shards {
  ClusterTopology topology;
  std::vector<std::unique_ptr<MemorySink>> sinks;
  std::unique_ptr<ShardedOutput> out;

  explicit Shards(ClusterTopology t, std::vector<std::string> families = {"bull"}) : topology(std::move(t)) {
    std::vector<ByteSink*> ptrs;
    for (size_t i = 0; i < topology.primaries.size(); ++i) {
      sinks.push_back(std::make_unique<MemorySink>());
      ptrs.push_back(sinks.back().get());
    }
    out = std::make_unique<ShardedOutput>(topology, ptrs, std::move(families));
  }
  std::string file(size_t i) const {
    return std::string(reinterpret_cast<const char*>(sinks[i]->data().data()), sinks[i]->data().size());
  }
};

ConvertResult convert_into(Shards& shards, const std::string& rdb, std::map<uint64_t, std::string> apps) {
  MemorySource src("in.rdb", reinterpret_cast<const uint8_t*>(rdb.data()), rdb.size());
  ConvertOptions opt;
  opt.apps = std::move(apps);
  ConvertResult r = convert(opt, {&src}, *shards.out);
  shards.out->prepare();
  shards.out->commit();
  return r;
}

// An input with plain keys, Bull queue keys, keys already prefixed, a TTL and a function library.
std::string sample_input() {
  RdbBuilder b;
  b.aux("redis-ver", "7.2.4").byte(rdb::kOpFunction2).str("#!lua name=lib\nredis.register_function('f', function() return 1 end)");
  b.select_db(0);
  for (int i = 0; i < 300; ++i) b.string_key("key" + std::to_string(i), "v" + std::to_string(i));
  b.expire_ms(4102444800000).string_key("with-ttl", "x");
  for (const char* k : {"bull:emails:1", "bull:emails:2", "bull:emails:wait", "bull:emails:id", "bull:sms:1"})
    b.string_key(k, "job");
  b.string_key("{condo:bull:emails}:3", "job");  // already under the prefix, with the hashtag
  b.string_key("condo:bull:push:1", "job");      // already prefixed, without it
  b.string_key("condo:bull:push:2", "job");
  b.string_key("condo:bull:push:3", "job");
  b.select_db(1).string_key("user:1", "u");
  return b.eof().bytes();
}

TEST(ShardedOutput, EveryKeyLandsInTheFileOfItsSlotOwnerAndNowhereElse) {
  Shards shards(even_split_topology(3));
  ConvertResult r = convert_into(shards, sample_input(), {{0, "@app/condo"}, {1, "billing"}});
  std::set<std::string> seen;
  uint64_t total = 0;
  for (size_t i = 0; i < 3; ++i) {
    test::FileImage img = test::image_of_bytes(shards.file(i));
    ASSERT_EQ(img.dbs.size(), 1u);
    ASSERT_TRUE(img.dbs.count(0));
    EXPECT_EQ(img.duplicates, 0u);
    for (const auto& [name, k] : img.dbs.at(0)) {
      EXPECT_EQ(shards.topology.owner[key_hash_slot(name)], i) << name;
      EXPECT_TRUE(seen.insert(name).second) << name << " in two files";
    }
    EXPECT_EQ(img.dbs.at(0).size(), shards.out->file(i).keys_written());
    total += img.dbs.at(0).size();
    // Each file stands alone: its CRC and RESIZEDB counts are its own.
    std::string bytes = shards.file(i);
    MemorySource again("shard", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    VerifyResult v = verify(again, VerifyOptions{true});
    EXPECT_EQ(v.keys, img.dbs.at(0).size());
  }
  EXPECT_EQ(total, r.keys_written);
  EXPECT_EQ(total, 300u + 1 + 5 + 4 + 1 + 2);  // + two guards
  EXPECT_TRUE(seen.count("condo:key7"));
  EXPECT_TRUE(seen.count("{condo:bull:emails}:wait"));
  EXPECT_TRUE(seen.count("billing:user:1"));
  EXPECT_TRUE(seen.count("condo:data_version"));
  EXPECT_TRUE(seen.count("billing:data_version"));
}

TEST(ShardedOutput, CountsPerSlotAddUpToTheFiles) {
  Shards shards(even_split_topology(4));
  convert_into(shards, sample_input(), {{0, "condo"}, {1, "billing"}});
  const auto& per_slot = shards.out->keys_per_slot();
  ASSERT_EQ(per_slot.size(), static_cast<size_t>(kClusterSlots));
  std::vector<uint64_t> by_file(4, 0);
  for (int s = 0; s < kClusterSlots; ++s) by_file[shards.topology.owner[s]] += per_slot[s];
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(by_file[i], shards.out->file(i).keys_written()) << i;
  EXPECT_EQ(shards.out->file(0).keys_with_ttl() + shards.out->file(1).keys_with_ttl() +
                shards.out->file(2).keys_with_ttl() + shards.out->file(3).keys_with_ttl(),
            1u);
}

TEST(ShardedOutput, FunctionsAndAuxGoToEveryFile) {
  Shards shards(even_split_topology(3));
  convert_into(shards, sample_input(), {{0, "condo"}, {1, "billing"}});
  for (size_t i = 0; i < 3; ++i) {
    test::FileImage img = test::image_of_bytes(shards.file(i));
    EXPECT_EQ(img.functions, 1) << i;
    EXPECT_NE(std::find(img.aux.begin(), img.aux.end(), "redis-ver"), img.aux.end()) << i;
  }
}

TEST(ShardedOutput, GuardsAreRoutedBySlotAndRecorded) {
  Shards shards(even_split_topology(3));
  convert_into(shards, sample_input(), {{0, "condo"}, {1, "billing"}});
  const auto& placed = shards.out->placed_string_keys();
  ASSERT_EQ(placed.size(), 2u);
  for (const auto& g : placed) {
    EXPECT_EQ(g.slot, key_hash_slot(g.key));
    EXPECT_EQ(g.file, shards.topology.owner[g.slot]);
    test::FileImage img = test::image_of_bytes(shards.file(g.file));
    EXPECT_TRUE(img.dbs.at(0).count(g.key)) << g.key;
  }
}

TEST(ShardedOutput, QueuesWithTheHashtagStayInOneSlotOthersAreReported) {
  Shards shards(even_split_topology(3));
  convert_into(shards, sample_input(), {{0, "condo"}, {1, "billing"}});
  const auto& q = shards.out->queues().queues();
  ASSERT_TRUE(q.count("condo:bull:emails"));
  EXPECT_EQ(q.at("condo:bull:emails").keys, 5u);  // four renamed + one already under the hashtag
  EXPECT_EQ(q.at("condo:bull:emails").slots, std::set<uint16_t>{key_hash_slot("{condo:bull:emails}")});
  EXPECT_TRUE(q.at("condo:bull:emails").hashtagged);
  ASSERT_TRUE(q.count("condo:bull:sms"));
  EXPECT_EQ(q.at("condo:bull:sms").keys, 1u);
  ASSERT_TRUE(q.count("condo:bull:push"));
  EXPECT_EQ(q.at("condo:bull:push").keys, 3u);
  EXPECT_FALSE(q.at("condo:bull:push").hashtagged);
  std::set<uint16_t> want{key_hash_slot("condo:bull:push:1"), key_hash_slot("condo:bull:push:2"),
                          key_hash_slot("condo:bull:push:3")};
  EXPECT_EQ(q.at("condo:bull:push").slots, want);
  EXPECT_EQ(q.size(), 3u);  // nothing else looks like a queue
}

TEST(ShardedOutput, QueueTallyReadsOnlyQueueShapedNames) {
  QueueTally t({"bull", "bee"});
  t.observe("{a:bull:q}:1", 1, 0);
  t.observe("{a:bull:q}", 1, 0);       // the hashtag alone
  t.observe("a:bee:r:1", 2, 1);
  t.observe("a:bee:r", 3, 1);          // no rest: not a queue key
  t.observe("a:bull", 4, 1);
  t.observe("{a:other:q}:1", 5, 0);
  t.observe("{}", 6, 0);
  t.observe("{a:bull:}:1", 7, 0);      // empty queue name
  t.observe(":bull:q:1", 8, 0);        // empty prefix
  t.observe("{a:bull:q", 9, 0);        // no closing brace
  ASSERT_EQ(t.queues().size(), 2u);
  EXPECT_EQ(t.queues().at("a:bull:q").keys, 2u);
  EXPECT_EQ(t.queues().at("a:bee:r").keys, 1u);
}

// Queue names with braces in them: the hashtag is cut at the first '}', wherever it falls, and the
// key goes where CLUSTER KEYSLOT would send the name as written.
TEST(ShardedOutput, QueueNamesWithBracesGoWhereTheirNameSays) {
  RdbBuilder b;
  b.select_db(0);
  const std::vector<std::string> keys = {"bull:we}ird:1", "bull:we{ird:1", "bull:}:1", "bull:{x}:1", "bull:q}:wait",
                                         "bull:plain:1", "bull:plain"};
  for (const auto& k : keys) b.string_key(k, "job");
  Shards shards(even_split_topology(5));
  convert_into(shards, b.eof().bytes(), {{0, "condo"}});
  std::map<std::string, size_t> where;
  for (size_t i = 0; i < 5; ++i) {
    test::FileImage img = test::image_of_bytes(shards.file(i));
    for (const auto& [name, k] : img.dbs[0]) where[name] = i;
  }
  for (const auto& k : keys) {
    std::string renamed = "{condo:bull:" + k.substr(5, k.find(':', 5) == std::string::npos ? std::string::npos : k.find(':', 5) - 5) +
                          "}" + (k.find(':', 5) == std::string::npos ? "" : k.substr(k.find(':', 5)));
    ASSERT_TRUE(where.count(renamed)) << renamed;
    EXPECT_EQ(where[renamed], shards.topology.owner[key_hash_slot(renamed)]) << renamed;
  }
  const auto& q = shards.out->queues().queues();
  ASSERT_TRUE(q.count("condo:bull:plain"));
  EXPECT_EQ(q.at("condo:bull:plain").keys, 2u);
  EXPECT_TRUE(q.at("condo:bull:plain").hashtagged);
  EXPECT_EQ(q.at("condo:bull:plain").slots, std::set<uint16_t>{key_hash_slot("condo:bull:plain")});
}

// The owner of a slot, by runs or by table, is the topology's, for a few runs and for many.
TEST(SlotOwners, EqualTheTopologysOwnerForAnyNumberOfRuns) {
  std::mt19937 rng(3);
  for (int runs : {1, 2, 3, 15, 16, 17, 40, 500}) {
    std::vector<uint16_t> owner(kClusterSlots);
    std::vector<int> cuts;
    for (int i = 1; i < runs; ++i) cuts.push_back(static_cast<int>(rng() % (kClusterSlots - 1)) + 1);
    std::sort(cuts.begin(), cuts.end());
    uint16_t file = 0;
    size_t c = 0;
    for (int slot = 0; slot < kClusterSlots; ++slot) {
      while (c < cuts.size() && cuts[c] == slot) {
        file = static_cast<uint16_t>((file + 1 + rng() % 3) % 7);  // a primary may own several runs
        ++c;
      }
      owner[slot] = file;
    }
    SlotOwners owners(owner);
    for (int slot = 0; slot < kClusterSlots; ++slot) ASSERT_EQ(owners(static_cast<uint16_t>(slot)), owner[slot]) << runs << " " << slot;
  }
  EXPECT_THROW(SlotOwners(std::vector<uint16_t>(10)), Error);
}

// key() takes a source key's CRC (source_key) only for the one name made of it: the files are
// byte for byte those made without source_key() at all, with the prefix changing from key to
// key, keys with braces, an empty key, keys longer than the prefix table, queue keys and kept
// names; and a buffer reused for the next key without a new source_key() is not mistaken for
// the old one.
TEST(ShardedOutput, TheSourceKeysCrcServesOnlyItsOwnName) {
  const KeyRenamer condo("condo", {"bull"}), billing("billing", {"bull"});
  std::vector<std::string> keys = {"a", "", "user:1", "sess:0123456789abcdef0123456789abcdef", std::string(511, 'k'),
                                   std::string(512, 'k'), std::string(900, 'z'), "has{brace}", "has}only", "bull:q:1",
                                   "condo:kept", "{condo:bull:q}:2", "bull:q:wait", std::string("\xff\x00" "bin", 5)};
  for (int i = 0; i < 200; ++i) keys.push_back("key:" + std::to_string(i * 7919));
  const std::string value = "\x01v";  // a string value "v" as the file holds it
  auto run = [&](bool announce, bool reuse) {
    Shards shards(even_split_topology(3));
    shards.out->begin(RdbVersion{RdbFamily::kRedis, 11});
    std::string reused;
    for (size_t i = 0; i < keys.size(); ++i) {
      std::string_view key = keys[i];
      if (reuse) {  // every key in one buffer, announced only every other time
        reused.assign(keys[i]);
        key = reused;
      }
      if (announce && (!reuse || i % 2 == 0)) shards.out->source_key(key);
      const KeyRenamer& renamer = i % 3 == 2 ? billing : condo;
      RenamedKey name = renamer.rename(key);
      Payload payload(value);
      shards.out->key(KeyPrefix{}, rdb::kTypeString, name, payload);
    }
    shards.out->end();
    shards.out->prepare();
    std::vector<std::string> files;
    for (size_t f = 0; f < 3; ++f) files.push_back(shards.file(f));
    return files;
  };
  const std::vector<std::string> plain = run(false, false);
  EXPECT_EQ(run(true, false), plain);
  EXPECT_EQ(run(true, true), plain);
  // And each name is in the file of its slot.
  Shards reference(even_split_topology(3));
  size_t found = 0;
  for (size_t f = 0; f < 3; ++f) {
    test::FileImage img = test::image_of_bytes(plain[f]);
    for (const auto& [name, k] : img.dbs[0]) {
      EXPECT_EQ(reference.topology.owner[key_hash_slot(name)], f) << name;
      ++found;
    }
  }
  EXPECT_EQ(found, keys.size());
}

// Queues whose keys come mixed together (a dump lists keys in its server's hash order) are
// counted apart, each with the slots and files its keys went to.
TEST(QueueTally, QueuesMixedTogetherAreCountedApart) {
  QueueTally t({"bull"});
  for (int round = 0; round < 50; ++round) {
    t.observe_tagged("a:bull:", "emails", 7, 0);
    t.observe_tagged("a:bull:", "sms", 9, 1);
    t.observe("a:bull:push:" + std::to_string(round), static_cast<uint16_t>(round % 2 ? 100 : 200), round % 2);
    t.observe_tagged("b:bull:", "emails", 11, 2);
    t.observe_tagged("a:bull:", "emails", 7, 0);
  }
  const auto& q = t.queues();
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q.at("a:bull:emails").keys, 100u);
  EXPECT_EQ(q.at("a:bull:emails").slots, std::set<uint16_t>{7});
  EXPECT_EQ(q.at("a:bull:emails").files, std::set<uint32_t>{0});
  EXPECT_EQ(q.at("a:bull:sms").keys, 50u);
  EXPECT_EQ(q.at("b:bull:emails").files, std::set<uint32_t>{2});
  EXPECT_EQ(q.at("a:bull:push").keys, 50u);
  EXPECT_FALSE(q.at("a:bull:push").hashtagged);
  EXPECT_EQ(q.at("a:bull:push").slots, (std::set<uint16_t>{100, 200}));
  EXPECT_EQ(q.at("a:bull:push").files, (std::set<uint32_t>{0, 1}));
  // A queue name longer than the stack buffer is found again too.
  const std::string long_queue(400, 'q');
  t.observe_tagged("a:bull:", long_queue, 1, 0);
  t.observe_tagged("a:bull:", "sms", 9, 1);
  t.observe_tagged("a:bull:", long_queue, 1, 0);
  EXPECT_EQ(q.at("a:bull:" + long_queue).keys, 2u);
}

// Keys of two applications, and the queue keys of one, in turns: each counted for its own.
TEST(AppTally, NamesOfApplicationsInTurnsAreCountedForEach) {
  const KeyRenamer condo("condo", {"bull"}), billing("billing", {"bull"}), other("other", {"bull"});
  AppTally apps({"billing", "condo"}, 2);
  for (int i = 0; i < 30; ++i) {
    apps.observe(condo.rename("k" + std::to_string(i)), 0);
    apps.observe(condo.rename("bull:q:" + std::to_string(i)), 1);
    apps.observe(billing.rename("k"), 1);
    apps.observe(other.rename("k"), 0);              // not one of the applications
    apps.observe(RenamedKey::of("condo:kept"), 1);   // a name kept as it is
  }
  EXPECT_EQ(apps.keys(1, 0), 30u);
  EXPECT_EQ(apps.keys(1, 1), 60u);
  EXPECT_EQ(apps.keys(0, 1), 30u);
  EXPECT_EQ(apps.keys(0, 0), 0u);
}

TEST(ShardedOutput, ATopologyWithOnePrimaryGetsEverything) {
  Shards shards(even_split_topology(1));
  ConvertResult r = convert_into(shards, sample_input(), {{0, "condo"}, {1, "billing"}});
  EXPECT_EQ(shards.out->file(0).keys_written(), r.keys_written);
}

TEST(ShardedOutput, APrimaryWithoutSlotsGetsAValidEmptyFile) {
  ClusterTopology t = even_split_topology(2);
  t.primaries.push_back(ClusterPrimary{"f00d", "10.0.0.9", 7009, {}});
  Shards shards(t);
  convert_into(shards, sample_input(), {{0, "condo"}, {1, "billing"}});
  EXPECT_EQ(shards.out->file(2).keys_written(), 0u);
  test::FileImage img = test::image_of_bytes(shards.file(2));
  EXPECT_TRUE(img.dbs.empty() || img.dbs.at(0).empty());
  EXPECT_EQ(img.functions, 1);
}

// A sink whose commit fails (a rename refused): the files committed before it are withdrawn.
class CommitLog final : public ByteSink {
 public:
  CommitLog(std::vector<std::string>& log, std::string name, bool fail)
      : ByteSink(4096), log_(log), name_(std::move(name)), fail_(fail) {}
  void commit() override {
    if (fail_) throw Error(Errc::kWriteFailed, name_ + ": rename failed");
    log_.push_back("commit " + name_);
  }
  void uncommit() noexcept override { log_.push_back("uncommit " + name_); }
  void cancel() noexcept override { log_.push_back("cancel " + name_); }

 protected:
  void write_out(const uint8_t*, size_t) override {}

 private:
  std::vector<std::string>& log_;
  std::string name_;
  bool fail_;
};

TEST(ShardedOutput, FilesAreCommittedAllOrNone) {
  std::vector<std::string> log;
  CommitLog a(log, "a", false), b(log, "b", false), c(log, "c", true);
  ClusterTopology t = even_split_topology(3);
  ShardedOutput out(t, {&a, &b, &c}, {"bull"});
  std::string rdb = RdbBuilder().select_db(0).string_key("x", "1").eof().bytes();
  MemorySource src("in.rdb", reinterpret_cast<const uint8_t*>(rdb.data()), rdb.size());
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  convert(opt, {&src}, out);
  out.prepare();
  try {
    out.commit();
    FAIL() << "commit should fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kWriteFailed);
  }
  out.cancel();
  EXPECT_EQ(log, (std::vector<std::string>{"commit a", "commit b", "uncommit a", "uncommit b", "cancel a", "cancel b",
                                           "cancel c"}));
}

TEST(ShardFileNames, SayWhichPrimary) {
  ClusterTopology t = even_split_topology(3);
  EXPECT_EQ(shard_file_names(t), (std::vector<std::string>{"shard-1-of-3.rdb", "shard-2-of-3.rdb", "shard-3-of-3.rdb"}));
  t.primaries[0].host = "10.0.0.1";
  t.primaries[0].port = 6379;
  t.primaries[1].host = "::1";
  t.primaries[1].port = 7001;
  t.primaries[2].id = "0123456789abcdef0123456789abcdef01234567";
  EXPECT_EQ(shard_file_names(t), (std::vector<std::string>{"shard-1-10.0.0.1-6379.rdb", "shard-2-__1-7001.rdb",
                                                           "shard-3-0123456789ab.rdb"}));
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

TEST(ShardedOutput, CountsEachApplicationsKeysPerFile) {
  ClusterTopology t = even_split_topology(3);
  std::vector<std::unique_ptr<MemorySink>> sinks;
  std::vector<ByteSink*> ptrs;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(std::make_unique<MemorySink>());
    ptrs.push_back(sinks.back().get());
  }
  ShardedOutput out(t, ptrs, {"bull"}, {"billing", "condo"});
  std::string rdb = sample_input();
  MemorySource src("in.rdb", reinterpret_cast<const uint8_t*>(rdb.data()), rdb.size());
  ConvertOptions opt;
  opt.apps = {{0, "condo"}, {1, "billing"}};
  convert(opt, {&src}, out);
  out.prepare();
  const AppTally& apps = out.apps();
  ASSERT_EQ(apps.prefixes(), (std::vector<std::string>{"billing", "condo"}));
  std::vector<uint64_t> condo(3, 0), billing(3, 0);
  for (size_t f = 0; f < 3; ++f) {
    std::string bytes(reinterpret_cast<const char*>(sinks[f]->data().data()), sinks[f]->data().size());
    test::FileImage img = test::image_of_bytes(bytes);
    if (!img.dbs.count(0)) continue;
    for (const auto& [name, k] : img.dbs.at(0)) {
      if (name.ends_with(":data_version")) continue;  // guards are not counted
      bool is_condo = name.starts_with("condo:") || name.starts_with("{condo:");
      ++(is_condo ? condo : billing)[f];
    }
  }
  for (size_t f = 0; f < 3; ++f) {
    EXPECT_EQ(apps.keys(1, f), condo[f]) << f;
    EXPECT_EQ(apps.keys(0, f), billing[f]) << f;
  }
  EXPECT_EQ(condo[0] + condo[1] + condo[2], 300u + 1 + 5 + 4);
}

}  // namespace
}  // namespace rdbrekey
