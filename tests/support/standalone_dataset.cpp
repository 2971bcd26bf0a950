#include "support/standalone_dataset.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>

namespace rdbrekey::test {

using namespace std::string_literals;

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

// ---------------------------------------------------------------------------------------------
// Reading a server's state.

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

std::vector<std::string> numbered(const std::string& head, int n, size_t pad) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(head + std::to_string(i) + std::string(pad, 'p'));
  return v;
}

std::vector<std::pair<std::string, std::string>> numbered_pairs(const std::string& head, int n, size_t pad) {
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

Source make_source(const TempDir& dir, const std::function<void(Filler&)>& fill) {
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

}  // namespace rdbrekey::test
