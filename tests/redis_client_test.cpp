// The client side of `restore` that needs no server: URLs, RESP commands and replies.
#include "rdbrekey/redis_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

TEST(RedisUrl, HostPortAndDefaults) {
  RedisUrl u = parse_redis_url("redis://cache.internal:6380");
  EXPECT_EQ(u.endpoint.host, "cache.internal");
  EXPECT_EQ(u.endpoint.port, 6380);
  EXPECT_EQ(u.db, 0);
  EXPECT_FALSE(u.tls);
  EXPECT_TRUE(u.credentials.user.empty());
  EXPECT_TRUE(u.credentials.password.empty());
  EXPECT_EQ(parse_redis_url("redis://h").endpoint.port, 6379);
  EXPECT_EQ(parse_redis_url("redis://h:1/").db, 0);
}

TEST(RedisUrl, CredentialsAsRedisCliReadsThem) {
  RedisUrl both = parse_redis_url("redis://restorer:s3cret@h:7000/4");
  EXPECT_EQ(both.credentials.user, "restorer");
  EXPECT_EQ(both.credentials.password, "s3cret");
  EXPECT_EQ(both.db, 4);
  RedisUrl password_only = parse_redis_url("redis://s3cret@h:7000");
  EXPECT_EQ(password_only.credentials.user, "");
  EXPECT_EQ(password_only.credentials.password, "s3cret");
  RedisUrl empty_user = parse_redis_url("redis://:s3cret@h");
  EXPECT_EQ(empty_user.credentials.user, "");
  EXPECT_EQ(empty_user.credentials.password, "s3cret");
  // Percent-escapes, and an '@' or ':' inside the password.
  RedisUrl escaped = parse_redis_url("redis://u%40x:p%3Aa%40ss@h:1");
  EXPECT_EQ(escaped.credentials.user, "u@x");
  EXPECT_EQ(escaped.credentials.password, "p:a@ss");
  RedisUrl raw_at = parse_redis_url("redis://u:p@ss@h:1");
  EXPECT_EQ(raw_at.credentials.password, "p@ss");
  EXPECT_EQ(raw_at.endpoint.host, "h");
}

TEST(RedisUrl, QueryAndFragmentAreIgnoredAndMessagesSayWhereTheUrlCameFrom) {
  RedisUrl q = parse_redis_url("redis://u:p@h:6379/6?family=4#main");
  EXPECT_EQ(q.db, 6);
  EXPECT_EQ(q.endpoint.address(), "h:6379");
  EXPECT_EQ(q.credentials.password, "p");
  EXPECT_EQ(parse_redis_url("rediss://h?x=1").db, 0);
  EXPECT_EQ(parse_redis_url("redis://h:7000#x").endpoint.port, 7000);
  try {
    parse_redis_url("redis://u:s3cret@h:1/x", "apps/condo/.env:3: REDIS_URL");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "apps/condo/.env:3: REDIS_URL: database \"x\" is not a number");
  }
}

TEST(RedisUrl, Ipv6AndTls) {
  RedisUrl v6 = parse_redis_url("rediss://[::1]:6390/2");
  EXPECT_TRUE(v6.tls);
  EXPECT_EQ(v6.endpoint.host, "::1");
  EXPECT_EQ(v6.endpoint.port, 6390);
  EXPECT_EQ(v6.endpoint.address(), "[::1]:6390");
  EXPECT_EQ(v6.db, 2);
  EXPECT_EQ(parse_redis_url("redis://[fe80::1]").endpoint.port, 6379);
}

TEST(RedisUrl, MistakesAreUsageErrorsThatNeverRepeatThePassword) {
  for (const char* bad : {"127.0.0.1:6379", "http://h:1", "redis://", "redis://:pw@", "redis://h:0", "redis://h:65536",
                          "redis://h:port", "redis://h:1/x", "redis://h:1/-1", "redis://[::1", "redis://[::1]x",
                          "redis://u:p%4@h", "redis://u:p%zz@h"}) {
    try {
      parse_redis_url(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kBadOption) << bad;
      EXPECT_EQ(std::string(e.what()).find("p%"), std::string::npos) << e.what();
    }
  }
}

TEST(RespCommand, ArrayOfBulkStringsWithBinaryBytes) {
  std::string out;
  append_command(out, {"SET", std::string_view("k\r\n\0", 4), ""});
  static constexpr char kWanted[] = "*3\r\n$3\r\nSET\r\n$4\r\nk\r\n\0\r\n$0\r\n\r\n";
  EXPECT_EQ(out, std::string(kWanted, sizeof(kWanted) - 1));
  std::string bulk;
  append_bulk_header(bulk, 1234567);
  EXPECT_EQ(bulk, "$1234567\r\n");
}

// A command wrapped around an argument already in its buffer is the command append_command
// writes, whichever argument it is.
TEST(RespCommand, WrappedAroundOneArgumentIsTheSameCommand) {
  const std::string payload("pay\r\nload\0", 11);
  const std::string_view args[] = {"RESTORE", "key", "0", payload, "ABSTTL", ""};
  std::string whole;
  append_command(whole, args);
  for (size_t at = 0; at < std::size(args); ++at) {
    std::string buffer(args[at]);
    wrap_command(buffer, args, at);
    EXPECT_EQ(buffer, whole) << at;
  }
}

TEST(RedisReplyText, ErrorCodeIsTheFirstWord) {
  RedisReply r;
  r.kind = RedisReply::Kind::kError;
  r.str = "MOVED 3999 127.0.0.1:6381";
  EXPECT_TRUE(r.is_error());
  EXPECT_EQ(r.error_code(), "MOVED");
  r.str = "OOM";
  EXPECT_EQ(r.error_code(), "OOM");
}

