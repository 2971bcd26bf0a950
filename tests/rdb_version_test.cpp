#include "rdbrekey/rdb_version.h"

#include <gtest/gtest.h>

#include "rdbrekey/converter.h"
#include "rdbrekey/format.h"

namespace rdbrekey {
namespace {

constexpr RdbVersion R(int n) { return RdbVersion{RdbFamily::kRedis, n}; }
constexpr RdbVersion V80{RdbFamily::kValkey, 80};

TEST(RdbVersion, Magics) {
  EXPECT_EQ(parse_magic("REDIS0011"), R(11));
  EXPECT_EQ(parse_magic("VALKEY080"), V80);
  EXPECT_FALSE(parse_magic("REDIS001x"));
  EXPECT_FALSE(parse_magic("KEYDB0001"));
  EXPECT_EQ(R(9).magic(), "REDIS0009");
  EXPECT_EQ(V80.magic(), "VALKEY080");
  EXPECT_TRUE(is_known_version(R(1)));
  EXPECT_TRUE(is_known_version(R(14)));
  EXPECT_FALSE(is_known_version(R(15)));
  EXPECT_FALSE(is_known_version(R(99)));
  EXPECT_FALSE(is_known_version(RdbVersion{RdbFamily::kValkey, 11}));
}

TEST(RdbVersion, VersionNames) {
  EXPECT_EQ(parse_version_name("11"), R(11));
  EXPECT_EQ(parse_version_name("REDIS0012"), R(12));
  EXPECT_EQ(parse_version_name("80"), V80);
  EXPECT_EQ(parse_version_name("VALKEY080"), V80);
  EXPECT_FALSE(parse_version_name("0"));
  EXPECT_FALSE(parse_version_name("15"));
  EXPECT_FALSE(parse_version_name("x"));
}

TEST(RdbVersion, DefaultOutputVersion) {
  EXPECT_EQ(default_output_version({R(3)}), R(3));
  EXPECT_EQ(default_output_version({R(10)}), R(10));
  EXPECT_EQ(default_output_version({R(12)}), R(11));
  EXPECT_EQ(default_output_version({R(14)}), R(11));
  EXPECT_EQ(default_output_version({V80}), V80);
  EXPECT_EQ(default_output_version({R(9), R(10)}), R(10));
  EXPECT_EQ(default_output_version({R(9), V80}), V80);
}

TEST(RdbVersion, WhatAnOutputCanHold) {
  EXPECT_TRUE(output_can_hold_type(rdb::kTypeString, R(12), R(11)));
  EXPECT_TRUE(output_can_hold_type(rdb::kTypeSetListpack, R(12), R(11)));
  EXPECT_FALSE(output_can_hold_type(rdb::kTypeSetListpack, R(11), R(10)));
  EXPECT_FALSE(output_can_hold_type(rdb::kTypeHashMetadata, R(12), R(11)));
  EXPECT_TRUE(output_can_hold_type(rdb::kTypeHashMetadata, R(12), R(12)));
  EXPECT_FALSE(output_can_hold_type(rdb::kTypeHashListpackEx, R(12), V80));
  EXPECT_FALSE(output_can_hold_type(rdb::kTypeStreamListpacks4, R(13), R(12)));
  EXPECT_TRUE(output_can_hold_type(rdb::kTypeStreamListpacks4, R(13), R(14)));
  EXPECT_TRUE(output_can_hold_type(rdb::kTypeValkeyHash2, V80, V80));
  EXPECT_FALSE(output_can_hold_type(rdb::kTypeValkeyHash2, V80, R(11)));
  EXPECT_TRUE(output_can_hold_type(rdb::kTypeStreamListpacks3, R(11), V80));
  EXPECT_FALSE(output_can_hold_type(rdb::kTypeModulePreGa, R(8), R(8)));
}

TEST(RdbVersion, FirstVersionWithAType) {
  EXPECT_EQ(first_version_with_type(rdb::kTypeStreamListpacks3, R(12)), R(11));
  EXPECT_EQ(first_version_with_type(rdb::kTypeHashListpack, R(12)), R(10));
  EXPECT_EQ(first_version_with_type(rdb::kTypeHashMetadata, R(12)), R(12));
  EXPECT_EQ(first_version_with_type(rdb::kTypeStreamListpacks4, R(13)), R(13));
  EXPECT_EQ(first_version_with_type(rdb::kTypeValkeyHash2, V80), V80);
}

TEST(RdbVersion, TypeBytesDependOnTheMagic) {
  EXPECT_TRUE(is_value_type(22, R(12)));
  EXPECT_TRUE(is_value_type(22, V80));
  EXPECT_FALSE(is_value_type(24, V80));
  EXPECT_EQ(type_name(22, V80), "hash2-with-field-ttl");
  EXPECT_EQ(type_name(22, R(12)), "hash-metadata-pre-ga");
  EXPECT_FALSE(is_value_type(6, R(8)));
  EXPECT_FALSE(is_value_type(8, R(8)));
  EXPECT_FALSE(is_value_type(29, R(14)));
}

}  // namespace
}  // namespace rdbrekey
