#include "rdbrekey/collision_check.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "rdbrekey/record_scanner.h"
#include "support/rdb_builder.h"
#include "support/stream_source.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

struct Shared {
  std::string name;
  std::vector<KeyRef> keys;
};

// Feeds every key of the sources to a CollisionCheck the way the converter does (after the
// KeyPolicy decision) and returns the names found shared.
std::vector<Shared> shared_names(const KeyPolicy& policy, std::vector<ByteSource*> sources,
                                 const LeftOutKeys& left_out = {}) {
  CollisionCheck check(policy, sources, left_out);
  std::vector<RdbVersion> versions;
  for (uint32_t i = 0; i < sources.size(); ++i) {
    RecordScanner sc(*sources[i]);
    versions.push_back(sc.read_header());
    Record r;
    while (sc.next(r)) {
      if (r.kind != RecordKind::kKey) continue;
      KeyRef ref{i, sc.current_db(), r.key_offset, sources[i]->stable()};
      const App* app = policy.app_of(DbId{ref.input, ref.db});
      KeyDecision d = policy.decide(app, r.key, r.prefix, left_out.count(ref.id()) > 0);
      if (d.fate == KeyFate::kWrite) check.add(ref, app, r.key, d.name, check.remembers_all(DbId{ref.input, ref.db}));
    }
  }
  // The re-scan reads the sources again from their start.
  std::vector<Shared> out;
  check.find(versions, [&](const std::string& name, std::vector<KeyRef>& keys) { out.push_back({name, keys}); });
  return out;
}

KeyPolicyOptions condo() {
  KeyPolicyOptions o;
  o.apps = {{0, "condo"}};
  return o;
}

TEST(CollisionCheck, WhatIsRemembered) {
  std::string in = RdbBuilder("REDIS0010").eof().bytes();
  MemorySource a("a", in.data(), in.size()), b("b", in.data(), in.size());
  KeyPolicyOptions o = condo();
  o.apps[1] = "other";
  KeyPolicy one_per_app(o);
  EXPECT_FALSE(CollisionCheck(one_per_app, {&a}, {}).remembers_all(0));
  EXPECT_TRUE(CollisionCheck(one_per_app, {&a, &b}, {}).remembers_all(0));  // several inputs
  test::StreamSource pipe("p", in);
  EXPECT_TRUE(CollisionCheck(one_per_app, {&pipe}, {}).remembers_all(0));  // read once
  o.apps[1] = "condo";
  KeyPolicy shared(o);
  EXPECT_TRUE(CollisionCheck(shared, {&a}, {}).remembers_all(0));  // two databases, one application
  o = condo();
  o.unmapped = UnmappedPolicy::kKeep;
  KeyPolicy keep(o);
  EXPECT_TRUE(CollisionCheck(keep, {&a}, {}).remembers_all(0));
}

// The re-scan path: only the prefixed key is remembered; its database is read again.
TEST(CollisionCheck, PrefixedKeysAndTheirPartners) {
  std::string in = RdbBuilder("REDIS0010").string_key("condo:x", "1").string_key("y", "2").string_key("x", "3")
                       .string_key("bull:q:1", "4").string_key("{condo:bull:q}:1", "5").eof().bytes();
  MemorySource src("in.rdb", in.data(), in.size());
  KeyPolicy policy(condo());
  std::vector<Shared> found = shared_names(policy, {&src});
  ASSERT_EQ(found.size(), 2u);
  for (const Shared& s : found) {
    ASSERT_EQ(s.keys.size(), 2u);
    EXPECT_LT(s.keys[0].key_offset, s.keys[1].key_offset);  // input order
  }
  EXPECT_EQ(found[0].name, "condo:x");
  EXPECT_EQ(found[1].name, "{condo:bull:q}:1");
  // A partner left out (by an earlier keep-first/keep-last choice) is no partner any more.
  LeftOutKeys left{found[0].keys[1].id()};
  MemorySource again("in.rdb", in.data(), in.size());
  EXPECT_EQ(shared_names(policy, {&again}, left).size(), 1u);
}

TEST(CollisionCheck, DescribesKeysOfFilesAndPipes) {
  std::string a = RdbBuilder("REDIS0010").select_db(3).string_key("x", "1").eof().bytes();
  std::string b = RdbBuilder("REDIS0010").select_db(3).string_key("x", "2").eof().bytes();
  MemorySource file("a.rdb", a.data(), a.size());
  test::StreamSource pipe("<stdin>", b, 2);
  KeyPolicyOptions o;
  o.apps = {{3, "condo"}};
  KeyPolicy policy(o);
  std::vector<ByteSource*> sources{&file, &pipe};
  std::vector<Shared> found = shared_names(policy, sources);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name, "condo:x");
  CollisionCheck check(policy, sources, {});
  check.find({RdbVersion{RdbFamily::kRedis, 10}, RdbVersion{RdbFamily::kRedis, 10}}, [](auto&, auto&) {});
  EXPECT_EQ(check.describe(found[0].keys[0]), "db 3 key \"x\" (a.rdb, byte 12)");
  EXPECT_EQ(check.describe(found[0].keys[1]), "a key of db 3 in <stdin>");
}

}  // namespace
}  // namespace rdbrekey