// Replies as a server sends them, in every mix the reader handles two ways: runs of +OK (only
// counted), other simple lines, and bulk strings / arrays (through hiredis).
constexpr std::string_view kReplies =
    "+OK\r\n+OK\r\n-BUSYKEY Target key name already exists.\r\n+OK\r\n:42\r\n:-7\r\n"
    "$5\r\nhe\r\nl\r\n+OK\r\n*2\r\n:1\r\n*1\r\n$-1\r\n+QUEUED\r\n+\r\n+OK\r\n-ERR\r\n"
    "$0\r\n\r\n+OK\r\n";

std::string describe_all(RespReplyReader& r) {
  std::string out;
  RedisReply reply;
  while (r.take(reply)) out += reply.describe() + "|";
  return out;
}

TEST(RespReplyReader, EveryReplyInOrderWhateverTheSplit) {
  RespReplyReader whole;
  ASSERT_TRUE(whole.feed(kReplies.data(), kReplies.size())) << whole.error();
  EXPECT_EQ(whole.ready(), 15u);
  RedisReply r;
  std::vector<RedisReply> got;
  while (whole.take(r)) got.push_back(r);
  ASSERT_EQ(got.size(), 15u);
  EXPECT_TRUE(got[0].is_ok());
  EXPECT_TRUE(got[1].is_ok());
  EXPECT_EQ(got[2].error_code(), "BUSYKEY");
  EXPECT_EQ(got[2].str, "BUSYKEY Target key name already exists.");
  EXPECT_TRUE(got[3].is_ok());
  EXPECT_EQ(got[4].kind, RedisReply::Kind::kInteger);
  EXPECT_EQ(got[4].integer, 42);
  EXPECT_EQ(got[5].integer, -7);
  EXPECT_EQ(got[6].kind, RedisReply::Kind::kString);
  EXPECT_EQ(got[6].str, "he\r\nl");
  EXPECT_TRUE(got[7].is_ok());
  ASSERT_EQ(got[8].kind, RedisReply::Kind::kArray);
  ASSERT_EQ(got[8].elements.size(), 2u);
  EXPECT_EQ(got[8].elements[0].integer, 1);
  ASSERT_EQ(got[8].elements[1].elements.size(), 1u);
  EXPECT_EQ(got[8].elements[1].elements[0].kind, RedisReply::Kind::kNil);
  EXPECT_EQ(got[9].kind, RedisReply::Kind::kStatus);
  EXPECT_EQ(got[9].str, "QUEUED");
  EXPECT_EQ(got[10].kind, RedisReply::Kind::kStatus);
  EXPECT_EQ(got[10].str, "");
  EXPECT_TRUE(got[11].is_ok());
  EXPECT_EQ(got[12].str, "ERR");
  EXPECT_TRUE(got[12].is_error());
  EXPECT_EQ(got[13].kind, RedisReply::Kind::kString);
  EXPECT_EQ(got[13].str, "");
  EXPECT_TRUE(got[14].is_ok());
  EXPECT_FALSE(whole.take(r));

  std::string wanted;
  {
    RespReplyReader again;
    ASSERT_TRUE(again.feed(kReplies.data(), kReplies.size()));
    wanted = describe_all(again);
  }
  // Cut in two at every byte, and fed one byte at a time; replies taken between the pieces too.
  for (size_t cut = 0; cut <= kReplies.size(); ++cut) {
    RespReplyReader two;
    ASSERT_TRUE(two.feed(kReplies.data(), cut)) << cut;
    std::string seen = describe_all(two);
    ASSERT_TRUE(two.feed(kReplies.data() + cut, kReplies.size() - cut)) << cut;
    seen += describe_all(two);
    EXPECT_EQ(seen, wanted) << "cut at " << cut;
  }
  RespReplyReader bytes;
  std::string seen;
  for (char c : kReplies) {
    ASSERT_TRUE(bytes.feed(&c, 1));
    if (c == '\n') seen += describe_all(bytes);
  }
  EXPECT_EQ(seen + describe_all(bytes), wanted);
}

TEST(RespReplyReader, WhatIsNotRespIsNamed) {
  for (std::string_view bad : {std::string_view("+OK\n"), std::string_view(":12x\r\n"), std::string_view("+OK\r\n!oops\r\n"),
                               std::string_view("?\r\n")}) {
    RespReplyReader r;
    EXPECT_FALSE(r.feed(bad.data(), bad.size())) << bad;
    EXPECT_NE(r.error().find("RESP"), std::string::npos) << r.error();
    EXPECT_FALSE(r.feed("+OK\r\n", 5)) << "a reader stays failed";
  }
}

TEST(TlsContext, FilesThatCannotBeUsedAreNamed) {
  TlsOptions missing;
  missing.ca_file = "/nonexistent/ca.crt";
  try {
    TlsContext ctx(missing);
    ADD_FAILURE() << "a missing CA file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBadOption);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.crt"), std::string::npos) << e.what();
  }
  TlsOptions half;
  half.verify = false;
  half.cert_file = "/nonexistent/client.crt";
  try {
    TlsContext ctx(half);
    ADD_FAILURE() << "--cert without --key was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--cert and --key go together"), std::string::npos) << e.what();
  }
  TlsOptions system_cas;  // the system's CAs (ca-certificates), no client certificate
  EXPECT_NO_THROW(TlsContext ctx(system_cas));
}

}  // namespace
}  // namespace rdbrekey
