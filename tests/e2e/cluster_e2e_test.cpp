// End to end into a cluster (../shared/spec/cluster.md, "Recommended shapes" (a)): standalone
// redis-server processes write the source dumps (several databases, every type, TTLs, Bull
// queues, binary keys); `rdbrekey convert --cluster TOPOLOGY --output-dir DIR` cuts them into one
// RDB per primary of a running cluster, TOPOLOGY read from that cluster in each printed form;
// the restore runbook puts each file in place (SHUTDOWN NOSAVE, dump.rdb, start again); then the
// cluster is compared with the sources key by key and with the manifest slot by slot.
//
// The expected names are computed here from ../shared/spec/migrator-rules.md (not from the
// project's key_rules); hash slots are asked of the servers (CLUSTER KEYSLOT).
//
// Every test runs against Debian's redis-server, and against valkey-server when VALKEY_SERVER
// names one (skipped otherwise). The cluster is created with redis-cli in both cases; the source
// dumps always come from redis-server (what a 2.x-layout deployment has). Within one run of the
// test binary a suite keeps one cluster per server (3 primaries, 1 replica each): every restore
// replaces the data of every primary, and only what the nodes logged since the restore began is
// searched.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "rdbrekey/hash_slot.h"
#include "support/process.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/resp_client.h"

