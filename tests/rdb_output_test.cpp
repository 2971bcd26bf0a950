#include "rdbrekey/rdb_output.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rdbrekey/converter.h"
#include "rdbrekey/verifier.h"
#include "support/rdb_builder.h"
#include "support/rdb_image.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

// An output that records what it is fed, the way a shard router or a live-server output would
// see it: the conversion loop needs nothing else from an output.
class RecordingOutput final : public Output {
 public:
  explicit RecordingOutput(bool discardable) : discardable_(discardable) {}
  std::vector<std::string> calls;

  void begin(RdbVersion v) override { calls.push_back("begin " + v.magic()); }
  void aux(std::string_view f, std::string_view) override { calls.push_back("aux " + std::string(f)); }
  void function(Payload& p) override {
    p.skip();
    calls.push_back("function");
  }
  void module_aux(Payload& p) override {
    p.skip();
    calls.push_back("module_aux");
  }
  void key(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name, Payload& value) override {
    MemorySink bytes;
    value.copy_to(bytes);
    bytes.finalize();
    calls.push_back("key " + name.str() + " type " + std::to_string(type) + (prefix.has_expire ? " ttl" : "") +
                    " value " + std::to_string(bytes.data().size()) + "B");
    ++keys_;
  }
  void string_key(std::string_view name, std::string_view value) override {
    calls.push_back("string_key " + std::string(name) + "=" + std::string(value));
    ++keys_;
  }
  void end() override { calls.push_back("end"); }
  bool discardable() const override { return discardable_; }
  uint64_t keys_written() const override { return keys_; }
  uint64_t bytes_written() const override { return 0; }
  void prepare() override { calls.push_back("prepare"); }
  void commit() override { calls.push_back("commit"); }
  void uncommit() noexcept override {}
  void cancel() noexcept override { calls.push_back("cancel"); }

 private:
  bool discardable_;
  uint64_t keys_ = 0;
};

std::string dump() {
  return RdbBuilder("REDIS0010")
      .aux("redis-ver", "7.0.15")
      .aux("repl-id", "x")
      .select_db(0)
      .string_key("a", "1")
      .expire_ms(4102444800000)
      .string_key("bull:q:1", "job")
      .select_db(1)
      .string_key("b", "2")
      .eof()
      .bytes();
}

ConvertOptions options() {
  ConvertOptions opt;
  opt.apps = {{0, "condo"}, {1, "app2"}};
  return opt;
}

TEST(Outputs, RecordsArriveInOrder) {
  std::string in = dump();
  MemorySource src("in.rdb", in.data(), in.size());
  RecordingOutput out(true);
  ConvertResult r = convert(options(), {&src}, out);
  EXPECT_EQ(out.calls, (std::vector<std::string>{"begin REDIS0010", "aux redis-ver", "key condo:a type 0 value 2B",
                                                 "key {condo:bull:q}:1 type 0 ttl value 4B",
                                                 "key app2:b type 0 value 2B", "string_key condo:data_version=2",
                                                 "string_key app2:data_version=2", "end"}));
  EXPECT_EQ(r.keys_written, 5u);
}

// An output that cannot be thrown away (a live server) receives nothing until every collision is
// decided: a first pass only decides, and the output sees one clean pass.
TEST(Outputs, AnOutputThatCannotBeDiscardedSeesOnlyTheDecidedPass) {
  std::string in = RdbBuilder("REDIS0010").string_key("x", "1").string_key("condo:x", "2").eof().bytes();
  for (CollisionPolicy policy : {CollisionPolicy::kKeepFirst, CollisionPolicy::kKeepLast}) {
    MemorySource src("in.rdb", in.data(), in.size());
    RecordingOutput out(false);
    ConvertOptions opt = options();
    opt.on_collision = policy;
    ConvertResult r = convert(opt, {&src}, out);
    EXPECT_EQ(std::count(out.calls.begin(), out.calls.end(), "begin REDIS0010"), 1);
    EXPECT_EQ(r.collision_drops.size(), 1u);
    EXPECT_EQ(out.keys_written(), 3u);  // condo:x and two guards
  }
  // With the error policy, a collision is refused before the output receives anything.
  MemorySource src("in.rdb", in.data(), in.size());
  RecordingOutput out(false);
  EXPECT_THROW(convert(options(), {&src}, out), Error);
  EXPECT_TRUE(out.calls.empty());
}

TEST(Outputs, RdbFileOutputWritesAValidFileAndDiscardOutputNothing) {
  std::string in = dump();
  MemorySource a("in.rdb", in.data(), in.size());
  MemorySink sink;
  RdbFileOutput file(sink);
  ConvertResult r = convert(options(), {&a}, file);
  file.prepare();
  file.commit();
  std::string bytes(sink.data().begin(), sink.data().end());
  MemorySource back("out.rdb", bytes.data(), bytes.size());
  VerifyResult v = verify(back);
  EXPECT_EQ(v.keys, r.keys_written);
  EXPECT_EQ(v.keys_per_db.size(), 1u);
  EXPECT_EQ(file.bytes_written(), bytes.size());
  MemorySource b("in.rdb", in.data(), in.size());
  DiscardOutput none;
  ConvertResult r2 = convert(options(), {&b}, none);
  EXPECT_EQ(none.keys_written(), r.keys_written);
  EXPECT_EQ(none.bytes_written(), 0u);
  EXPECT_EQ(r2.totals().keys_read, 3u);
}

// What the output version cannot hold: LRU/LFU hints are left out (and counted), a value with
// 64-bit lengths, a function library or module data is refused.
TEST(Outputs, WhatTheOutputVersionCannotHold) {
  RdbBuilder b("REDIS0009");
  b.byte(248).len(100).string_key("idle", "1").byte(249).byte(5).string_key("freq", "2").string_key("plain", "3");
  std::string in = b.eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  opt.target = RdbVersion{RdbFamily::kRedis, 8};
  MemorySource src("in.rdb", in.data(), in.size());
  MemorySink sink;
  ConvertResult r = convert(opt, {&src}, sink);
  EXPECT_EQ(r.hints_dropped, 2u);
  test::FileImage img = test::image_of_bytes(std::string(sink.data().begin(), sink.data().end()));
  EXPECT_EQ(img.dbs[0].size(), 4u);
  // The same to RDB 9 keeps them.
  opt.target = RdbVersion{RdbFamily::kRedis, 9};
  MemorySource again("in.rdb", in.data(), in.size());
  MemorySink sink9;
  EXPECT_EQ(convert(opt, {&again}, sink9).hints_dropped, 0u);

  // A list whose length is written as a 64-bit number cannot go below RDB 8.
  std::string wide = RdbBuilder("REDIS0009").byte(1).str("l").byte(0x81).raw(std::string(7, '\0')).byte(1)
                         .str("e").eof().bytes();
  opt.target = RdbVersion{RdbFamily::kRedis, 7};
  MemorySource w("in.rdb", wide.data(), wide.size());
  MemorySink sink7;
  try {
    convert(opt, {&w}, sink7);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCannotHold);
    EXPECT_NE(std::string(e.what()).find("--rdb-version 8"), std::string::npos) << e.what();
  }
  std::string fn = RdbBuilder("REDIS0010").byte(245).str("#!lua name=x\nreturn 1").eof().bytes();
  opt.target = RdbVersion{RdbFamily::kRedis, 9};
  MemorySource f("in.rdb", fn.data(), fn.size());
  MemorySink sinkf;
  try {
    convert(opt, {&f}, sinkf);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCannotHold);
    EXPECT_NE(std::string(e.what()).find("--rdb-version 10 (loaded by Redis 7.0)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rdbrekey
