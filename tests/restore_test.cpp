// What `restore` decides before it connects: the target's capabilities from its INFO, and the
// DUMP payload's footer.
#include "rdbrekey/restore.h"

#include <gtest/gtest.h>

#include <string>

#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

TargetInfo from(const std::string& fields) { return target_from_info("# Server\r\n" + fields + "os:Linux\r\n"); }

TEST(TargetFromInfo, RedisReleasesAndTheRecordsTheyLoad) {
  struct Case {
    const char* version;
    int holds;
    int payload;
  };
  for (const Case& c : {Case{"2.8.24", 6, 6}, Case{"3.2.12", 7, 7}, Case{"4.0.14", 8, 8}, Case{"5.0.14", 9, 9},
                        Case{"6.2.14", 9, 9}, Case{"7.0.15", 10, 10}, Case{"7.2.5", 11, 11}, Case{"7.4.1", 12, 11},
                        Case{"8.0.2", 12, 11}, Case{"8.2.1", 12, 11}}) {
    TargetInfo t = from(std::string("redis_version:") + c.version + "\r\n");
    EXPECT_EQ(t.server, std::string("Redis ") + c.version);
    EXPECT_EQ(t.holds, (RdbVersion{RdbFamily::kRedis, c.holds})) << c.version;
    EXPECT_EQ(t.payload_version, c.payload) << c.version;
  }
}

TEST(TargetFromInfo, ValkeyIsToldByItsOwnVersionField) {
  // Valkey also reports redis_version (7.2.4, for clients); valkey_version is what counts.
  TargetInfo v8 = from("redis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.2\r\n");
  EXPECT_EQ(v8.server, "Valkey 8.0.2");
  EXPECT_EQ(v8.holds, (RdbVersion{RdbFamily::kRedis, 11}));
  EXPECT_EQ(v8.payload_version, 11);
  TargetInfo v9 = from("redis_version:7.2.4\r\nvalkey_version:9.0.0\r\n");
  EXPECT_EQ(v9.holds, (RdbVersion{RdbFamily::kValkey, 80}));
  EXPECT_EQ(v9.payload_version, 11) << "11 is taken by every Valkey release";
  TargetInfo v72 = from("redis_version:7.2.4\r\nvalkey_version:7.2.5\r\n");
  EXPECT_EQ(v72.holds, (RdbVersion{RdbFamily::kRedis, 11}));
}

TEST(TargetFromInfo, NoVersionIsRefused) {
  try {
    from("uptime_in_seconds:5\r\n");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kTargetRefused);
  }
}

// DUMP payloads as redis-server 7.0 printed them (DUMP foo after SET foo bar; DUMP l after
// RPUSH l a b): type, value, RDB version 10 (LE), CRC-64 Jones (LE).
TEST(DumpFooter, MatchesWhatTheServerWrites) {
  std::string payload("\x00\x03" "bar", 5);
  append_dump_footer(payload, 10);
  EXPECT_EQ(payload, std::string("\x00\x03" "bar" "\x0a\x00" "\xe6\xbe\x49\x60\xee\x66\xfd\x17", 15));
  std::string list("\x12\x01\x02\x0d\x0d\x00\x00\x00\x02\x00\x81\x61\x02\x81\x62\x02\xff", 17);
  append_dump_footer(list, 10);
  EXPECT_EQ(list.substr(17), std::string("\x0a\x00" "\x68\xeb\x0a\x89\x13\x41\xbb\xb1", 10));
}

}  // namespace
}  // namespace rdbrekey
