#include "rdbrekey/key_policy.h"

#include <gtest/gtest.h>

#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

KeyPrefix no_prefix() { return KeyPrefix{}; }
KeyPrefix expiring(int64_t ms) {
  KeyPrefix p;
  p.has_expire = true;
  p.expire_ms = ms;
  return p;
}

TEST(KeyPolicy, FatesInOrder) {
  KeyPolicyOptions o;
  o.apps = {{0, "@app/condo"}, {1, "condo"}, {2, "app2"}};
  o.unmapped = UnmappedPolicy::kDrop;
  o.drop_expired_before = 2000;
  KeyPolicy p(o);
  ASSERT_EQ(p.apps().size(), 2u);
  const App* condo = p.app_of(DbId{0});
  ASSERT_NE(condo, nullptr);
  EXPECT_EQ(p.app_of(DbId{1}), condo);  // one application, two databases
  EXPECT_TRUE(p.shares_app(0));
  EXPECT_FALSE(p.shares_app(2));
  EXPECT_EQ(p.app_of(DbId{9}), nullptr);

  EXPECT_EQ(p.decide(condo, "x", no_prefix(), true).fate, KeyFate::kLeftOut);
  EXPECT_EQ(p.decide(condo, "x", expiring(2000), false).fate, KeyFate::kExpired);  // at the cutoff: expired
  KeyDecision live = p.decide(condo, "x", expiring(2001), false);
  EXPECT_EQ(live.fate, KeyFate::kWrite);
  EXPECT_EQ(live.name.str(), "condo:x");
  EXPECT_EQ(p.decide(nullptr, "x", no_prefix(), false).fate, KeyFate::kUnmapped);
  EXPECT_EQ(p.decide(nullptr, "x", expiring(1), false).fate, KeyFate::kExpired);
  KeyDecision guard = p.decide(condo, "data_version", no_prefix(), false);
  EXPECT_EQ(guard.fate, KeyFate::kGuardSource);
  EXPECT_EQ(guard.guard, condo);
  EXPECT_EQ(p.decide(condo, "condo:data_version", no_prefix(), false).fate, KeyFate::kGuardSource);
  EXPECT_EQ(p.decide(condo, "app2:data_version", no_prefix(), false).fate, KeyFate::kWrite);  // condo:app2:...
}

TEST(KeyPolicy, UnmappedKeysKeptUnrenamedCanBeGuards) {
  KeyPolicyOptions o;
  o.apps = {{0, "condo"}, {2, "@app/resident-app"}};
  o.unmapped = UnmappedPolicy::kKeep;
  KeyPolicy p(o);
  KeyDecision d = p.decide(nullptr, "resident_app:data_version", no_prefix(), false);
  EXPECT_EQ(d.fate, KeyFate::kGuardSource);
  EXPECT_EQ(d.guard->prefix(), "resident_app");
  d = p.decide(nullptr, "condo:data_version", no_prefix(), false);
  EXPECT_EQ(d.guard->prefix(), "condo");
  d = p.decide(nullptr, "other:data_version", no_prefix(), false);
  EXPECT_EQ(d.fate, KeyFate::kWrite);
  EXPECT_TRUE(d.unrenamed);
  EXPECT_EQ(d.name.str(), "other:data_version");
  EXPECT_EQ(p.decide(nullptr, "data_version", no_prefix(), false).fate, KeyFate::kWrite);
  // Without guards nothing is merged.
  o.data_version = 0;
  KeyPolicy none(o);
  EXPECT_EQ(none.decide(nullptr, "condo:data_version", no_prefix(), false).fate, KeyFate::kWrite);
  EXPECT_EQ(none.decide(none.app_of(DbId{0}), "data_version", no_prefix(), false).fate, KeyFate::kWrite);
}

TEST(KeyPolicy, HashtaggedGuardNameIsNotAGuard) {
  KeyPolicyOptions o;
  o.apps = {{0, "condo"}};
  o.hashtags = {"bull", "data_version"};
  KeyPolicy p(o);
  KeyDecision d = p.decide(p.app_of(DbId{0}), "data_version:x", no_prefix(), false);
  EXPECT_EQ(d.fate, KeyFate::kWrite);
  EXPECT_EQ(d.name.str(), "{condo:data_version:x}");
}

TEST(KeyPolicy, BadNamesAreUsageErrors) {
  for (std::vector<std::string> families : {std::vector<std::string>{""}, {"a:b"}, {"a{"}, {"a b"}}) {
    KeyPolicyOptions o;
    o.hashtags = families;
    try {
      KeyPolicy p(o);
      ADD_FAILURE() << families[0];
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kBadOption);
    }
  }
  KeyPolicyOptions o;
  o.apps = {{0, "@app/"}};
  EXPECT_THROW(KeyPolicy{o}, Error);
}

TEST(GuardMerge, SetMaxAsTheMigratorsLua) {
  KeyPolicyOptions o;
  o.apps = {{0, "condo"}};
  KeyPolicy p(o);
  const App& app = p.apps()[0];
  GuardMerge m(2, 1);
  EXPECT_EQ(m.result(app).value, "2");
  m.offer(app, std::string("nan"));
  m.offer(app, std::nullopt);
  EXPECT_EQ(m.result(app).value, "2");
  m.offer(app, std::string("1"));
  EXPECT_EQ(m.result(app).value, "2");
  m.offer(app, std::string(" 7"));
  m.offer(app, std::string("3"));
  GuardMerge::Guard g = m.result(app);
  EXPECT_EQ(g.value, " 7");
  EXPECT_TRUE(g.kept_existing);
  EXPECT_EQ(g.key, "condo:data_version");
  EXPECT_FALSE(lua_number("7x"));
  EXPECT_EQ(*lua_number("0x10"), 16.0);
  EXPECT_FALSE(lua_number(std::string("1\0", 2)));
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

TEST(KeyPolicy, AMappingForOneInputComesBeforeTheMappingForEveryInput) {
  KeyPolicyOptions o;
  o.apps = {{0, "condo"}};
  o.input_apps = {{DbId{1, 3}, "billing"}, {DbId{2, 0 + 7}, "condo"}};
  KeyPolicy p(o);
  ASSERT_NE(p.app_of(DbId{0, 0}), nullptr);
  EXPECT_EQ(p.app_of(DbId{0, 0})->prefix(), "condo");
  EXPECT_EQ(p.app_of(DbId{5, 0})->prefix(), "condo");  // every input
  EXPECT_EQ(p.app_of(DbId{1, 3})->prefix(), "billing");
  EXPECT_EQ(p.app_of(DbId{0, 3}), nullptr);             // only input 1's db 3
  EXPECT_EQ(p.app_of(DbId{2, 7}), p.app_of(DbId{0, 0}));  // one application, one App
  EXPECT_TRUE(p.shares_app(DbId{0, 0}));
  EXPECT_FALSE(p.shares_app(DbId{1, 3}));
  EXPECT_EQ(p.apps().size(), 2u);
}

TEST(KeyPolicy, OneDatabaseMappedBothWaysIsRefused) {
  KeyPolicyOptions o;
  o.apps = {{0, "condo"}};
  o.input_apps = {{DbId{1, 0}, "billing"}};
  try {
    KeyPolicy p(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBadOption);
  }
}

}  // namespace
}  // namespace rdbrekey
