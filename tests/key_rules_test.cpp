#include "rdbrekey/key_rules.h"

#include <gtest/gtest.h>

#include <string>

#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

TEST(AppPrefix, ExamplesFromTheRules) {
  const std::pair<const char*, const char*> cases[] = {
      {"@open-condo/keystone", "keystone"},       {"@app/address-service", "address_service"},
      {"@app/condo", "condo"},                    {"@app/dev-portal-api", "dev_portal_api"},
      {"@app/employee-bot", "employee_bot"},      {"@app/eps", "eps"},
      {"@app/external-api", "external_api"},      {"@app/insurance", "insurance"},
      {"@app/meter-importer", "meter_importer"},  {"@app/miniapp", "miniapp"},
      {"@app/news-greenhouse", "news_greenhouse"}, {"@app/pass", "pass"},
      {"@app/property-importer", "property_importer"}, {"@app/rb", "rb"},
      {"@app/registry-importer", "registry_importer"}, {"@app/telephony", "telephony"},
      {"@app/ticket-importer", "ticket_importer"}, {"@app/Multiple-WORDS-app", "multiple_words_app"},
      {"@aPP/CoNdO", "condo"},                    {"multiple-words-app", "multiple_words_app"},
      {"@app/resident-app", "resident_app"},      {"condo", "condo"},
      {"address_service", "address_service"},
  };
  for (auto [name, prefix] : cases) EXPECT_EQ(app_prefix_from_name(name), prefix) << name;
}

TEST(AppPrefix, RejectsPrefixesThatBreakTheRules) {
  for (const char* bad : {"", "@app/", "a:b", "x{y", "x}y", "two words"}) {
    try {
      app_prefix_from_name(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kBadOption) << bad;
    }
  }
}

class Renamer : public ::testing::Test {
 protected:
  std::string rename(std::string_view key, RenameRule expect_rule) {
    std::string out;
    EXPECT_EQ(condo_.rename(key, out), expect_rule) << key;
    return out;
  }
  KeyRenamer condo_{"condo", {"bull"}};
};

TEST_F(Renamer, PlainKeysGetThePrefix) {
  EXPECT_EQ(rename("sess:asd123ghj", RenameRule::kPrefixed), "condo:sess:asd123ghj");
  EXPECT_EQ(rename("data_version", RenameRule::kPrefixed), "condo:data_version");
  // The online migrator's quirk (startsWith without the colon) is not repeated.
  EXPECT_EQ(rename("condominium:1", RenameRule::kPrefixed), "condo:condominium:1");
  EXPECT_EQ(rename("condo", RenameRule::kPrefixed), "condo:condo");
  EXPECT_EQ(rename("{condo}", RenameRule::kPrefixed), "condo:{condo}");
  EXPECT_EQ(rename("bull", RenameRule::kPrefixed), "condo:bull");
  EXPECT_EQ(rename("bullet:1", RenameRule::kPrefixed), "condo:bullet:1");
  EXPECT_EQ(rename("Bull:q:1", RenameRule::kPrefixed), "condo:Bull:q:1");
}

TEST_F(Renamer, EmptyKeyBecomesThePrefixAlone) { EXPECT_EQ(rename("", RenameRule::kPrefixed), "condo:"); }

TEST_F(Renamer, AlreadyNamespacedKeysStay) {
  EXPECT_EQ(rename("condo:x", RenameRule::kAlreadyPrefixed), "condo:x");
  EXPECT_EQ(rename("condo:", RenameRule::kAlreadyPrefixed), "condo:");
  EXPECT_EQ(rename("{condo:bull:low}:importMeters:1", RenameRule::kAlreadyPrefixed), "{condo:bull:low}:importMeters:1");
  EXPECT_EQ(rename("{condo:", RenameRule::kAlreadyPrefixed), "{condo:");
}

TEST_F(Renamer, BullQueueKeysGetAHashtag) {
  EXPECT_EQ(rename("bull:low:importMeters:123", RenameRule::kHashtag), "{condo:bull:low}:importMeters:123");
  EXPECT_EQ(rename("bull:tasks", RenameRule::kHashtag), "{condo:bull:tasks}");
  EXPECT_EQ(rename("bull:q:", RenameRule::kHashtag), "{condo:bull:q}:");
  EXPECT_EQ(rename("bull:", RenameRule::kHashtag), "{condo:bull:}");
  EXPECT_EQ(rename("bull:tasks:wait", RenameRule::kHashtag), "{condo:bull:tasks}:wait");
  EXPECT_EQ(rename("bull::x", RenameRule::kHashtag), "{condo:bull:}:x");
}

TEST_F(Renamer, KeysAreBinary) {
  std::string key("a\0b\xff:{}", 7);
  EXPECT_EQ(rename(key, RenameRule::kPrefixed), std::string("condo:") + key);
  std::string bull = std::string("bull:q\0\xfe:r\0", 11);
  EXPECT_EQ(rename(bull, RenameRule::kHashtag), std::string("{condo:bull:q\0\xfe}:r\0", 19));
}

TEST(RenamerFamilies, OtherHashtagFamiliesAndNone) {
  KeyRenamer r("eps", {"bull", "bee"});
  std::string out;
  EXPECT_EQ(r.rename("bee:jobs:1", out), RenameRule::kHashtag);
  EXPECT_EQ(out, "{eps:bee:jobs}:1");
  KeyRenamer none("eps", {});
  EXPECT_EQ(none.rename("bull:jobs:1", out), RenameRule::kPrefixed);
  EXPECT_EQ(out, "eps:bull:jobs:1");
  EXPECT_EQ(r.guard_key(), "eps:data_version");
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

TEST(RenamerPreimage, FindsTheKeyThatWouldCollide) {
  KeyRenamer r("condo", {"bull"});
  std::string pre;
  EXPECT_TRUE(r.preimage("condo:x", pre));
  EXPECT_EQ(pre, "x");
  EXPECT_TRUE(r.preimage("condo:", pre));
  EXPECT_EQ(pre, "");
  EXPECT_TRUE(r.preimage("{condo:bull:q}:r:s", pre));
  EXPECT_EQ(pre, "bull:q:r:s");
  EXPECT_TRUE(r.preimage("{condo:bull:q}", pre));
  EXPECT_EQ(pre, "bull:q");
  EXPECT_TRUE(r.preimage("{condo:bull:}", pre));
  EXPECT_EQ(pre, "bull:");
  // No source key renames to these.
  EXPECT_FALSE(r.preimage("condo:condo:x", pre));    // "condo:x" stays as it is
  EXPECT_FALSE(r.preimage("condo:bull:q:1", pre));   // "bull:q:1" gets a hashtag instead
  EXPECT_FALSE(r.preimage("{condo:other}", pre));
  EXPECT_FALSE(r.preimage("{condo:bull:q}x", pre));
  // Every preimage found renames back to the kept key.
  for (std::string k : {"x", "", "bull:a:b", "bull:a", "bull:", "a{b}:c"}) {
    std::string renamed = r.rename(k).str();
    ASSERT_TRUE(r.preimage(renamed, pre)) << k;
    EXPECT_EQ(pre, k);
  }
}

}  // namespace
}  // namespace rdbrekey
