// End to end: a real redis-server writes an RDB, the rdbrekey CLI converts it, a fresh
// redis-server loads the result, and every key is compared with the source server, which is
// still running. The expected names are computed here by a small independent implementation of
// ../shared/spec/migrator-rules.md (not the project's key_rules).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"
#include "support/redis_server.h"
#include "support/resp_client.h"

namespace rdbrekey::test {
namespace {

using namespace std::string_literals;
using Args = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// The renaming rules, written independently of src/key_rules.cpp.

std::string expected_prefix(const std::string& app_name) {
  std::string p = app_name.substr(app_name.rfind('/') == std::string::npos ? 0 : app_name.rfind('/') + 1);
  for (char& c : p) {
    if (c == '-') c = '_';
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return p;
}

bool starts_with(const std::string& s, const std::string& head) { return s.compare(0, head.size(), head) == 0; }

std::string expected_name(const std::string& P, const std::string& key) {
  if (starts_with(key, P + ":") || starts_with(key, "{" + P + ":")) return key;
  if (starts_with(key, "bull:")) {
    std::string rest = key.substr(5);
    size_t colon = rest.find(':');
    if (colon == std::string::npos) return "{" + P + ":bull:" + rest + "}";
    return "{" + P + ":bull:" + rest.substr(0, colon) + "}" + rest.substr(colon);
  }
  return P + ":" + key;
}

// The guard's value: "2" unless the source db held a data_version that is a larger number.
std::string expected_guard(const std::optional<std::string>& source_value) {
  if (source_value && !source_value->empty() &&
      source_value->find_first_not_of("0123456789") == std::string::npos && source_value->size() < 18 &&
      std::stoll(*source_value) > 2)
    return *source_value;
  return "2";
}

TEST(ExpectedRules, AgreeWithTheSpecExamples) {
  EXPECT_EQ(expected_prefix("@app/address-service"), "address_service");
  EXPECT_EQ(expected_prefix("@aPP/CoNdO"), "condo");
  EXPECT_EQ(expected_prefix("multiple-words-app"), "multiple_words_app");
  EXPECT_EQ(expected_prefix("eps"), "eps");
  EXPECT_EQ(expected_name("condo", "bull:low:importMeters:123"), "{condo:bull:low}:importMeters:123");
  EXPECT_EQ(expected_name("condo", "bull:tasks"), "{condo:bull:tasks}");
  EXPECT_EQ(expected_name("condo", "bull:q:"), "{condo:bull:q}:");
  EXPECT_EQ(expected_name("condo", "bull:"), "{condo:bull:}");
  EXPECT_EQ(expected_name("condo", "sess:asd123ghj"), "condo:sess:asd123ghj");
  EXPECT_EQ(expected_name("condo", "condominium:1"), "condo:condominium:1");
  EXPECT_EQ(expected_name("condo", "{condo:bull:x}:y"), "{condo:bull:x}:y");
  EXPECT_EQ(expected_name("condo", ""), "condo:");
  EXPECT_EQ(expected_guard(std::nullopt), "2");
  EXPECT_EQ(expected_guard("1"s), "2");
  EXPECT_EQ(expected_guard("abc"s), "2");
  EXPECT_EQ(expected_guard("7"s), "7");
}

// ---------------------------------------------------------------------------------------------
// Reading a server's state.

struct KeyState {
  std::string type;
  std::string encoding;
  Reply value;              // the whole value, in a form that does not depend on hash order
  long long expire_at = -1; // PEXPIRETIME: absolute ms, -1 without TTL
};

KeyState read_key(RespClient& c, const std::string& key) {
  std::vector<Reply> meta = c.pipeline({{"TYPE", key}, {"OBJECT", "ENCODING", key}, {"PEXPIRETIME", key}});
  KeyState s;
  s.type = meta[0].text();
  s.encoding = meta[1].is_bulk() ? meta[1].str : to_string(meta[1]);
  s.expire_at = meta[2].as_int();
  if (s.type == "string") {
    s.value = c.ok({"GET", key});
  } else if (s.type == "list") {
    s.value = c.ok({"LRANGE", key, "0", "-1"});
  } else if (s.type == "set") {
    s.value = sorted_strings(c.ok({"SMEMBERS", key}));
  } else if (s.type == "zset") {
    s.value = c.ok({"ZRANGE", key, "0", "-1", "WITHSCORES"});
  } else if (s.type == "hash") {
    s.value = sorted_pairs(c.ok({"HGETALL", key}));
  } else if (s.type == "stream") {
    // Entries, then everything XINFO knows: length, ids, groups, consumers, PELs, delivery
    // times and counts (COUNT 0: no limit on entries and PEL lengths).
    s.value = Reply::array({c.ok({"XRANGE", key, "-", "+"}), c.ok({"XINFO", "STREAM", key, "FULL", "COUNT", "0"})});
  } else {
    ADD_FAILURE() << "unexpected type " << s.type << " of key \"" << escape_bytes(key) << "\"";
  }
  return s;
}

std::vector<std::string> keys_of(RespClient& c, int db) {
  c.ok({"SELECT", std::to_string(db)});
  std::vector<std::string> keys = c.ok({"KEYS", "*"}).strings();
  std::sort(keys.begin(), keys.end());
  return keys;
}

long long dbsize(RespClient& c, int db) {
  c.ok({"SELECT", std::to_string(db)});
  return c.ok({"DBSIZE"}).as_int();
}

std::string show(const std::string& key) { return "\"" + escape_bytes(key) + "\""; }

// ---------------------------------------------------------------------------------------------
// Writing a dataset.

std::string pseudo_random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

std::string repeat(const std::string& s, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += s;
  return out;
}

// Absolute expiry far in the future (PEXPIREAT keeps the test independent of the clock's
// progress between the source and the target).
std::string far_future_ms(long long days) {
  using namespace std::chrono;
  long long now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return std::to_string(now + days * 86400LL * 1000LL + 123);
}

class Filler {
 public:
  explicit Filler(RespClient& c) : c_(c) {}

  void select(int db) { c_.ok({"SELECT", std::to_string(db)}); }
  void set(const std::string& k, const std::string& v) { c_.ok({"SET", k, v}); }
  void expire(const std::string& k, long long days) {
    ASSERT_EQ(c_.ok({"PEXPIREAT", k, far_future_ms(days)}).as_int(), 1) << show(k);
  }
  void rpush(const std::string& k, const std::vector<std::string>& items) {
    Args a{"RPUSH", k};
    a.insert(a.end(), items.begin(), items.end());
    c_.ok(a);
  }
  void sadd(const std::string& k, const std::vector<std::string>& items) {
    Args a{"SADD", k};
    a.insert(a.end(), items.begin(), items.end());
    c_.ok(a);
  }
  void zadd(const std::string& k, const std::vector<std::pair<std::string, std::string>>& items) {
    Args a{"ZADD", k};
    for (const auto& [score, m] : items) {
      a.push_back(score);
      a.push_back(m);
    }
    c_.ok(a);
  }
  void hset(const std::string& k, const std::vector<std::pair<std::string, std::string>>& items) {
    Args a{"HSET", k};
    for (const auto& [f, v] : items) {
      a.push_back(f);
      a.push_back(v);
    }
    c_.ok(a);
  }
  Reply cmd(const Args& a) { return c_.ok(a); }

  // A stream with `entries` entries, two consumer groups, three consumers with pending
  // entries, one acknowledged entry and one deleted entry.
  void stream(const std::string& k, int entries) {
    std::vector<Args> batch;
    for (int i = 1; i <= entries; ++i)
      batch.push_back({"XADD", k, "1700000000000-" + std::to_string(i), "event", "meter.reading", "n",
                       std::to_string(i), "payload", repeat("x", static_cast<size_t>(i % 7))});
    for (const auto& r : c_.pipeline(batch)) ASSERT_FALSE(r.is_error()) << to_string(r);
    c_.ok({"XGROUP", "CREATE", k, "workers", "0"});
    c_.ok({"XGROUP", "CREATE", k, "audit", "$"});
    c_.ok({"XREADGROUP", "GROUP", "workers", "alice", "COUNT", "5", "STREAMS", k, ">"});
    c_.ok({"XREADGROUP", "GROUP", "workers", "bob", "COUNT", "3", "STREAMS", k, ">"});
    c_.ok({"XREADGROUP", "GROUP", "workers", "carol", "COUNT", "2", "STREAMS", k, ">"});
    c_.ok({"XACK", k, "workers", "1700000000000-2"});
    c_.ok({"XDEL", k, "1700000000000-" + std::to_string(entries > 20 ? 20 : entries)});
    c_.ok({"XGROUP", "CREATECONSUMER", k, "audit", "idle-consumer"});
  }

 private:
  RespClient& c_;
};

std::vector<std::string> numbered(const std::string& head, int n, size_t pad = 0) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(head + std::to_string(i) + std::string(pad, 'p'));
  return v;
}

std::vector<std::pair<std::string, std::string>> numbered_pairs(const std::string& head, int n, size_t pad = 0) {
  std::vector<std::pair<std::string, std::string>> v;
  for (int i = 0; i < n; ++i) v.emplace_back(head + std::to_string(i), "value-" + std::to_string(i * 7) + std::string(pad, 'v'));
  return v;
}

std::vector<std::pair<std::string, std::string>> scored(int n) {
  std::vector<std::pair<std::string, std::string>> v;
  for (int i = 0; i < n; ++i) v.emplace_back(std::to_string(i * 1.25 - 40), "member:" + std::to_string(i));
  return v;
}

// db 0 of the main dataset: every type and encoding, and the awkward key names.
void fill_condo(Filler& f) {
  f.select(0);
  // strings
  f.set("sess:asd123ghj", R"({"userId":"7c3a","expires":"2031-01-01"})");
  f.expire("sess:asd123ghj", 30);
  f.set("counter", "12345");                                     // int-encoded
  f.set("negative", "-42");
  f.set("big-int", "9007199254740993");
  f.set("cache:json:long", repeat(R"({"a":"condo","b":[1,2,3]})", 40));  // LZF-compressed
  f.expire("cache:json:long", 10);
  f.set("bin:value", "a\0b\xff\xfe\0z"s);                       // NUL and 0xff bytes
  f.set("random:blob", pseudo_random_bytes(6000, 1));          // incompressible
  f.set("huge:string", repeat("0123456789abcdef", 20000));      // 320 KB, compressible
  f.set("empty:value", "");
  // lists
  f.rpush("list:small", {"a", "b", "c", "1", "2", "3"});
  f.rpush("list:large", numbered("item-", 300));
  f.rpush("list:bigelems", {repeat("A", 10000), pseudo_random_bytes(9000, 2), "tail"});
  f.expire("list:large", 20);
  // sets
  f.sadd("set:int", {"1", "2", "3", "100000", "-5"});            // intset
  f.sadd("set:small", {"alpha", "beta", "gamma"});
  f.sadd("set:large", numbered("member-", 200));                  // hashtable
  f.sadd("set:bigint", numbered("", 600));                        // beyond intset
  // sorted sets
  f.zadd("zset:small", {{"1", "one"}, {"-1.5", "minus"}, {"+inf", "top"}, {"2.25", "two"}});
  f.zadd("zset:large", scored(200));                              // skiplist
  f.expire("zset:large", 40);
  // hashes
  f.hset("hash:small", {{"name", "condo"}, {"n", "12"}, {"bin", "\0\xff"s}});
  f.hset("hash:large", numbered_pairs("field-", 600));            // hashtable (Debian: > 512)
  f.hset("hash:bigvalue", {{"blob", repeat("z", 300)}});          // hashtable (long value)
  f.expire("hash:small", 5);
  // streams
  f.stream("stream:events", 250);
  f.expire("stream:events", 15);
  f.cmd({"XADD", "stream:emptied", "MAXLEN", "0", "5-1", "f", "v"});  // empty, with a last id
  // Bull
  f.rpush("bull:tasks:wait", {"101", "102", "103"});
  f.rpush("bull:tasks:active", {"99"});
  f.hset("bull:tasks:123", {{"name", "sendNotification"}, {"data", R"({"id":123})"}, {"attemptsMade", "0"}});
  f.set("bull:low:importMeters:1", "1");
  f.set("bull:tasks:id", "123");
  f.set("bull:q:", "queue with an empty rest");
  f.set("bull:", "bare family");
  f.set("bull:onlyqueue", "no rest");
  f.zadd("bull:tasks:delayed", {{"1700000000000", "124"}});
  // already namespaced, and near misses
  f.set("condo:already", "kept");
  f.set("{condo:bull:x}:y", "kept too");
  f.set("condominium:1", "not namespaced: P is condo, the key lacks the colon");
  f.set("{condo}:x", "not namespaced either");
  f.set("CONDO:upper", "prefix test is case-sensitive");
  // binary, empty, integer-looking and long keys
  f.set("bin\0key\xff:{x}"s, "binary key");
  f.set("bull:\0q\xff" "u:r{e}st"s, "binary queue name");
  f.set("", "the empty key");
  f.set("42", "integer-looking key");
  f.set("-7", "negative integer-looking key");
  f.set("long:key:" + repeat("abcabcabc", 12), "long compressible key");  // LZF-encoded key
  f.hset("hash:" + repeat("k", 64), {{"f", "v"}});
  f.expire("hash:" + repeat("k", 64), 50);
  // a function library (not a key): must survive the conversion
  f.cmd({"FUNCTION", "LOAD",
         "#!lua name=rdbrekeylib\nredis.register_function('rdbrekey_noop', function(keys, args) return 1 end)"});
}

void fill_address_service(Filler& f) {
  f.select(1);
  f.set("data_version", "7");  // larger than 2: kept, but without its TTL
  f.expire("data_version", 3);
  for (int i = 0; i < 40; ++i)
    f.hset("cache:address:" + std::to_string(i), {{"street", "Lenina " + std::to_string(i)}, {"zip", "6200" + std::to_string(i % 10)}});
  f.expire("cache:address:3", 7);
  f.sadd("countries", {"ru", "kz", "by", "am"});
  f.zadd("search:popular", scored(30));
  f.set("counter", "12345");  // the same name as in db 0: a different target
  f.set("condo:foreign", "another app's prefix is not this one's");
  f.set("address_service:already", "kept");
  f.rpush("bull:geocode:wait", {"1", "2"});
  f.set("", "empty key of db 1");
}

void fill_resident_app(Filler& f) {
  f.select(2);
  f.set("data_version", "1");  // smaller: becomes 2
  f.stream("events:resident", 120);
  f.stream("bull:notify:events", 30);
  f.rpush("feed:1", numbered("post-", 20));
  f.rpush("feed:2", {repeat("long post ", 30)});
  f.expire("feed:2", 9);
  f.set("42", "integer key in db 2");
  f.sadd("set:int", {"7", "8", "9"});
}

void fill_eps(Filler& f) {
  f.select(5);
  f.set("data_version", "not a number");  // non-numeric: becomes 2
  f.expire("data_version", 4);
  f.set("eps:already", "kept");
  f.set("bull:tasks:id", "7");
  f.hset("bull:tasks:7", {{"name", "x"}});
  f.set("payments:" + repeat("0", 40), "long key");
}

// ---------------------------------------------------------------------------------------------
// The conversion and its check.

// A source server (kept running to compare with) and the RDB it saved, copied into `dir`.
struct Source {
  std::unique_ptr<RedisServer> server;
  std::string rdb;
};

template <typename Fill>
Source make_source(const TempDir& dir, Fill fill) {
  Source s;
  s.server = std::make_unique<RedisServer>();
  RespClient& c = s.server->client();
  c.ok({"CONFIG", "SET", "rdbcompression", "yes"});
  Filler f(c);
  fill(f);
  c.ok({"SELECT", "0"});
  EXPECT_EQ(c.ok({"SAVE"}).text(), "OK");
  s.rdb = dir.file("dump.rdb");
  std::filesystem::copy_file(s.server->rdb_path(), s.rdb);
  return s;
}

RunResult convert(const std::vector<std::string>& args) {
  std::vector<std::string> argv{rdbrekey_binary(), "convert"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, 60);
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// What a conversion should produce: which source dbs map to which prefix, and what happens to
// the others ("drop" or "keep").
struct Plan {
  std::map<int, std::string> prefixes;  // db -> prefix
  std::string unmapped = "drop";
};

// Compares the converted server (everything in its db 0) with the source server, key by key.
void expect_converted(RespClient& src, RespClient& dst, const Plan& plan) {
  struct Expected {
    int db;
    std::string source_key;
  };
  std::map<std::string, Expected> expected;       // target name -> source
  std::map<std::string, std::string> guards;      // target name -> value
  std::map<int, std::optional<std::string>> data_versions;
  size_t source_keys = 0;

  for (int db = 0; db < 16; ++db) {
    std::vector<std::string> keys = keys_of(src, db);
    source_keys += keys.size();
    auto app = plan.prefixes.find(db);
    if (app == plan.prefixes.end() && plan.unmapped == "drop") continue;
    for (const auto& k : keys) {
      std::string target = app == plan.prefixes.end() ? k : expected_name(app->second, k);
      if (app != plan.prefixes.end() && target == app->second + ":data_version") {
        data_versions[db] = src.ok({"GET", k}).text();
        continue;
      }
      ASSERT_TRUE(expected.emplace(target, Expected{db, k}).second)
          << "test dataset error: two source keys map to " << show(target);
    }
  }
  ASSERT_GT(source_keys, 0u);
  for (const auto& [db, prefix] : plan.prefixes) {
    auto dv = data_versions.find(db);
    guards[prefix + ":data_version"] = expected_guard(dv == data_versions.end() ? std::nullopt : dv->second);
  }

  // Every other database of the target is empty; db 0 holds exactly the expected names.
  for (int db = 1; db < 16; ++db) EXPECT_EQ(dbsize(dst, db), 0) << "target db " << db;
  std::vector<std::string> actual = keys_of(dst, 0);
  std::set<std::string> want;
  for (const auto& [name, e] : expected) want.insert(name);
  for (const auto& [name, v] : guards) want.insert(name);
  std::set<std::string> got(actual.begin(), actual.end());
  for (const auto& name : want)
    EXPECT_TRUE(got.count(name)) << "missing in the output: " << show(name);
  for (const auto& name : got)
    EXPECT_TRUE(want.count(name)) << "unexpected in the output: " << show(name);
  EXPECT_EQ(actual.size(), want.size());

  // Values, types, encodings and expiry times, key by key.
  int current_db = -1;
  for (const auto& [name, e] : expected) {
    if (e.db != current_db) {
      src.ok({"SELECT", std::to_string(e.db)});
      current_db = e.db;
    }
    if (!got.count(name)) continue;
    KeyState a = read_key(src, e.source_key);
    KeyState b = read_key(dst, name);
    SCOPED_TRACE("db " + std::to_string(e.db) + " key " + show(e.source_key) + " -> " + show(name));
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.encoding, b.encoding);
    EXPECT_EQ(a.expire_at, b.expire_at);
    EXPECT_EQ(a.value, b.value);
  }

  // The start-up guards: a string, the max rule, no TTL.
  for (const auto& [name, value] : guards) {
    SCOPED_TRACE("guard " + name);
    EXPECT_EQ(dst.ok({"TYPE", name}).text(), "string");
    EXPECT_EQ(dst.ok({"GET", name}), Reply::bulk(value));
    EXPECT_EQ(dst.ok({"PTTL", name}).as_int(), -1);
  }
}

std::string magic_of(const std::string& path) { return read_file(path).substr(0, 9); }

// ---------------------------------------------------------------------------------------------

TEST(ConvertE2E, EveryTypeAndEncodingSurvivesRenamedIntoDb0) {
  TempDir work;
  Source source = make_source(work, [](Filler& f) {
    fill_condo(f);
    fill_address_service(f);
    fill_resident_app(f);
    fill_eps(f);
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_EQ(magic_of(source.rdb), "REDIS0010") << "Debian's redis-server 7.0 writes RDB 10";

  const std::string out = work.file("out.rdb");
  RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "-a", "1=@app/address-service", "-a",
                         "2=@app/resident-app", "-a", "5=eps"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("condo:data_version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("address_service:data_version = 7"), std::string::npos) << r.out;
  EXPECT_EQ(magic_of(out), magic_of(source.rdb)) << "output version = input version";
  // Only the input and the output are in the directory: no temporary file left behind.
  EXPECT_EQ(work.entries(), (std::vector<std::string>{"dump.rdb", "out.rdb"}));

  auto loaded = RedisServer::try_start_on_rdb(out);
  ASSERT_TRUE(loaded.server) << "redis-server 7.0 could not load the converted file: " << loaded.error;
  RespClient& dst = loaded.server->client();
  RespClient& src = source.server->client();

  Plan plan;
  plan.prefixes = {{0, expected_prefix("@app/condo")},
                   {1, expected_prefix("@app/address-service")},
                   {2, expected_prefix("@app/resident-app")},
                   {5, expected_prefix("eps")}};
  expect_converted(src, dst, plan);

  // A few names spelled out, so that a shared mistake of the rules above and the converter's
  // would still be caught.
  dst.ok({"SELECT", "0"});
  for (const std::string& k :
       {"condo:sess:asd123ghj"s, "{condo:bull:tasks}:wait"s, "{condo:bull:tasks}:123"s,
        "{condo:bull:low}:importMeters:1"s, "{condo:bull:tasks}:id"s, "{condo:bull:q}:"s, "{condo:bull:}"s,
        "{condo:bull:onlyqueue}"s, "condo:already"s, "{condo:bull:x}:y"s, "condo:condominium:1"s,
        "condo:{condo}:x"s, "condo:CONDO:upper"s, "condo:bin\0key\xff:{x}"s, "{condo:bull:\0q\xff" "u}:r{e}st"s,
        "condo:"s, "condo:42"s, "address_service:counter"s, "address_service:condo:foreign"s,
        "address_service:already"s, "{address_service:bull:geocode}:wait"s, "address_service:"s,
        "resident_app:events:resident"s, "{resident_app:bull:notify}:events"s, "resident_app:42"s,
        "eps:already"s, "{eps:bull:tasks}:id"s, "{eps:bull:tasks}:7"s})
    EXPECT_EQ(dst.ok({"EXISTS", k}).as_int(), 1) << show(k);
  EXPECT_EQ(dst.ok({"GET", "condo:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"GET", "address_service:data_version"}), Reply::bulk("7"));
  EXPECT_EQ(dst.ok({"GET", "resident_app:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"GET", "eps:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"GET", "condo:counter"}), Reply::bulk("12345"));
  EXPECT_EQ(dst.ok({"OBJECT", "ENCODING", "condo:counter"}), Reply::bulk("int"));
  // 44 keys of db 0, 47 of db 1, 6 of db 2 and 4 of db 5 (data_version keys not counted), and
  // the four guards.
  EXPECT_EQ(dbsize(dst, 0), 44 + 47 + 6 + 4 + 4);
  dst.ok({"SELECT", "0"});

  // The dataset covers the encodings it means to (checked on the target: they were loaded
  // from the converted file).
  for (const auto& [key, encoding] : std::vector<std::pair<std::string, std::string>>{
           {"condo:counter", "int"},
           {"condo:cache:json:long", "raw"},
           {"condo:list:small", "quicklist"},
           {"condo:list:large", "quicklist"},
           {"condo:set:int", "intset"},
           {"condo:set:large", "hashtable"},
           {"condo:set:bigint", "hashtable"},
           {"condo:zset:small", "listpack"},
           {"condo:zset:large", "skiplist"},
           {"condo:hash:small", "listpack"},
           {"condo:hash:large", "hashtable"},
           {"condo:hash:bigvalue", "hashtable"},
           {"condo:stream:events", "stream"}})
    EXPECT_EQ(dst.ok({"OBJECT", "ENCODING", key}), Reply::bulk(encoding)) << key;
  // Strings and keys were LZF-compressed in the source file; the values still are in the output
  // (value bytes are copied through).
  const std::string dump_bytes = read_file(source.rdb), out_bytes = read_file(out);
  EXPECT_EQ(dump_bytes.find(repeat(R"({"a":"condo","b":[1,2,3]})", 40)), std::string::npos);
  EXPECT_EQ(dump_bytes.find("long:key:" + repeat("abcabcabc", 12)), std::string::npos);
  EXPECT_EQ(out_bytes.find(repeat(R"({"a":"condo","b":[1,2,3]})", 40)), std::string::npos);
  EXPECT_EQ(out_bytes.find(repeat("0123456789abcdef", 20000)), std::string::npos);

  // The stream's consumer groups work on the target: the PEL was carried over.
  Reply pending = dst.ok({"XPENDING", "condo:stream:events", "workers"});
  ASSERT_TRUE(pending.is_array());
  EXPECT_EQ(pending.elements.at(0), Reply::number(9));  // 5 + 3 + 2 read, 1 acknowledged

  // The function library is kept.
  EXPECT_EQ(dst.ok({"FUNCTION", "LIST", "WITHCODE"}), src.ok({"FUNCTION", "LIST", "WITHCODE"}));
  EXPECT_EQ(dst.ok({"FCALL", "rdbrekey_noop", "0"}), Reply::number(1));
}

void fill_small_with_unmapped(Filler& f) {
  f.select(0);
  f.set("sess:1", "s1");
  f.expire("sess:1", 2);
  f.rpush("bull:tasks:wait", {"1", "2"});
  f.hset("user:1", {{"name", "a"}});
  f.select(3);  // unmapped
  f.set("other:1", "o1");
  f.expire("other:1", 3);
  f.sadd("other:set", {"x", "y", "z"});
  f.rpush("bull:other:wait", {"7"});
  f.set("data_version", "9");  // not an application's guard: copied as it is with keep
  f.select(7);  // unmapped
  f.zadd("leaderboard", scored(10));
  f.stream("other:stream", 12);
}

TEST(ConvertE2E, UnmappedDatabasesDroppedOrKept) {
  TempDir work;
  Source source = make_source(work, fill_small_with_unmapped);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RespClient& src = source.server->client();

  for (const std::string policy : {"drop", "keep"}) {
    SCOPED_TRACE("--unmapped " + policy);
    const std::string out = work.file("out-" + policy + ".rdb");
    RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "--unmapped", policy});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto loaded = RedisServer::try_start_on_rdb(out);
    ASSERT_TRUE(loaded.server) << loaded.error;
    RespClient& dst = loaded.server->client();
    Plan plan;
    plan.prefixes = {{0, "condo"}};
    plan.unmapped = policy;
    expect_converted(src, dst, plan);
    dst.ok({"SELECT", "0"});
    if (policy == "drop") {
      EXPECT_EQ(dbsize(dst, 0), 4);  // three renamed keys and the guard
      EXPECT_EQ(dst.ok({"EXISTS", "other:1", "leaderboard", "data_version"}).as_int(), 0);
    } else {
      EXPECT_EQ(dbsize(dst, 0), 4 + 4 + 2);
      dst.ok({"SELECT", "0"});
      EXPECT_EQ(dst.ok({"GET", "other:1"}), Reply::bulk("o1"));
      EXPECT_EQ(dst.ok({"GET", "data_version"}), Reply::bulk("9"));
      EXPECT_EQ(dst.ok({"TYPE", "bull:other:wait"}).text(), "list") << "unmapped keys are not hashtagged";
      EXPECT_EQ(dst.ok({"TYPE", "other:stream"}).text(), "stream");
    }
    EXPECT_EQ(dst.ok({"GET", "condo:data_version"}), Reply::bulk("2"));
  }
}

TEST(ConvertE2E, UnmappedDatabaseWithoutPolicyIsRefusedAndLeavesNothing) {
  TempDir work;
  Source source = make_source(work, fill_small_with_unmapped);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  TempDir outdir;
  const std::string out = outdir.file("out.rdb");

  RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo"});
  EXPECT_EQ(r.exit_code, 6) << describe(r);
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(outdir.entries().empty()) << "left behind: " << (outdir.entries().empty() ? "" : outdir.entries()[0]);
  EXPECT_NE(r.err.find('3'), std::string::npos) << "the message names the unmapped db 3: " << r.err;
  EXPECT_NE(r.err.find('7'), std::string::npos) << "the message names the unmapped db 7: " << r.err;

  // --unmapped error is the same as no option.
  RunResult r2 = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "-a", "3=other", "--unmapped", "error"});
  EXPECT_EQ(r2.exit_code, 6) << describe(r2);
  EXPECT_TRUE(outdir.entries().empty());

  // Mapping every db makes it succeed.
  RunResult r3 = convert({source.rdb, "-o", out, "-a", "0=@app/condo", "-a", "3=other", "-a", "7=@app/seven-app"});
  ASSERT_EQ(r3.exit_code, 0) << describe(r3);
  EXPECT_EQ(outdir.entries(), std::vector<std::string>{"out.rdb"});
  auto loaded = RedisServer::try_start_on_rdb(out);
  ASSERT_TRUE(loaded.server) << loaded.error;
  Plan plan;
  plan.prefixes = {{0, "condo"}, {3, "other"}, {7, "seven_app"}};
  expect_converted(source.server->client(), loaded.server->client(), plan);
}

TEST(ConvertE2E, NameCollisionIsRefusedBeforeWriting) {
  // "x" becomes "condo:x", which db 0 already holds. migrator-rules.md §4: a collision is an
  // error before anything is written (a server aborts loading an RDB with a duplicate key).
  TempDir work;
  Source source = make_source(work, [](Filler& f) {
    f.select(0);
    f.set("x", "1");
    f.set("condo:x", "2");
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  TempDir outdir;
  const std::string out = outdir.file("out.rdb");
  RunResult r = convert({source.rdb, "-o", out, "-a", "0=@app/condo"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("condo:x"), std::string::npos) << r.err;
  EXPECT_TRUE(outdir.entries().empty());
}

TEST(ConvertE2E, BundledSampleDump) {
  // fixtures/sample.rdb (tools/make_sample_dump.sh): a reference server loads it as it is and is
  // compared with a server loading the converted file.
  TempDir work;
  const std::string sample = std::string(RDBREKEY_FIXTURES) + "/sample.rdb";
  ASSERT_TRUE(std::filesystem::exists(sample)) << sample;
  std::filesystem::copy_file(sample, work.file("sample.rdb"));
  auto reference = RedisServer::try_start_on_rdb(work.file("sample.rdb"));
  ASSERT_TRUE(reference.server) << reference.error;

  const std::string out = work.file("converted.rdb");
  RunResult r = convert({sample, "-o", out, "-q", "-a", "0=@app/condo", "-a", "1=@app/address-service", "-a",
                         "2=@app/resident-app", "-a", "3=@app/eps"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "") << "-q prints nothing on success";
  EXPECT_EQ(magic_of(out), "REDIS0010");
  auto loaded = RedisServer::try_start_on_rdb(out);
  ASSERT_TRUE(loaded.server) << loaded.error;
  RespClient& dst = loaded.server->client();

  Plan plan;
  plan.prefixes = {{0, "condo"}, {1, "address_service"}, {2, "resident_app"}, {3, "eps"}};
  expect_converted(reference.server->client(), dst, plan);
  EXPECT_EQ(dbsize(dst, 0), 221);
  dst.ok({"SELECT", "0"});
  EXPECT_EQ(dst.ok({"LRANGE", "{condo:bull:tasks}:wait", "0", "-1"}).strings(),
            (std::vector<std::string>{"31", "32", "33", "34", "35", "36"}));
  EXPECT_EQ(dst.ok({"GET", "condo:data_version"}), Reply::bulk("2"));
  EXPECT_EQ(dst.ok({"XPENDING", "resident_app:events:notifications", "senders"}).elements.at(0),
            Reply::number(6));
  EXPECT_EQ(dst.ok({"GET", "eps:settings"}), Reply::bulk(R"({"acquiring":"sbbol"})"));
}

TEST(ServerSupport, AServerThatCannotLoadItsRdbIsReported) {
  TempDir dir;
  write_file(dir.file("bad.rdb"), "REDIS0010 this is not an RDB file at all");
  auto r = RedisServer::try_start_on_rdb(dir.file("bad.rdb"));
  EXPECT_FALSE(r.server);
  EXPECT_NE(r.error.find("exited"), std::string::npos) << r.error;
  EXPECT_FALSE(r.log.empty());
}

}  // namespace
}  // namespace rdbrekey::test