namespace rdbrekey::test {
namespace {

using namespace std::string_literals;
using Args = std::vector<std::string>;
using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int kSlots = 16384;

std::string show(const std::string& key) { return "\"" + escape_bytes(key) + "\""; }

bool starts_with(const std::string& s, const std::string& head) { return s.compare(0, head.size(), head) == 0; }

// ---------------------------------------------------------------------------------------------
// The renaming rules, written independently of src/key_rules.cpp.

std::string prefix_of(const std::string& app_name) {
  size_t slash = app_name.rfind('/');
  std::string p = app_name.substr(slash == std::string::npos ? 0 : slash + 1);
  for (char& c : p) {
    if (c == '-') c = '_';
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return p;
}

std::string renamed(const std::string& P, const std::string& key) {
  if (starts_with(key, P + ":") || starts_with(key, "{" + P + ":")) return key;
  if (starts_with(key, "bull:")) {
    std::string rest = key.substr(5);
    size_t colon = rest.find(':');
    if (colon == std::string::npos) return "{" + P + ":bull:" + rest + "}";
    return "{" + P + ":bull:" + rest.substr(0, colon) + "}" + rest.substr(colon);
  }
  return P + ":" + key;
}

// The queue of an output name "{P:bull:<queue>}..." (empty when the name is not one).
std::string queue_of(const std::string& P, const std::string& name) {
  const std::string head = "{" + P + ":bull:";
  if (!starts_with(name, head)) return {};
  size_t close = name.find('}', head.size());
  if (close == std::string::npos) return {};
  return name.substr(head.size(), close - head.size());
}

// A whole number as the guard's "set max" reads it, or nullopt.
std::optional<long long> whole_number(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(s);
}

// Key bytes as the manifest writes them: one code point per byte, as UTF-8.
std::string as_code_points(const std::string& bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    if (b < 0x80) {
      out += static_cast<char>(b);
    } else {
      out += static_cast<char>(0xC0 | (b >> 6));
      out += static_cast<char>(0x80 | (b & 0x3F));
    }
  }
  return out;
}

TEST(ClusterRules, AgreeWithTheSpecExamples) {
  EXPECT_EQ(prefix_of("@app/news-greenhouse"), "news_greenhouse");
  EXPECT_EQ(prefix_of("@aPP/CoNdO"), "condo");
  EXPECT_EQ(renamed("condo", "bull:low:importMeters:123"), "{condo:bull:low}:importMeters:123");
  EXPECT_EQ(renamed("condo", "bull:tasks"), "{condo:bull:tasks}");
  EXPECT_EQ(renamed("condo", "bull:q:"), "{condo:bull:q}:");
  EXPECT_EQ(renamed("condo", "sess:asd123ghj"), "condo:sess:asd123ghj");
  EXPECT_EQ(renamed("condo", "condominium:1"), "condo:condominium:1");
  EXPECT_EQ(renamed("condo", "{condo:bull:x}:y"), "{condo:bull:x}:y");
  EXPECT_EQ(queue_of("condo", "{condo:bull:low}:importMeters:123"), "low");
  EXPECT_EQ(queue_of("condo", "condo:bull:low"), "");
  EXPECT_EQ(as_code_points("a\xff"s), "a\xc3\xbf"s);
}

// ---------------------------------------------------------------------------------------------
// Reading a key, on a source server or on the cluster node that owns it.

struct KeyValue {
  std::string type;
  Reply value;              // in a form that does not depend on hash order or on the server
  long long expire_at = -1; // PEXPIRETIME: absolute ms, -1 without TTL
  std::string encoding;     // OBJECT ENCODING
  std::string dump;         // DUMP payload (compared only between servers of one binary)
};

// A stream: its entries, and per consumer group (by name) the fields every server version
// reports alike, and the pending summary.
Reply stream_value(RespClient& c, const std::string& key) {
  std::vector<Reply> parts{c.ok({"XRANGE", key, "-", "+"})};
  Reply groups = c.ok({"XINFO", "GROUPS", key});
  for (const Reply& g : groups.elements) {
    std::map<std::string, Reply> fields;
    for (size_t i = 0; i + 1 < g.elements.size(); i += 2) fields[g.elements[i].str] = g.elements[i + 1];
    const std::string name = fields["name"].str;
    parts.push_back(Reply::array({fields["name"], fields["consumers"], fields["pending"], fields["last-delivered-id"],
                                  c.ok({"XPENDING", key, name})}));
  }
  return Reply::array(std::move(parts));
}

KeyValue read_value(RespClient& c, const std::string& key) {
  std::vector<Reply> meta =
      c.pipeline({{"TYPE", key}, {"PEXPIRETIME", key}, {"OBJECT", "ENCODING", key}, {"DUMP", key}});
  KeyValue v;
  v.type = meta[0].text();
  v.expire_at = meta[1].as_int();
  v.encoding = meta[2].is_bulk() ? meta[2].str : "";
  v.dump = meta[3].is_bulk() ? meta[3].str : "";
  if (v.type == "string") v.value = c.ok({"GET", key});
  else if (v.type == "list") v.value = c.ok({"LRANGE", key, "0", "-1"});
  else if (v.type == "set") v.value = sorted_strings(c.ok({"SMEMBERS", key}));
  else if (v.type == "zset") v.value = c.ok({"ZRANGE", key, "0", "-1", "WITHSCORES"});
  else if (v.type == "hash") v.value = sorted_pairs(c.ok({"HGETALL", key}));
  else if (v.type == "stream") v.value = stream_value(c, key);
  else if (v.type != "none") ADD_FAILURE() << "unexpected type " << v.type << " of key " << show(key);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Source data: one standalone server per "host" of the 2.x layout.

std::string repeat(const std::string& s, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += s;
  return out;
}

// Far in the future, absolute: the expiry time does not depend on when the test runs a step.
std::string far_future_ms(long long days) {
  using namespace std::chrono;
  long long now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return std::to_string(now + days * 86400LL * 1000LL + 321);
}

class Filler {
 public:
  explicit Filler(RespClient& c) : c_(c) {}
  void select(int db) { c_.ok({"SELECT", std::to_string(db)}); }
  void cmd(const Args& a) { c_.ok(a); }
  void set(const std::string& k, const std::string& v) { c_.ok({"SET", k, v}); }
  void ttl(const std::string& k, long long days) {
    EXPECT_EQ(c_.ok({"PEXPIREAT", k, far_future_ms(days)}).as_int(), 1) << show(k);
  }
  void rpush(const std::string& k, const Args& items) { with_items("RPUSH", k, items); }
  void sadd(const std::string& k, const Args& items) { with_items("SADD", k, items); }
  void hset(const std::string& k, const std::vector<std::pair<std::string, std::string>>& fv) {
    Args a{"HSET", k};
    for (const auto& [f, v] : fv) a.insert(a.end(), {f, v});
    c_.ok(a);
  }
  // Scores that print alike on every server version (exact binary fractions).
  void zadd(const std::string& k, int n) {
    Args a{"ZADD", k};
    for (int i = 0; i < n; ++i) a.insert(a.end(), {std::to_string(i * 0.5 - 3), "member:" + std::to_string(i)});
    c_.ok(a);
  }
  void stream(const std::string& k, int entries) {
    std::vector<Args> batch;
    for (int i = 1; i <= entries; ++i)
      batch.push_back({"XADD", k, "1700000000000-" + std::to_string(i), "n", std::to_string(i), "event", "meter.reading"});
    for (const auto& r : c_.pipeline(batch)) EXPECT_FALSE(r.is_error()) << to_string(r);
    c_.ok({"XGROUP", "CREATE", k, "workers", "0"});
    c_.ok({"XREADGROUP", "GROUP", "workers", "alice", "COUNT", "4", "STREAMS", k, ">"});
    c_.ok({"XREADGROUP", "GROUP", "workers", "bob", "COUNT", "2", "STREAMS", k, ">"});
    c_.ok({"XACK", k, "workers", "1700000000000-2"});
  }
  // n string keys head<i>, every 7th with a TTL: spreads keys over many slots.
  void many(const std::string& head, int n) {
    std::vector<Args> batch;
    for (int i = 0; i < n; ++i) batch.push_back({"SET", head + std::to_string(i), "value of " + head + std::to_string(i)});
    for (int i = 0; i < n; i += 7) batch.push_back({"PEXPIREAT", head + std::to_string(i), far_future_ms(20 + i)});
    for (const auto& r : c_.pipeline(batch)) EXPECT_FALSE(r.is_error()) << to_string(r);
  }

 private:
  void with_items(const char* verb, const std::string& k, const Args& items) {
    Args a{verb, k};
    a.insert(a.end(), items.begin(), items.end());
    c_.ok(a);
  }
  RespClient& c_;
};

// Host A: condo (db 0), address-service (db 1), eps (db 2).
void fill_host_a(Filler& f) {
  f.select(0);
  f.set("sess:asd123ghj", R"({"userId":"7c3a"})");
  f.ttl("sess:asd123ghj", 30);
  f.set("counter", "12345");
  f.set("cache:json", repeat(R"({"a":"condo","b":[1,2,3]})", 40));
  f.ttl("cache:json", 10);
  f.set("bin:value", "a\0b\xff\xfe\0z"s);
  f.rpush("list:small", {"a", "b", "c", "1", "2"});
  f.sadd("set:int", {"1", "2", "3", "100000"});
  f.sadd("set:words", {"alpha", "beta", "gamma"});
  f.zadd("zset:rank", 20);
  f.ttl("zset:rank", 40);
  f.hset("hash:user:1", {{"name", "condo"}, {"n", "12"}, {"bin", "\0\xff"s}});
  f.stream("stream:events", 12);
  f.ttl("stream:events", 15);
  f.set("user:{42}:profile", "braces inside a plain key");  // hashtag 42 after renaming too
  // Bull: two queues, the usual key shapes.
  f.hset("bull:emails:1", {{"name", "send"}, {"data", R"({"to":"a@b.c"})"}});
  f.hset("bull:emails:2", {{"name", "send"}, {"data", R"({"to":"d@e.f"})"}});
  f.ttl("bull:emails:2", 3);
  f.rpush("bull:emails:wait", {"1", "2"});
  f.set("bull:emails:id", "2");
  f.hset("bull:emails:meta", {{"opts.maxLenEvents", "10000"}});
  f.cmd({"ZADD", "bull:emails:completed", "1700000000000", "0"});
  f.hset("bull:notifications:1", {{"name", "push"}});
  f.rpush("bull:notifications:wait", {"1"});
  f.set("bull:notifications:id", "1");
  f.set("bull:tasks", "a queue with no rest");
  // Already namespaced: left as they are (and the hashtagged ones form their queue "q").
  f.set("condo:x", "kept");
  f.set("{condo:bull:q}:y", "kept too");
  f.rpush("{condo:bull:q}:wait", {"9"});
  f.set("condominium:1", "not namespaced: no colon after condo");
  // Binary keys.
  f.set("bin\0key\xff:{x}"s, "binary key");
  f.set("\xff\xfe"s, "two high bytes");
  f.set("bull:\xffq:1"s, "binary queue name");
  f.set("data_version", "1");  // smaller than 2: the guard says 2
  f.many("user:", 150);

  f.select(1);
  f.set("data_version", "5");  // larger: kept
  for (int i = 0; i < 40; ++i) f.hset("cache:address:" + std::to_string(i), {{"street", "Lenina " + std::to_string(i)}});
  f.ttl("cache:address:3", 7);
  f.rpush("bull:geocode:wait", {"1", "2"});
  f.hset("bull:geocode:1", {{"name", "geocode"}});
  f.set("bull:geocode:id", "1");
  f.set("counter", "7");  // the same source name as in db 0: another application's name

  f.select(2);
  f.set("data_version", "not a number");  // the guard says 2
  f.stream("events", 6);
  f.hset("bull:emails:1", {{"name", "eps's own emails queue"}});
  f.set("bull:emails:id", "1");
  f.zadd("leaderboard", 6);
  f.many("payment:", 40);
}

// Host B: billing (db 3), news-greenhouse (db 4).
void fill_host_b(Filler& f) {
  f.select(3);
  f.many("invoice:", 80);
  f.rpush("queue:list", {"x", "y"});
  f.rpush("bull:payments:wait", {"10", "11"});
  f.hset("bull:payments:10", {{"name", "charge"}});
  f.set("bull:payments:id", "11");
  f.set("b\0in"s, "binary key on host b");
  f.select(4);
  f.set("data_version", "1");
  f.sadd("news:tags", {"a", "b", "c"});
  f.hset("news:{hot}:1", {{"title", "hashtag-like braces"}});
  f.ttl("news:{hot}:1", 12);
  f.many("article:", 30);
}

// Host C: miniapp (db 0, the same number as condo's on host A), condo (db 6, disjoint names, a
// data_version of 3 that wins over host A's 1, and more jobs of condo's "emails" queue).
void fill_host_c(Filler& f) {
  f.select(0);
  f.many("mini:", 30);
  f.rpush("bull:emails:wait", {"m1"});  // miniapp's own emails queue
  f.select(6);
  f.set("data_version", "3");
  f.many("hostc:", 20);
  f.hset("bull:emails:3", {{"name", "send"}, {"data", "from host c"}});
  f.cmd({"ZADD", "bull:emails:delayed", "1700000000000", "3"});
}

// A source server, the dump it saved (copied to `path`), and the keys of its databases.
struct Source {
  std::string name;  // as given on the command line
  std::string path;  // where the dump is
  std::map<int, std::vector<std::pair<std::string, KeyValue>>> dbs;
};

template <typename Fill>
Source make_source(const std::string& name, const std::string& path, Fill fill) {
  Source s;
  s.name = name;
  s.path = path;
  RedisServer server;  // Debian's redis-server, standalone, 16 databases
  RespClient& c = server.client();
  c.ok({"CONFIG", "SET", "rdbcompression", "yes"});
  Filler f(c);
  fill(f);
  for (int db = 0; db < 16; ++db) {
    c.ok({"SELECT", std::to_string(db)});
    std::vector<std::string> keys = c.ok({"KEYS", "*"}).strings();
    std::sort(keys.begin(), keys.end());
    for (const auto& k : keys) s.dbs[db].emplace_back(k, read_value(c, k));
  }
  EXPECT_EQ(c.ok({"SAVE"}).text(), "OK");
  fs::copy_file(server.rdb_path(), path, fs::copy_options::overwrite_existing);
  return s;
}

// ---------------------------------------------------------------------------------------------
// What the cluster must hold.

struct WantKey {
  std::string prefix;
  std::string origin;  // "input db N key K", for messages
  KeyValue value;
};

struct Want {
  std::map<std::string, WantKey> keys;                  // output name -> source (guards not included)
  std::map<std::string, std::string> guards;            // prefix -> guard value
  std::map<std::pair<std::string, std::string>, std::set<std::string>> queues;  // (prefix, queue) -> names
  size_t total() const { return keys.size() + guards.size(); }
};

// mapping: (source index, db) -> application name (an npm name or a prefix).
Want want_of(const std::vector<Source>& sources, const std::map<std::pair<size_t, int>, std::string>& mapping) {
  Want w;
  std::map<std::string, long long> guard;  // prefix -> max
  for (const auto& [where, app] : mapping) {
    const Source& s = sources.at(where.first);
    const std::string P = prefix_of(app);
    guard.emplace(P, 2);
    auto db = s.dbs.find(where.second);
    if (db == s.dbs.end()) continue;
    for (const auto& [key, value] : db->second) {
      const std::string name = renamed(P, key);
      if (name == P + ":data_version") {
        if (auto n = whole_number(value.value.is_bulk() ? value.value.str : ""); n && *n > guard[P]) guard[P] = *n;
        continue;
      }
      WantKey k{P, s.name + " db " + std::to_string(where.second) + " key " + show(key), value};
      EXPECT_TRUE(w.keys.emplace(name, k).second) << "test data error: two source keys become " << show(name);
      if (std::string q = queue_of(P, name); !q.empty()) w.queues[{P, q}].insert(name);
    }
  }
  for (const auto& [P, n] : guard) w.guards[P] = std::to_string(n);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Servers under test and the clusters made of them.

std::string binary_for(const std::string& server) {
  if (server == "redis") return redis_server_binary();
  const char* v = std::getenv("VALKEY_SERVER");
  return v && *v ? v : "";
}

// One cluster per server binary, kept across the tests of a suite (each restore replaces the
// whole dataset of every primary), made again when a test left it unhealthy.
class ClusterPool {
 public:
  static RedisCluster& get(const std::string& binary) {
    auto& c = clusters()[binary];
    std::string why;
    if (c && !c->healthy(&why)) {
      std::cerr << "the cluster of " << binary << " is not healthy (" << why << "): making a new one\n";
      c.reset();
    }
    if (!c) {
      RedisClusterOptions o;
      o.server_binary = binary;
      c = std::make_unique<RedisCluster>(o);
    }
    return *c;
  }
  static void clear() { clusters().clear(); }

 private:
  static std::map<std::string, std::unique_ptr<RedisCluster>>& clusters() {
    static std::map<std::string, std::unique_ptr<RedisCluster>> m;
    return m;
  }
};

RunResult rdbrekey(const Args& args, const std::string& cwd = {}) {
  Args argv;
  if (!cwd.empty()) argv = {"env", "-C", cwd};
  argv.push_back(rdbrekey_binary());
  argv.push_back("convert");
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, 120);
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// The CRC-64 at the end of an RDB file, as 16 hex digits.
std::string trailer_crc(const std::string& bytes) {
  if (bytes.size() < 8) return {};
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[bytes.size() - 8 + static_cast<size_t>(i)]);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::vector<SlotRange> ranges_of(const Json& slots) {
  std::vector<SlotRange> out;
  for (const auto& r : slots) out.push_back({r.at(0).get<int>(), r.at(1).get<int>()});
  std::sort(out.begin(), out.end(), [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  return out;
}

std::string show_ranges(const std::vector<SlotRange>& r) {
  std::string s;
  for (const auto& x : r) s += (s.empty() ? "" : " ") + std::to_string(x.first) + "-" + std::to_string(x.last);
  return s;
}

// The forms a topology is read in.
enum class Form { kClusterNodes, kNodesConf, kShardsText, kShardsRaw, kShardsJson, kNumber };

std::string form_name(Form f) {
  switch (f) {
    case Form::kClusterNodes: return "ClusterNodes";
    case Form::kNodesConf: return "NodesConf";
    case Form::kShardsText: return "ShardsText";
    case Form::kShardsRaw: return "ShardsRaw";
    case Form::kShardsJson: return "ShardsJson";
    case Form::kNumber: return "Number";
  }
  return "?";
}

void PrintTo(Form f, std::ostream* os) { *os << form_name(f); }

// Writes the topology in the given form into `dir`; returns the --cluster argument.
std::string write_topology(const RedisCluster& cluster, Form form, const std::string& dir) {
  switch (form) {
    case Form::kClusterNodes:
      write_file(dir + "/nodes.txt", cluster.cluster_nodes());
      return dir + "/nodes.txt";
    case Form::kNodesConf: {
      // A replica's own file: its "myself" line is not a primary's.
      const ClusterNode* r = cluster.replicas_of(cluster.primaries().back()->id()).at(0);
      fs::copy_file(r->nodes_conf_path(), dir + "/nodes.conf");
      return dir + "/nodes.conf";
    }
    case Form::kShardsText:
      write_file(dir + "/shards.txt", cluster.cluster_shards_text());
      return dir + "/shards.txt";
    case Form::kShardsRaw:
      write_file(dir + "/shards.raw", cluster.cluster_shards_raw());
      return dir + "/shards.raw";
    case Form::kShardsJson:
      write_file(dir + "/shards.json", cluster.cluster_shards_json());
      return dir + "/shards.json";
    case Form::kNumber:
      return std::to_string(cluster.primaries().size());
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// The checks.

// The manifest against the expectation and the cluster's layout, before the restore. Returns the
// file of each primary (node id -> path) for the restore; empty on a fatal mismatch.
std::map<std::string, std::string> check_manifest(const RedisCluster& cluster, const Want& want, const Json& m,
                                                  const std::string& outdir, bool number_form,
                                                  const std::map<std::string, int>& slot_of) {
  std::map<std::string, std::string> restore;
  EXPECT_EQ(m.value("schema_version", 0), 1);
  EXPECT_EQ(m.value("keys", -1), static_cast<long long>(want.total())) << "all keys written, guards included";
  const auto primaries = cluster.primaries();
  const Json& files = m.at("files");
  if (files.size() != primaries.size()) {
    ADD_FAILURE() << "one file per primary: " << files.size() << " files for " << primaries.size() << " primaries";
    return {};
  }

  // Expected counts per slot, from CLUSTER KEYSLOT of every expected name.
  std::map<int, long long> want_per_slot;
  for (const auto& [name, slot] : slot_of) ++want_per_slot[slot];
  std::map<int, long long> manifest_per_slot;

  std::set<std::string> names_on_disk;
  for (const auto& e : fs::directory_iterator(outdir)) names_on_disk.insert(e.path().filename().string());
  std::set<std::string> names_listed{"manifest.json"};

  for (size_t k = 0; k < files.size(); ++k) {
    const Json& f = files[k];
    const ClusterNode* p = primaries[k];  // files in the order of the primaries' first slot
    const std::string file = f.at("file").get<std::string>();
    names_listed.insert(file);
    SCOPED_TRACE("file " + file);
    EXPECT_EQ(file, number_form ? "shard-" + std::to_string(k + 1) + "-of-" + std::to_string(primaries.size()) + ".rdb"
                                : "shard-" + std::to_string(k + 1) + "-127.0.0.1-" + std::to_string(p->port()) + ".rdb");
    EXPECT_EQ(show_ranges(ranges_of(f.at("slots"))), show_ranges(p->slots())) << "the primary's slots";
    if (!number_form) {
      EXPECT_EQ(f.value("node_id", ""), p->id());
      EXPECT_EQ(f.value("address", ""), p->address());
    }
    // The restore target: by node id, or (a number topology) by the slots it was cut for.
    const ClusterNode* target = nullptr;
    for (const auto* q : primaries) {
      if (!number_form && f.value("node_id", "") == q->id()) target = q;
      if (number_form && ranges_of(f.at("slots")) == q->slots()) target = q;
    }
    if (!target) {
      ADD_FAILURE() << "no primary of the cluster for " << f.dump();
      return {};
    }
    restore[target->id()] = outdir + "/" + file;

    const std::string bytes = read_file(outdir + "/" + file);
    EXPECT_EQ(f.value("bytes", -1LL), static_cast<long long>(bytes.size()));
    EXPECT_EQ(f.value("crc64", ""), trailer_crc(bytes)) << "the file's CRC-64 trailer";
    EXPECT_EQ(bytes.substr(0, 9), m.value("output_version", "")) << "output_version is every file's magic";

    long long sum = 0, ttl = 0, want_in_file = 0;
    for (const auto& [slot_text, n] : f.at("keys_per_slot").items()) {
      int slot = std::stoi(slot_text);
      EXPECT_TRUE(p->owns(slot)) << "slot " << slot << " listed in the file of another primary";
      manifest_per_slot[slot] += n.get<long long>();
      sum += n.get<long long>();
    }
    for (const auto& [name, slot] : slot_of) {
      if (!p->owns(slot)) continue;
      ++want_in_file;
      auto k = want.keys.find(name);
      if (k != want.keys.end() && k->second.value.expire_at != -1) ++ttl;
    }
    EXPECT_EQ(f.value("keys", -1LL), sum) << "keys = the sum of keys_per_slot";
    EXPECT_EQ(f.value("keys", -1LL), want_in_file) << "keys = the expected names in the primary's slots";
    EXPECT_EQ(f.value("keys_with_ttl", -1LL), ttl);
  }
  EXPECT_EQ(manifest_per_slot, want_per_slot) << "keys per slot: manifest vs CLUSTER KEYSLOT of the expected names";
  EXPECT_EQ(names_on_disk, names_listed) << "the output directory holds the listed files and manifest.json only";

  // Applications: the guard's place and the keys per file.
  const Json& apps = m.at("applications");
  EXPECT_EQ(apps.size(), want.guards.size());
  for (const auto& a : apps) {
    const std::string P = a.value("prefix", "");
    SCOPED_TRACE("application " + P);
    if (!want.guards.count(P)) {
      ADD_FAILURE() << "unexpected application " << a.dump();
      continue;
    }
    const std::string guard = P + ":data_version";
    const int slot = slot_of.at(guard);
    EXPECT_EQ(a.at("guard").value("key", ""), guard);
    EXPECT_EQ(a.at("guard").value("slot", -1), slot);
    const ClusterNode& owner = cluster.owner_of_slot(slot);
    std::string owner_file;
    std::map<std::string, long long> want_per_file;
    for (const auto& f : files) {
      const std::string file = f.at("file").get<std::string>();
      if (ranges_of(f.at("slots")) == owner.slots()) owner_file = file;
    }
    EXPECT_EQ(a.at("guard").value("file", ""), owner_file);
    long long n = 0;
    for (const auto& [name, k] : want.keys) {
      if (k.prefix != P) continue;
      ++n;
      const ClusterNode& o = cluster.owner_of_slot(slot_of.at(name));
      for (const auto& f : files)
        if (ranges_of(f.at("slots")) == o.slots()) ++want_per_file[f.at("file").get<std::string>()];
    }
    // "keys" may or may not count the guard; keys_per_file must agree with it either way.
    const long long keys = a.value("keys", -1LL);
    EXPECT_TRUE(keys == n || keys == n + 1) << "keys " << keys << ", expected " << n << " (+1 with the guard)";
    if (keys == n + 1) ++want_per_file[owner_file];
    EXPECT_TRUE(a.contains("keys_per_file")) << "the application's entry has no keys_per_file: " << a.dump();
    if (a.contains("keys_per_file")) {
      std::map<std::string, long long> got_per_file;
      for (const auto& [file, c] : a.at("keys_per_file").items())
        if (c.get<long long>() != 0) got_per_file[file] = c.get<long long>();
      EXPECT_EQ(got_per_file, want_per_file) << "keys_per_file";
    }
  }

  // Bull queues: one slot, one file each. The list is "bull_queues", or "queues" with a
  // "family" per entry (--hashtag families); the Bull entries are compared.
  EXPECT_TRUE(m.contains("bull_queues") || m.contains("queues")) << "the manifest lists no queues";
  std::map<std::pair<std::string, std::string>, Json> listed;
  for (const char* list : {"bull_queues", "queues"}) {
    if (!m.contains(list)) continue;
    for (const auto& q : m.at(list))
      if (q.value("family", "bull") == "bull") listed[{q.value("application", ""), q.value("queue", "")}] = q;
  }
  EXPECT_EQ(listed.size(), want.queues.size());
  for (const auto& [pq, names] : want.queues) {
    const std::string what = pq.first + " queue " + show(pq.second);
    auto it = listed.find({as_code_points(pq.first), as_code_points(pq.second)});
    if (it == listed.end()) {
      ADD_FAILURE() << "the manifest does not list " << what;
      continue;
    }
    const Json& q = it->second;
    const int slot = slot_of.at(*names.begin());
    const ClusterNode& owner = cluster.owner_of_slot(slot);
    std::string owner_file;
    for (const auto& f : files)
      if (ranges_of(f.at("slots")) == owner.slots()) owner_file = f.at("file").get<std::string>();
    EXPECT_EQ(q.value("keys", -1LL), static_cast<long long>(names.size())) << what;
    EXPECT_EQ(q.at("slots"), Json::array({slot})) << what;
    EXPECT_EQ(q.at("files"), Json::array({owner_file})) << what;
    EXPECT_EQ(q.value("one_slot", false), true) << what;
  }
  return restore;
}

// The restored cluster against the sources and the manifest.
// log_from: the size of each node's log before the restore (only what the restore wrote is
// searched: a cluster serves several tests). restarted: the primaries were restarted on their
// files (not so for a live restore).
void check_cluster(const RedisCluster& cluster, const Want& want, const Json& m,
                   const std::map<std::string, int>& slot_of, bool same_binary_as_sources,
                   const std::map<std::string, size_t>& log_from, bool restarted = true) {
  const auto primaries = cluster.primaries();

  // Health and logs, every node.
  for (const auto* n : cluster.nodes()) {
    SCOPED_TRACE("node " + n->address() + (n->is_primary() ? " (primary)" : " (replica)"));
    RespClient c = n->connect();
    const std::string info = c.ok({"CLUSTER", "INFO"}).text();
    EXPECT_EQ(info_field(info, "cluster_state"), "ok");
    EXPECT_EQ(info_field(info, "cluster_slots_assigned"), "16384");
    const std::string whole = n->log();
    const std::string log = whole.substr(std::min(whole.size(), log_from.count(n->id()) ? log_from.at(n->id()) : 0));
    if (n->is_primary() && restarted)
      EXPECT_NE(log.find("Ready to accept connections"), std::string::npos) << "the primary started again";
    for (const char* bad : {"Deleting keys in the slot", "Taking responsibility", "importing state"})
      EXPECT_EQ(log.find(bad), std::string::npos) << "the log says \"" << bad << "\":\n" << tail_lines(log, 30);
  }

  // Key counts: DBSIZE per primary = the manifest's file; the sum = the manifest's keys;
  // replicas hold as many as their primary.
  long long total = 0;
  for (size_t k = 0; k < primaries.size(); ++k) {
    const ClusterNode* p = primaries[k];
    RespClient c = p->connect();
    const long long n = c.ok({"DBSIZE"}).as_int();
    total += n;
    EXPECT_EQ(n, m.at("files").at(k).value("keys", -1LL)) << p->address();
    for (const auto* r : cluster.replicas_of(p->id()))
      EXPECT_EQ(r->connect().ok({"DBSIZE"}).as_int(), n) << "replica " << r->address() << " of " << p->address();
    // COUNTKEYSINSLOT on the owner = keys_per_slot, for every listed slot.
    std::vector<Args> batch;
    std::vector<std::pair<int, long long>> listed;
    for (const auto& [slot_text, cnt] : m.at("files").at(k).at("keys_per_slot").items()) {
      batch.push_back({"CLUSTER", "COUNTKEYSINSLOT", slot_text});
      listed.emplace_back(std::stoi(slot_text), cnt.get<long long>());
    }
    std::vector<Reply> counts = c.pipeline(batch);
    for (size_t i = 0; i < listed.size(); ++i)
      EXPECT_EQ(counts[i].as_int(), listed[i].second) << "COUNTKEYSINSLOT " << listed[i].first << " on " << p->address();
    // Exactly the expected names, and as many with a TTL as the manifest says.
    std::vector<std::string> keys = c.ok({"KEYS", "*"}).strings();
    std::set<std::string> got(keys.begin(), keys.end()), expected;
    for (const auto& [name, slot] : slot_of)
      if (p->owns(slot)) expected.insert(name);
    for (const auto& name : expected) EXPECT_TRUE(got.count(name)) << "missing on " << p->address() << ": " << show(name);
    for (const auto& name : got) EXPECT_TRUE(expected.count(name)) << "unexpected on " << p->address() << ": " << show(name);
    const std::string keyspace = c.ok({"INFO", "keyspace"}).text();
    const std::string db0 = info_field(keyspace, "db0");
    const long long with_ttl = m.at("files").at(k).value("keys_with_ttl", -1LL);
    EXPECT_NE(db0.find("expires=" + std::to_string(with_ttl) + ","), std::string::npos) << db0;
  }
  EXPECT_EQ(total, m.value("keys", -1LL)) << "the sum of DBSIZE over the primaries";
  EXPECT_EQ(total, static_cast<long long>(want.total()));

  // Every key: value, type and expiry as in the source, read on the node that owns its slot.
  std::map<std::string, RespClient> conns;
  auto conn_for = [&](const std::string& name) -> RespClient& {
    const ClusterNode& o = cluster.owner_of_slot(slot_of.at(name));
    auto it = conns.find(o.id());
    if (it == conns.end()) it = conns.emplace(o.id(), o.connect()).first;
    return it->second;
  };
  for (const auto& [name, k] : want.keys) {
    SCOPED_TRACE(k.origin + " -> " + show(name));
    KeyValue got = read_value(conn_for(name), name);
    EXPECT_EQ(got.type, k.value.type);
    EXPECT_EQ(got.value, k.value.value);
    EXPECT_EQ(got.expire_at, k.value.expire_at) << "expiry (absolute ms) as in the source";
    // The same server binary serializes a value alike, except a hash table's order (each
    // process seeds its hash function at random).
    if (same_binary_as_sources) {
      EXPECT_EQ(got.encoding, k.value.encoding);
      if (k.value.encoding != "hashtable") EXPECT_TRUE(got.dump == k.value.dump) << "DUMP payloads differ";
    }
  }
  for (const auto& [P, value] : want.guards) {
    const std::string guard = P + ":data_version";
    SCOPED_TRACE("guard " + guard);
    RespClient& c = conn_for(guard);
    EXPECT_EQ(c.ok({"GET", guard}), Reply::bulk(value));
    EXPECT_EQ(c.ok({"PTTL", guard}).as_int(), -1);
    // Through the cluster client, from a node that does not own it (it follows MOVED).
    const ClusterNode& owner = cluster.owner_of_slot(slot_of.at(guard));
    const ClusterNode* other = primaries.front()->id() == owner.id() ? primaries.back() : primaries.front();
    RunResult r = cluster.cli({"GET", guard}, other->id());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, value + "\n");
  }

  // Bull queues: all keys of a queue on one node, and a multi-key script over them runs there.
  std::vector<std::string> first_keys;  // a key of each queue, for the CROSSSLOT control below
  for (const auto& [pq, names] : want.queues) {
    const std::string what = pq.first + " queue " + show(pq.second);
    std::set<int> slots;
    for (const auto& n : names) slots.insert(slot_of.at(n));
    EXPECT_EQ(slots.size(), 1u) << what << " spans slots";
    std::set<std::string> owners;
    for (int s : slots) owners.insert(cluster.owner_of_slot(s).id());
    EXPECT_EQ(owners.size(), 1u) << what << " spans nodes";
    Args eval{"EVAL", "return redis.call('EXISTS', unpack(KEYS))", std::to_string(names.size())};
    eval.insert(eval.end(), names.begin(), names.end());
    Reply r = conn_for(*names.begin()).cmd(eval);
    EXPECT_EQ(r, Reply::number(static_cast<long long>(names.size()))) << what << ": " << to_string(r);
    first_keys.push_back(*names.begin());
  }
  // The same through redis-cli -c, for the queue "emails" of condo (printable names), from
  // every primary (it follows MOVED from the others).
  auto emails = want.queues.find({"condo", "emails"});
  ASSERT_NE(emails, want.queues.end());
  std::vector<std::string> three(emails->second.begin(), emails->second.end());
  three.resize(3);
  for (const auto* p : primaries) {
    RunResult r = cluster.cli({"EVAL", "return redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3])", "3", three[0], three[1],
                               three[2]},
                              p->id());
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "3\n") << "via " << p->address() << ": " << describe(r);
  }
  // Control: keys of two queues in different slots are refused with CROSSSLOT, so the checks
  // above do test something.
  for (size_t i = 1; i < first_keys.size(); ++i) {
    if (slot_of.at(first_keys[i]) == slot_of.at(first_keys[0])) continue;
    Reply r = conn_for(first_keys[0]).cmd({"EVAL", "return redis.call('EXISTS', KEYS[1], KEYS[2])", "2", first_keys[0],
                                           first_keys[i]});
    EXPECT_TRUE(r.is_error() && r.str.find("CROSSSLOT") != std::string::npos) << to_string(r);
    break;
  }
}

// CLUSTER KEYSLOT of every expected name (keys and guards), asked of one node.
std::map<std::string, int> slots_of(const RedisCluster& cluster, const Want& want) {
  std::vector<std::string> names;
  for (const auto& [name, k] : want.keys) names.push_back(name);
  for (const auto& [P, v] : want.guards) names.push_back(P + ":data_version");
  std::vector<Args> batch;
  for (const auto& n : names) batch.push_back({"CLUSTER", "KEYSLOT", n});
  RespClient c = cluster.nodes().back()->connect();
  std::vector<Reply> r = c.pipeline(batch);
  std::map<std::string, int> out;
  for (size_t i = 0; i < names.size(); ++i) {
    int slot = static_cast<int>(r[i].as_int());
    EXPECT_TRUE(slot >= 0 && slot < kSlots);
    out[names[i]] = slot;
  }
  return out;
}

// Converts, checks the manifest, restores, checks the cluster.
void convert_restore_check(RedisCluster& cluster, const Want& want, const Args& args, const std::string& outdir,
                           bool number_form, const std::string& cwd = {}) {
  ASSERT_GT(want.keys.size(), 100u);
  ASSERT_FALSE(fs::exists(outdir)) << "the CLI is to create the output directory";
  RunResult r = rdbrekey(args, cwd);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(fs::exists(outdir + "/manifest.json")) << describe(r);
  Json m = Json::parse(read_file(outdir + "/manifest.json"));

  const std::map<std::string, int> slot_of = slots_of(cluster, want);
  std::map<std::string, std::string> restore = check_manifest(cluster, want, m, outdir, number_form, slot_of);
  ASSERT_EQ(restore.size(), cluster.primaries().size()) << m.dump(2);

  std::map<std::string, size_t> log_from;
  for (const auto* n : cluster.nodes()) log_from[n->id()] = n->log().size();
  cluster.restart_primaries_with(restore);
  check_cluster(cluster, want, m, slot_of, cluster.options().server_binary == redis_server_binary(), log_from);
}

// ---------------------------------------------------------------------------------------------
// The tests.

class ClusterTest {
 protected:
  // The cluster of the server under test, or nullptr when that server is not there (the test
  // skips).
  static RedisCluster* cluster_of(const std::string& server) {
    const std::string binary = binary_for(server);
    if (binary.empty()) return nullptr;
    return &ClusterPool::get(binary);
  }
};

class ClusterRestore : public ::testing::TestWithParam<std::tuple<std::string, Form>>, protected ClusterTest {
 protected:
  static void TearDownTestSuite() { ClusterPool::clear(); }
};

class ClusterRestoreMerged : public ::testing::TestWithParam<std::string>, protected ClusterTest {
 protected:
  static void TearDownTestSuite() { ClusterPool::clear(); }
};

#define CLUSTER_OR_SKIP(server)                                                                  \
  RedisCluster* cluster_ptr = cluster_of(server);                                               \
  if (!cluster_ptr) GTEST_SKIP() << "skipped: set VALKEY_SERVER to a valkey-server binary";     \
  RedisCluster& cluster = *cluster_ptr

// One dump with three databases, the topology read from the running cluster in one form.
TEST_P(ClusterRestore, OneDump) {
  const auto& [server, form] = GetParam();
  CLUSTER_OR_SKIP(server);
  TempDir work;
  std::vector<Source> sources{make_source(work.file("host-a.rdb"), work.file("host-a.rdb"), fill_host_a)};
  ASSERT_FALSE(HasFailure());
  const Want want =
      want_of(sources, {{{0, 0}, "@app/condo"}, {{0, 1}, "@app/address-service"}, {{0, 2}, "eps"}});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(want.guards.at("condo"), "2");
  EXPECT_EQ(want.guards.at("address_service"), "5");
  EXPECT_EQ(want.guards.at("eps"), "2");

  const std::string topology = write_topology(cluster, form, work.path());
  const std::string outdir = work.file("out");
  Args args{sources[0].path, "-a", "0=@app/condo", "-a", "1=@app/address-service", "-a", "2=eps",
            "--cluster", topology, "--output-dir", outdir};
  convert_restore_check(cluster, want, args, outdir, form == Form::kNumber);

  if (form != Form::kNumber && fs::exists(outdir + "/manifest.json")) {
    Json m = Json::parse(read_file(outdir + "/manifest.json"));
    EXPECT_EQ(m.at("topology").value("source", ""), topology);
    if (form == Form::kClusterNodes) EXPECT_EQ(m.at("topology").value("format", ""), "cluster-nodes");
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, ClusterRestore,
                         ::testing::Combine(::testing::Values("redis", "valkey"),
                                            ::testing::Values(Form::kClusterNodes, Form::kNodesConf, Form::kShardsText,
                                                              Form::kShardsRaw, Form::kShardsJson, Form::kNumber)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + form_name(std::get<1>(info.param));
                         });

// Two hosts' dumps merged: host A's databases mapped per input, host B's db 3 by a mapping for
// every input (host A has no db 3).
TEST_P(ClusterRestoreMerged, TwoDumps) {
  CLUSTER_OR_SKIP(GetParam());
  TempDir work;
  std::vector<Source> sources{make_source(work.file("host-a.rdb"), work.file("host-a.rdb"), fill_host_a),
                              make_source(work.file("host-b.rdb"), work.file("host-b.rdb"), fill_host_b)};
  ASSERT_FALSE(HasFailure());
  const Want want = want_of(sources, {{{0, 0}, "@app/condo"},
                                      {{0, 1}, "@app/address-service"},
                                      {{0, 2}, "eps"},
                                      {{1, 3}, "billing"},
                                      {{1, 4}, "@app/news-greenhouse"}});
  ASSERT_FALSE(HasFailure());
  const std::string a = sources[0].path, b = sources[1].path;
  write_file(work.file("nodes.txt"), cluster.cluster_nodes());
  const std::string outdir = work.file("out");
  Args args{a, b, "-a", a + ":0=@app/condo", "-a", a + ":1=@app/address-service", "-a", a + ":2=eps",
            "-a", "3=billing", "-a", b + ":4=@app/news-greenhouse", "--cluster", work.file("nodes.txt"),
            "--output-dir", outdir, "--report", work.file("report.json")};
  convert_restore_check(cluster, want, args, outdir, false);
  EXPECT_TRUE(Json::accept(read_file(work.file("report.json")))) << "the --report file is JSON";
}

// Three hosts' dumps, named relative to the working directory as an operator types them: db 0
// is condo on host A and miniapp on host C; condo's keys come from host A db 0 and host C db 6
// (its guard takes the larger data_version, and its "emails" queue gets jobs from both).
TEST_P(ClusterRestoreMerged, ThreeDumps) {
  CLUSTER_OR_SKIP(GetParam());
  TempDir work;
  std::vector<Source> sources{make_source("host-a.rdb", work.file("host-a.rdb"), fill_host_a),
                              make_source("host-b.rdb", work.file("host-b.rdb"), fill_host_b),
                              make_source("host-c.rdb", work.file("host-c.rdb"), fill_host_c)};
  ASSERT_FALSE(HasFailure());
  const Want want = want_of(sources, {{{0, 0}, "@app/condo"},
                                      {{0, 1}, "@app/address-service"},
                                      {{0, 2}, "eps"},
                                      {{1, 3}, "billing"},
                                      {{1, 4}, "@app/news-greenhouse"},
                                      {{2, 0}, "miniapp"},
                                      {{2, 6}, "@app/condo"}});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(want.guards.at("condo"), "3");
  EXPECT_EQ(want.queues.at({"condo", "emails"}).size(), 8u) << "six keys from host A, two from host C";
  write_file(work.file("shards.json"), cluster.cluster_shards_json());
  Args args{"host-a.rdb", "host-b.rdb", "host-c.rdb",
            "-a", "host-a.rdb:0=@app/condo", "-a", "host-a.rdb:1=@app/address-service", "-a", "host-a.rdb:2=eps",
            "-a", "host-b.rdb:3=billing", "-a", "host-b.rdb:4=@app/news-greenhouse",
            "-a", "host-c.rdb:0=miniapp", "-a", "host-c.rdb:6=@app/condo",
            "--aux-from", "host-b.rdb", "--cluster", "shards.json", "--output-dir", "out"};
  convert_restore_check(cluster, want, args, work.file("out"), false, work.path());
}

// A topology that leaves slots without a primary: nothing is written.
TEST_P(ClusterRestoreMerged, TopologyWithoutEverySlotWritesNothing) {
  CLUSTER_OR_SKIP(GetParam());
  TempDir work;
  Source a = make_source(work.file("host-a.rdb"), work.file("host-a.rdb"), fill_host_a);
  ASSERT_FALSE(HasFailure());
  // CLUSTER NODES without the line of the last primary (and of its replica).
  const std::string dropped = cluster.primaries().back()->id();
  const std::string all = cluster.cluster_nodes();
  std::string text;
  for (size_t pos = 0, end; pos < all.size(); pos = end + 1) {
    end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    const std::string line = all.substr(pos, end - pos);
    if (line.find(dropped) == std::string::npos) text += line + "\n";
  }
  write_file(work.file("nodes.txt"), text);
  RunResult r = rdbrekey({a.path, "-a", "0=@app/condo", "-a", "1=@app/address-service", "-a", "2=eps", "--cluster",
                          work.file("nodes.txt"), "--output-dir", work.file("out")});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(r.err.empty());
  bool any = fs::exists(work.file("out")) && !fs::is_empty(work.file("out"));
  EXPECT_FALSE(any) << "files were left in the output directory";
}

INSTANTIATE_TEST_SUITE_P(Servers, ClusterRestoreMerged, ::testing::Values("redis", "valkey"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// `rdbrekey restore` into the running cluster: no restart. The cluster must end up holding what
// the per-shard files of `convert --cluster` would have given it (their manifest is the
// expectation), checked as after a restore from files.

class LiveRestore : public ::testing::TestWithParam<std::string>, protected ClusterTest {
 protected:
  static void TearDownTestSuite() { ClusterPool::clear(); }
};

RunResult rdbrekey_restore(const Args& args) {
  Args argv{rdbrekey_binary(), "restore"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, 120);
}

// Every primary emptied (keys and function libraries), and its replicas with it.
void empty_cluster(const RedisCluster& cluster) {
  for (const auto* p : cluster.primaries()) {
    RespClient c = p->connect();
    c.ok({"FLUSHALL"});
    c.ok({"FUNCTION", "FLUSH"});
  }
  cluster.wait_for_replicas_in_sync();
}

long long cluster_keys(const RedisCluster& cluster) {
  long long n = 0;
  for (const auto* p : cluster.primaries()) n += p->connect().ok({"DBSIZE"}).as_int();
  return n;
}

TEST_P(LiveRestore, OneDumpThroughAReplicasAddress) {
  CLUSTER_OR_SKIP(GetParam());
  TempDir work;
  // Host A's data and a function library (not a key: it goes to every primary).
  std::vector<Source> sources{make_source(work.file("host-a.rdb"), work.file("host-a.rdb"), [](Filler& f) {
    fill_host_a(f);
    f.cmd({"FUNCTION", "LOAD",
           "#!lua name=livelib\nredis.register_function('live_noop', function(keys, args) return 1 end)"});
  })};
  ASSERT_FALSE(HasFailure());
  const Want want =
      want_of(sources, {{{0, 0}, "@app/condo"}, {{0, 1}, "@app/address-service"}, {{0, 2}, "eps"}});
  ASSERT_FALSE(HasFailure());
  const Args apps{"-a", "0=@app/condo", "-a", "1=@app/address-service", "-a", "2=eps"};

  // The expectation: the manifest of the per-shard split for this cluster's topology.
  write_file(work.file("nodes.txt"), cluster.cluster_nodes());
  Args split{sources[0].path, "--cluster", work.file("nodes.txt"), "--output-dir", work.file("split")};
  split.insert(split.end(), apps.begin(), apps.end());
  RunResult s = rdbrekey(split);
  ASSERT_EQ(s.exit_code, 0) << describe(s);
  const Json m = Json::parse(read_file(work.file("split/manifest.json")));
  const std::map<std::string, int> slot_of = slots_of(cluster, want);

  empty_cluster(cluster);
  const auto primaries = cluster.primaries();
  const ClusterNode* replica = cluster.replicas_of(primaries[1]->id()).at(0);
  const std::string to = "redis://127.0.0.1:" + std::to_string(replica->port());
  auto with = [&](Args extra) {
    Args a{sources[0].path};
    a.insert(a.end(), apps.begin(), apps.end());
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };

  // A dry run reads the topology (from a replica) and sends nothing.
  RunResult dry = rdbrekey_restore(with({"--to", to, "--dry-run"}));
  ASSERT_EQ(dry.exit_code, 0) << describe(dry);
  EXPECT_NE(dry.out.find("(cluster)"), std::string::npos) << dry.out;
  for (const auto* p : primaries) EXPECT_NE(dry.out.find(p->address()), std::string::npos) << dry.out;
  EXPECT_EQ(cluster_keys(cluster), 0);

  // Forced to treat a cluster node as one server: the first MOVED stops it, saying why.
  RunResult standalone = rdbrekey_restore(with({"--to", "redis://127.0.0.1:" + std::to_string(primaries[0]->port()),
                                                "--standalone"}));
  EXPECT_EQ(standalone.exit_code, 7) << describe(standalone);
  EXPECT_NE(standalone.err.find("--cluster"), std::string::npos) << standalone.err;
  empty_cluster(cluster);

  std::map<std::string, size_t> log_from;
  for (const auto* n : cluster.nodes()) log_from[n->id()] = n->log().size();
  RunResult r = rdbrekey_restore(with({"--to", to, "--report", work.file("report.json"), "--window", "1"}));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("key counts check out"), std::string::npos) << r.out;
  cluster.wait_for_replicas_in_sync();
  check_cluster(cluster, want, m, slot_of, cluster.options().server_binary == redis_server_binary(), log_from,
                /*restarted=*/false);

  // The report: per primary, what it acknowledged is what it holds and what the split put in
  // its file; the function library went to every primary.
  const Json rs = Json::parse(read_file(work.file("report.json"))).at("restore");
  EXPECT_EQ(rs.at("cluster"), true);
  EXPECT_EQ(rs.at("count_check"), "ok");
  EXPECT_EQ(rs.at("topology"), "CLUSTER SHARDS");
  EXPECT_EQ(rs.at("connections"), 1);
  EXPECT_NE(r.out.find("topology from CLUSTER SHARDS"), std::string::npos) << r.out;
  for (size_t k = 0; k < primaries.size(); ++k) {
    const Json* node = nullptr;
    for (const Json& n : rs.at("nodes"))
      if (n.at("address") == primaries[k]->address()) node = &n;
    ASSERT_TRUE(node) << "no report for " << primaries[k]->address() << ": " << rs.dump(2);
    EXPECT_EQ(node->at("id"), primaries[k]->id());
    EXPECT_EQ(node->at("restored"), m.at("files").at(k).at("keys"));
    EXPECT_EQ(node->at("functions"), 1);
    EXPECT_EQ(node->at("redirects"), 0) << "routed by slot, as CLUSTER SLOTS says";
    RespClient c = primaries[k]->connect();
    EXPECT_EQ(c.ok({"FUNCTION", "LIST"}).elements.size(), 1u) << primaries[k]->address();
  }

  // Again: every key is there. --existing error stops at the first; skip skips them all.
  RunResult again = rdbrekey_restore(with({"--to", to}));
  EXPECT_EQ(again.exit_code, 7) << describe(again);
  EXPECT_NE(again.err.find("already in the target"), std::string::npos) << again.err;
  RunResult skip = rdbrekey_restore(with({"--to", to, "--existing", "skip"}));
  EXPECT_EQ(skip.exit_code, 0) << describe(skip);
  EXPECT_NE(skip.out.find("0 restored, " + std::to_string(want.total()) + " already in the target"), std::string::npos)
      << skip.out;
  EXPECT_EQ(cluster_keys(cluster), static_cast<long long>(want.total()));

  // A user that may not run CLUSTER SHARDS (an ACL; or a release before 7.0): the topology comes
  // from CLUSTER SLOTS, and the cluster ends the same. Four connections per primary this time.
  empty_cluster(cluster);
  for (const auto* n : cluster.nodes())
    n->connect().ok({"ACL", "SETUSER", "noshards", "on", ">pw", "~*", "&*", "+@all", "-cluster|shards"});
  for (const auto* n : cluster.nodes()) log_from[n->id()] = n->log().size();
  const std::string as_user = "redis://noshards:pw@127.0.0.1:" + std::to_string(replica->port());
  RunResult slots = rdbrekey_restore(
      with({"--to", as_user, "--report", work.file("report2.json"), "--window", "1", "--connections", "4"}));
  for (const auto* n : cluster.nodes()) n->connect().ok({"ACL", "DELUSER", "noshards"});
  ASSERT_EQ(slots.exit_code, 0) << describe(slots);
  EXPECT_NE(slots.out.find("topology from CLUSTER SLOTS (CLUSTER SHARDS answered"), std::string::npos) << slots.out;
  cluster.wait_for_replicas_in_sync();
  check_cluster(cluster, want, m, slot_of, cluster.options().server_binary == redis_server_binary(), log_from,
                /*restarted=*/false);
  const Json rs2 = Json::parse(read_file(work.file("report2.json"))).at("restore");
  EXPECT_EQ(rs2.at("count_check"), "ok");
  EXPECT_EQ(rs2.at("connections"), 4);
  EXPECT_NE(rs2.at("topology").get<std::string>().find("NOPERM"), std::string::npos) << rs2.dump(2);
  for (size_t k = 0; k < primaries.size(); ++k) {
    const Json* node = nullptr;
    for (const Json& n : rs2.at("nodes"))
      if (n.at("address") == primaries[k]->address()) node = &n;
    ASSERT_TRUE(node) << "no report for " << primaries[k]->address() << ": " << rs2.dump(2);
    EXPECT_EQ(node->at("restored"), m.at("files").at(k).at("keys"));
    EXPECT_EQ(node->at("functions"), 1);
    EXPECT_EQ(node->at("redirects"), 0);
  }
  empty_cluster(cluster);  // the next test of the pool starts from files
}

// Slots move while a restore runs (a resharding): one is half-migrated when it starts (ASK) and
// finished midway (MOVED), another is migrated midway with its keys (CLUSTER SETSLOT + MIGRATE).
// Nothing is lost, nothing doubled, and the key counts are checked in total.
TEST_P(LiveRestore, SlotsMovingWhileItRuns) {
  const std::string binary = binary_for(GetParam());
  if (binary.empty()) GTEST_SKIP() << "skipped: set VALKEY_SERVER to a valkey-server binary";
  RedisClusterOptions options;
  options.server_binary = binary;
  options.replicas_per_primary = 0;
  RedisCluster cluster(options);
  const auto primaries = cluster.primaries();
  const ClusterNode& from = *primaries[0];
  const ClusterNode& to = *primaries[1];

  // The source: `keys` string keys key:N in db 0, restored as condo:key:N.
  const long long keys = 400000;
  TempDir work;
  RedisServerOptions so;
  so.extra_args = {"--enable-debug-command", "yes"};
  RedisServer source(so);
  RespClient& src = source.client();
  src.ok({"DEBUG", "POPULATE", std::to_string(keys), "key", "16"});
  src.ok({"SAVE"});
  const std::string rdb = work.file("dump.rdb");
  std::filesystem::copy_file(source.rdb_path(), rdb);

  // Two slots of `from` that hold keys; how many each gets.
  std::vector<int> moving;
  std::map<int, long long> in_slot;
  for (long long i = 0; i < keys; ++i) {
    const int slot = key_hash_slot("condo:key:" + std::to_string(i));
    ++in_slot[slot];
    if (moving.size() < 2 && from.owns(slot) && std::find(moving.begin(), moving.end(), slot) == moving.end())
      moving.push_back(slot);
  }
  ASSERT_EQ(moving.size(), 2u);
  RespClient a = from.connect(), b = to.connect();
  auto set_slot_everywhere = [&](int slot) {
    for (const ClusterNode* n : {&to, &from, primaries[2]})  // the new owner first
      n->connect().ok({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to.id()});
  };
  auto start_migrating = [&](int slot) {
    b.ok({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from.id()});
    a.ok({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to.id()});
  };
  start_migrating(moving[0]);

  const std::string report = work.file("report.json");
  // Three connections per primary: ASKING goes with its command on one of them.
  Args argv{rdbrekey_binary(), "restore", rdb, "--to", "redis://" + primaries[2]->address(), "-a", "0=condo",
            "--window", "1", "--connections", "3", "--report", report};
  std::string error;
  const pid_t pid = spawn_logged(argv, work.file("restore.log"), error);
  ASSERT_GT(pid, 0) << error;
  auto total = [&] {
    long long n = 0;
    for (const auto* p : primaries) n += p->connect().ok({"DBSIZE"}).as_int();
    return n;
  };
  for (int i = 0; i < 3000 && total() < keys / 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // The first slot's migration ends (its new keys went to `to` with ASKING); the second moves,
  // keys and all, while keys of it keep coming.
  set_slot_everywhere(moving[0]);
  start_migrating(moving[1]);
  for (;;) {
    std::vector<std::string> batch = a.ok({"CLUSTER", "GETKEYSINSLOT", std::to_string(moving[1]), "50"}).strings();
    if (batch.empty()) break;
    std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(to.port()), "", "0", "5000", "KEYS"};
    migrate.insert(migrate.end(), batch.begin(), batch.end());
    a.ok(migrate);
  }
  set_slot_everywhere(moving[1]);
  int status = 0;
  const bool still_running = ::waitpid(pid, &status, WNOHANG) == 0;
  if (still_running) ::waitpid(pid, &status, 0);
  const std::string log = read_file(work.file("restore.log"));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  EXPECT_TRUE(still_running) << "the restore ended before the slots had moved: make it longer";

  EXPECT_EQ(total(), keys + 1) << "nothing lost, nothing doubled";
  for (int slot : moving) {
    EXPECT_EQ(a.ok({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}).as_int(), 0) << slot;
    EXPECT_EQ(b.ok({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}).as_int(), in_slot[slot]) << slot;
  }
  // Values, read where the slot now is.
  src.ok({"SELECT", "0"});
  for (long long i = 0; i < keys; i += 211) {
    const std::string key = "condo:key:" + std::to_string(i);
    const int slot = key_hash_slot(key);
    const bool moved = std::find(moving.begin(), moving.end(), slot) != moving.end();
    RespClient owner = (moved ? to : cluster.owner_of_slot(slot)).connect();
    ASSERT_EQ(owner.ok({"GET", key}), src.ok({"GET", "key:" + std::to_string(i)})) << key;
  }
  const Json rs = Json::parse(read_file(report)).at("restore");
  EXPECT_EQ(rs.at("count_check"), "ok");
  EXPECT_EQ(rs.at("count_check_scope"), "total");
  long long redirects = 0;
  for (const Json& n : rs.at("nodes")) redirects += n.at("redirects").get<long long>();
  EXPECT_GT(redirects, 0) << rs.dump(2);
  EXPECT_NE(log.find("slots moved during the restore"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Servers, LiveRestore, ::testing::Values("redis", "valkey"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// The harness itself, without the CLI: per-primary dumps made by the cluster's own SAVE are put
// back with the restore runbook.

class ClusterHarness : public ::testing::TestWithParam<std::string> {};

TEST_P(ClusterHarness, StartsRestoresAndStops) {
  const std::string binary = binary_for(GetParam());
  if (binary.empty()) GTEST_SKIP() << "skipped: set VALKEY_SERVER to a valkey-server binary";
  std::vector<pid_t> pids;
  {
    RedisClusterOptions options;
    options.server_binary = binary;
    RedisCluster cluster(options);
    const auto primaries = cluster.primaries();
    ASSERT_EQ(primaries.size(), 3u);
    ASSERT_EQ(cluster.nodes().size(), 6u);
    int next = 0;
    for (const auto* p : primaries) {
      EXPECT_EQ(cluster.replicas_of(p->id()).size(), 1u);
      for (const auto& r : p->slots()) {
        EXPECT_EQ(r.first, next) << "slots in order, no gap";
        next = r.last + 1;
      }
    }
    EXPECT_EQ(next, kSlots);
    for (const auto* n : cluster.nodes()) {
      pids.push_back(n->pid());
      EXPECT_NE(cluster.cluster_nodes().find(n->id()), std::string::npos);
    }
    EXPECT_EQ(Json::parse(cluster.cluster_shards_json()).size(), 3u);
    EXPECT_NE(cluster.cluster_shards_text().find("1) \"slots\""), std::string::npos) << cluster.cluster_shards_text();
    EXPECT_EQ(cluster.cluster_shards_raw().rfind("slots\n", 0), 0u) << cluster.cluster_shards_raw();

    // Keys written through their owners; each primary's SAVE copied away; the data flushed;
    // the copies restored.
    std::map<std::string, long long> counts;
    std::vector<Args> sets;
    for (int i = 0; i < 300; ++i) {
      const std::string key = "k:" + std::to_string(i);
      const int slot = static_cast<int>(primaries[0]->connect().ok({"CLUSTER", "KEYSLOT", key}).as_int());
      const ClusterNode& owner = cluster.owner_of_slot(slot);
      owner.connect().ok({"SET", key, "v" + std::to_string(i)});
      ++counts[owner.id()];
    }
    TempDir saved;
    std::map<std::string, std::string> files;
    for (const auto* p : primaries) {
      RespClient c = p->connect();
      c.ok({"SAVE"});
      files[p->id()] = saved.file(p->id() + ".rdb");
      fs::copy_file(p->rdb_path(), files[p->id()]);
      c.ok({"FLUSHALL"});
    }
    cluster.wait_for_replicas_in_sync();
    for (const auto* n : cluster.nodes()) EXPECT_EQ(n->connect().ok({"DBSIZE"}).as_int(), 0);
    cluster.restart_primaries_with(files);
    for (const auto* p : primaries) {
      EXPECT_EQ(p->connect().ok({"DBSIZE"}).as_int(), counts[p->id()]);
      for (const auto* r : cluster.replicas_of(p->id())) EXPECT_EQ(r->connect().ok({"DBSIZE"}).as_int(), counts[p->id()]);
    }
    EXPECT_EQ(cluster.cli({"GET", "k:17"}).out, "v17\n") << "redis-cli -c follows MOVED";
    for (const auto* p : primaries) {
      EXPECT_NE(p->log().find("Ready to accept connections"), std::string::npos);
      EXPECT_TRUE(cluster.node(p->id()).running());
    }
    std::string why;
    EXPECT_TRUE(cluster.healthy(&why)) << why;
  }
  for (pid_t pid : pids) EXPECT_TRUE(::kill(pid, 0) != 0 && errno == ESRCH) << "process " << pid << " still exists";
}

INSTANTIATE_TEST_SUITE_P(Servers, ClusterHarness, ::testing::Values("redis", "valkey"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rdbrekey::test
