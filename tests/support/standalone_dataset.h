// A standalone source for end-to-end tests: a dataset written into a real redis-server with
// every type, encoding and awkward key name open-condo's applications have (fill_condo and its
// neighbours, one database each), the RDB that server saved, and the check that a target server
// holds exactly that dataset renamed into db 0 (expect_converted). The expected names come from a
// small independent implementation of ../shared/spec/migrator-rules.md, not from src/key_rules.
// Used by the tests of `convert` (the target loads the converted file) and of `restore` (the
// target received RESTORE commands).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/process.h"
#include "support/redis_server.h"
#include "support/resp_client.h"

namespace rdbrekey::test {

using Args = std::vector<std::string>;

// The renaming rules: the prefix of an application name, a key's new name, the guard's value
// ("2" unless the source db held a data_version that is a larger number).
std::string expected_prefix(const std::string& app_name);
std::string expected_name(const std::string& P, const std::string& key);
std::string expected_guard(const std::optional<std::string>& source_value);

std::string show(const std::string& key);  // quoted, bytes escaped
std::string repeat(const std::string& s, size_t times);
// Absolute expiry far in the future (PEXPIREAT keeps the test independent of the clock's
// progress between the source and the target).
std::string far_future_ms(long long days);

// A key as a server holds it.
struct KeyState {
  std::string type;
  std::string encoding;
  Reply value;              // the whole value, in a form that does not depend on hash order
  long long expire_at = -1; // PEXPIRETIME: absolute ms, -1 without TTL
};


// Writes a dataset through a connection.
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

// A source server (kept running to compare with) and the RDB it saved, copied into a directory.
struct Source {
  std::unique_ptr<RedisServer> server;
  std::string rdb;
};


// What a conversion should produce: which source dbs map to which prefix, and what happens to
// the others ("drop" or "keep").
struct Plan {
  std::map<int, std::string> prefixes;  // db -> prefix
  std::string unmapped = "drop";
};


KeyState read_key(RespClient& c, const std::string& key);
std::vector<std::string> keys_of(RespClient& c, int db);  // sorted; leaves db selected
long long dbsize(RespClient& c, int db);                   // leaves db selected

std::string pseudo_random_bytes(size_t n, uint32_t seed);
std::vector<std::string> numbered(const std::string& head, int n, size_t pad = 0);
std::vector<std::pair<std::string, std::string>> numbered_pairs(const std::string& head, int n, size_t pad = 0);
std::vector<std::pair<std::string, std::string>> scored(int n);

// The main dataset: db 0 every type and encoding and the awkward key names, and a function
// library (condo); db 1 (address-service, data_version 7); db 2 (resident-app); db 5 (eps).
void fill_condo(Filler& f);
void fill_address_service(Filler& f);
void fill_resident_app(Filler& f);
void fill_eps(Filler& f);

// Starts a source server, fills it, SAVEs and copies its dump into dir as dump.rdb.
Source make_source(const TempDir& dir, const std::function<void(Filler&)>& fill);

// Compares the target (everything in its db 0) with the source server, key by key: names,
// types, encodings, values, absolute expiry times, and the guards.
void expect_converted(RespClient& src, RespClient& dst, const Plan& plan);

}  // namespace rdbrekey::test
