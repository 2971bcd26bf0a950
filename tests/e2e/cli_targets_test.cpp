// convert --target against real servers: every fixture to every target (walked back with the
// reader), and, wherever a server of the release is here, loaded and compared key by key with the
// same data loaded without conversion. Debian's redis-server (7.0) is always here; other releases
// come from environment variables (REDIS62_SERVER, VALKEY_SERVER for Valkey 7.2/8, VALKEY9_SERVER,
// REDIS74_SERVER, ...): such checks say "skipped: set X" when it is absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/rdb_version.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_image.h"
#include "support/redis_server.h"
#include "support/resp_client.h"
#include "support/standalone_dataset.h"

namespace rdbrekey::test {
namespace {

using Args = std::vector<std::string>;

RunResult convert(Args args) {
  Args argv{rdbrekey_binary(), "convert"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, 120);
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Starts `binary` (empty: Debian's redis-server) on an RDB file.
RedisServer::StartResult start_on(const std::string& rdb, const std::string& binary = "") {
  const char* old = std::getenv("RDBREKEY_REDIS_SERVER");
  std::string saved = old ? old : "";
  if (!binary.empty()) ::setenv("RDBREKEY_REDIS_SERVER", binary.c_str(), 1);
  RedisServer::StartResult r = RedisServer::try_start_on_rdb(rdb);
  if (old) ::setenv("RDBREKEY_REDIS_SERVER", saved.c_str(), 1);
  else ::unsetenv("RDBREKEY_REDIS_SERVER");
  return r;
}

// A key's data as any release shows it: type, value (order-independent), absolute expire
// time; a stream by its entries and its groups' pending summaries (the state releases add
// over time, like entries-read and lag, is derived by each loader and left aside).
Reply logical(RespClient& c, const std::string& key) {
  KeyState s = read_key(c, key);
  Reply value = s.value;
  if (s.type == "zset") {
    // Scores as doubles: releases print the same double differently ("-1.1" or
    // "-1.1000000000000001").
    for (size_t i = 1; i < value.elements.size(); i += 2)
      if (value.elements[i].is_bulk())
        value.elements[i].str = fmt::format("{:.17g}", std::strtod(value.elements[i].str.c_str(), nullptr));
  }
  if (s.type == "stream") {
    std::vector<Reply> groups;
    for (const Reply& g : c.ok({"XINFO", "GROUPS", key}).elements) {
      std::string name;
      for (size_t i = 0; i + 1 < g.elements.size(); i += 2)
        if (g.elements[i].str == "name") name = g.elements[i + 1].str;
      groups.push_back(Reply::array({Reply::bulk(name), c.ok({"XPENDING", key, name})}));
    }
    value = Reply::array({c.ok({"XRANGE", key, "-", "+"}), Reply::array(groups)});
  }
  return Reply::array({Reply::bulk(s.type), value, Reply::number(s.expire_at)});
}

// Every key of db 0 of `want` is in `got` with the same data, and nothing else is.
void expect_same_data(RespClient& want, RespClient& got) {
  std::vector<std::string> keys = keys_of(want, 0);
  ASSERT_EQ(keys, keys_of(got, 0));
  for (const auto& k : keys) EXPECT_EQ(logical(want, k), logical(got, k)) << "key " << k;
}

// Every fixture to every target: the output reads back whole in the target's version, holds
// every key, and values that needed no conversion are byte for byte the input's.
TEST(CliTargets, EveryFixtureToEveryTarget) {
  int converted = 0, refused = 0;
  for (const std::string& path : shared_fixtures()) {
    if (expected_failure(path)) continue;
    FileImage in;
    try {
      std::unique_ptr<ByteSource> src = open_input(path);
      in = image_of(*src);
    } catch (const Error&) {
      continue;  // not a whole file (the fixture tests cover it)
    }
    if (in.duplicates) continue;
    for (const TargetServer& t : target_servers()) {
      SCOPED_TRACE(fmt::format("{} --target {}", path, t.name));
      // In process (the CLI's options, without 960 processes): --unmapped keep, no guard.
      ConvertOptions opt;
      opt.unmapped = UnmappedPolicy::kKeep;
      opt.data_version = 0;
      opt.target = t.writes;
      opt.target_name = t.name;
      opt.drop_field_ttls = opt.drop_functions = opt.lossy = true;
      std::unique_ptr<ByteSource> src = open_input(path);
      MemorySink sink;
      try {
        convert(opt, {src.get()}, sink);
      } catch (const Error& e) {
        // Only what has no form in the target at all: module data, arrays, ...
        EXPECT_EQ(e.code(), Errc::kCannotHold) << e.what();
        ++refused;
        continue;
      }
      ++converted;
      FileImage out = image_of_bytes(std::string(sink.data().begin(), sink.data().end()));
      EXPECT_EQ(out.version, t.writes);
      std::map<std::string, KeyImage> all_in;
      for (const auto& [db, keys] : in.dbs) all_in.insert(keys.begin(), keys.end());
      const auto& got = out.dbs[0];
      EXPECT_EQ(got.size(), all_in.size());
      for (const auto& [name, image] : all_in) {
        auto it = got.find(name);
        ASSERT_NE(it, got.end()) << "missing " << name;
        EXPECT_EQ(it->second.expire_ms, image.expire_ms) << name;
        if (output_can_hold_type(image.type, in.version, t.writes)) EXPECT_EQ(it->second, image) << name;
      }
    }
  }
  EXPECT_GT(converted, 500);
  EXPECT_LT(refused, 40);
}

// A target that is not in the table, or given with --rdb-version, is a usage error naming the
// choices; nothing is written.
TEST(CliTargets, UnknownOrConflictingTargetsAreRefused) {
  TempDir dir;
  for (const Args& bad : {Args{"--target", "redis9"}, Args{"--target", "valkey8", "--rdb-version", "10"}}) {
    Args a{project_fixture("sample.rdb"), "--unmapped", "keep", "-o", dir.file("out.rdb")};
    a.insert(a.end(), bad.begin(), bad.end());
    RunResult r = convert(a);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("--target"), std::string::npos) << r.err;
  }
  RunResult r = convert({project_fixture("sample.rdb"), "--unmapped", "keep", "--target", "redis9", "-o", dir.file("o.rdb")});
  EXPECT_NE(r.err.find("valkey7.2, valkey8, valkey9, redis6.2"), std::string::npos) << r.err;
  EXPECT_TRUE(dir.entries().empty());
  RunResult rr = run({rdbrekey_binary(), "restore", project_fixture("sample.rdb"), "--unmapped", "keep", "--to",
                      "redis://127.0.0.1:1", "--target", "redis9"});
  EXPECT_EQ(rr.exit_code, 2) << describe(rr);
}

// The bundled sample (Redis 7.0: listpack hashes and zsets, quicklists, a stream with consumer
// groups) converted for Redis 6.2, loaded by a real server: the same data as without conversion.
TEST(CliTargets, Redis62OutputHoldsTheSameData) {
  TempDir dir;
  const Args apps{"-a", "0=@app/condo", "-a", "1=@app/resident-app", "-a", "2=@app/billing", "-a", "3=@app/miniapp"};
  auto conv = [&](const std::string& target, const std::string& out) {
    Args a{project_fixture("sample.rdb"), "--target", target, "-o", dir.file(out)};
    a.insert(a.end(), apps.begin(), apps.end());
    RunResult r = convert(a);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return r;
  };
  conv("redis7.0", "plain.rdb");
  RunResult r = conv("redis6.2", "old.rdb");
  EXPECT_NE(r.out.find("stream2 -> stream"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hash-listpack -> hash"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(dir.file("old.rdb")).substr(0, 9), "REDIS0009");
  auto want = start_on(dir.file("plain.rdb"));
  ASSERT_TRUE(want.server) << want.error;
  auto got = start_on(dir.file("old.rdb"));  // Redis 7.0 loads RDB 9 files too
  ASSERT_TRUE(got.server) << got.error;
  expect_same_data(want.server->client(), got.server->client());
  if (const char* r62 = std::getenv("REDIS62_SERVER"); r62 && *r62) {
    auto six = start_on(dir.file("old.rdb"), r62);
    ASSERT_TRUE(six.server) << six.error;
    expect_same_data(want.server->client(), six.server->client());
  } else {
    std::printf("skipped: set REDIS62_SERVER to load the redis6.2 output into Redis 6.2 as well\n");
  }
}

// The servers of each target that are here: Debian's redis-server for redis7.0 (and, since it
// loads RDB 9, for redis6.2), the others from environment variables.
struct TargetServerBinary {
  const char* target;
  const char* env;  // nullptr: Debian's redis-server
};
constexpr TargetServerBinary kTargetServers[] = {
    {"redis7.0", nullptr},         {"redis6.2", nullptr},          {"redis6.2", "REDIS62_SERVER"},
    {"redis7.2", "REDIS72_SERVER"}, {"valkey7.2", "VALKEY_SERVER"}, {"valkey8", "VALKEY_SERVER"},
    {"redis7.4", "REDIS74_SERVER"}, {"redis8", "REDIS8_SERVER"},    {"valkey9", "VALKEY9_SERVER"},
};

std::string binary_of(const char* env) {
  if (!env) return "";
  const char* v = std::getenv(env);
  return v && *v ? v : "-";  // "-": absent
}

// Every fixture that some server here loads as it is, converted for every target whose server
// is here, loaded by it and compared key by key with the fixture as loaded.
TEST(CliTargets, FixturesLoadedByTheTargetsServers) {
  std::vector<std::string> references{""};  // the servers that may load a fixture as it is
  for (const char* env : {"VALKEY_SERVER", "REDIS74_SERVER", "REDIS8_SERVER", "VALKEY9_SERVER", "REDIS72_SERVER"})
    if (binary_of(env) != "-") references.push_back(binary_of(env));
  std::map<std::string, int> compared, unchanged;
  for (const std::string& path : shared_fixtures()) {
    if (expected_failure(path)) continue;
    std::map<std::string, KeyImage> in_keys;
    try {
      std::unique_ptr<ByteSource> src = open_input(path);
      FileImage in = image_of(*src);
      if (in.duplicates) continue;
      for (const auto& [db, keys] : in.dbs) in_keys.insert(keys.begin(), keys.end());
    } catch (const Error&) {
      continue;
    }
    TempDir dir;
    std::string original = dir.file("original.rdb");
    write_file(original, read_file(path));
    RedisServer::StartResult want;  // the fixture as a server loads it, started when first needed
    bool tried = false;
    for (const auto& t : kTargetServers) {
      std::string binary = binary_of(t.env);
      if (binary == "-") continue;
      SCOPED_TRACE(fmt::format("{} --target {} loaded by {}", path, t.target, binary.empty() ? "redis-server" : binary));
      std::string out = dir.file(std::string(t.target) + ".rdb");
      RunResult r = convert({path, "--unmapped", "keep", "--data-version", "0", "--target", t.target, "--drop-functions",
                             "--drop-field-ttls", "--lossy", "-o", out, "-f"});
      if (r.exit_code == 6) continue;  // module data and the like: EveryFixtureToEveryTarget counts them
      ASSERT_EQ(r.exit_code, 0) << describe(r);
      if (r.out.find("lossy ") != std::string::npos) continue;  // data left out on purpose: not the same
      // Every value byte for byte the fixture's (only the header changed): it loads as the
      // fixture does; only what was rewritten needs a server to say it is the same data.
      if (image_of_bytes(read_file(out)).dbs[0] == in_keys) {
        ++unchanged[t.target];
        continue;
      }
      if (!tried) {
        tried = true;
        for (const auto& ref : references) {
          want = start_on(original, ref);
          if (want.server) break;
        }
      }
      if (!want.server) break;  // no server here loads it (a newer release, an odd file)
      auto got = start_on(out, binary);
      ASSERT_TRUE(got.server) << got.error;
      // One database compared: the conversion merges all databases into db 0.
      if (keys_of(want.server->client(), 0).size() != static_cast<size_t>(dbsize(got.server->client(), 0))) continue;
      expect_same_data(want.server->client(), got.server->client());
      ++compared[t.target];
    }
  }
  EXPECT_GE(compared["redis6.2"], 3);  // the RDB 10 fixtures with listpacks, quicklists, streams
  EXPECT_GT(unchanged["redis7.0"], 10);
  for (const auto& [target, n] : compared)
    std::printf("%s: %d rewritten fixtures loaded and compared, %d unchanged but for the header\n", target.c_str(), n,
                unchanged[target]);
}

// A hash's fields, values and absolute field expire times (HPEXPIRETIME), sorted by field.
std::map<std::string, std::pair<std::string, long long>> field_ttls(RespClient& c, const std::string& key) {
  std::map<std::string, std::pair<std::string, long long>> out;
  Reply all = c.ok({"HGETALL", key});
  for (size_t i = 0; i + 1 < all.elements.size(); i += 2) {
    Reply t = c.ok({"HPEXPIRETIME", key, "FIELDS", "1", all.elements[i].str});
    out[all.elements[i].str] = {all.elements[i + 1].str, t.elements.at(0).integer};
  }
  return out;
}

// Hashes with field TTLs: lossless between Redis 7.4 and Valkey 9, plain with --drop-field-ttls
// (loaded by Debian's server), refused without it naming the key.
TEST(CliTargets, FieldTtlHashes) {
  std::vector<std::string> inputs;
  for (const std::string& path : shared_fixtures())
    if (path.find("hfe") != std::string::npos || path.find("hexpire") != std::string::npos ||
        path.find("hash_with_expire") != std::string::npos)
      inputs.push_back(path);
  ASSERT_GE(inputs.size(), 3u);
  for (const std::string& path : inputs) {
    SCOPED_TRACE(path);
    TempDir dir;
    bool valkey_input = read_file(path).substr(0, 6) == "VALKEY";
    RunResult refused = convert({path, "--unmapped", "keep", "--target", "redis7.0", "-o", dir.file("x.rdb")});
    EXPECT_EQ(refused.exit_code, 6) << describe(refused);
    EXPECT_NE(refused.err.find("--drop-field-ttls"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("key \""), std::string::npos) << refused.err;
    RunResult dropped = convert({path, "--unmapped", "keep", "--data-version", "0", "--target", "redis7.0",
                                 "--drop-field-ttls", "-o", dir.file("plain.rdb")});
    ASSERT_EQ(dropped.exit_code, 0) << describe(dropped);
    EXPECT_NE(dropped.out.find("field TTL(s) dropped"), std::string::npos) << dropped.out;
    auto plain = start_on(dir.file("plain.rdb"));
    ASSERT_TRUE(plain.server) << plain.error;
    for (const auto& k : keys_of(plain.server->client(), 0))
      EXPECT_EQ(plain.server->client().ok({"TYPE", k}).str, "hash") << k;
    // Lossless: into the other family's field-TTL form, and back to the same bytes.
    const char* there = valkey_input ? "redis7.4" : "valkey9";
    RunResult across = convert({path, "--unmapped", "keep", "--data-version", "0", "--target", there, "-o",
                                dir.file("across.rdb")});
    ASSERT_EQ(across.exit_code, 0) << describe(across);
    RunResult back = convert({dir.file("across.rdb"), "--unmapped", "keep", "--data-version", "0", "--target",
                              valkey_input ? "valkey9" : "redis7.4", "-o", dir.file("back.rdb")});
    ASSERT_EQ(back.exit_code, 0) << describe(back);
    FileImage a = image_of_bytes(read_file(dir.file("plain.rdb")));
    FileImage b = image_of_bytes(read_file(dir.file("back.rdb")));
    EXPECT_EQ(a.dbs[0].size(), b.dbs[0].size());
    // Through the other family and back, loaded by a Redis >= 7.4: every field, value and field
    // TTL as in the fixture itself.
    if (const char* r74 = std::getenv("REDIS74_SERVER"); r74 && *r74 && !valkey_input) {
      std::string original = dir.file("original.rdb");
      write_file(original, read_file(path));
      auto want = start_on(original, r74);
      auto got = start_on(dir.file("back.rdb"), r74);
      ASSERT_TRUE(want.server) << want.error;
      ASSERT_TRUE(got.server) << got.error;
      std::vector<std::string> keys = keys_of(want.server->client(), 0);
      ASSERT_EQ(keys, keys_of(got.server->client(), 0));
      for (const auto& k : keys) EXPECT_EQ(field_ttls(want.server->client(), k), field_ttls(got.server->client(), k)) << k;
    }
    const char* env = valkey_input ? "REDIS74_SERVER" : "VALKEY9_SERVER";
    if (const char* server = std::getenv(env); server && *server) {
      auto loaded = start_on(dir.file("across.rdb"), server);
      ASSERT_TRUE(loaded.server) << loaded.error;
      for (const auto& k : keys_of(loaded.server->client(), 0)) {
        Reply fields = loaded.server->client().ok({"HKEYS", k});
        ASSERT_FALSE(fields.elements.empty()) << k;
        Args cmd{"HPEXPIRETIME", k, "FIELDS", std::to_string(fields.elements.size())};
        for (const auto& f : fields.elements) cmd.push_back(f.str);
        bool some_ttl = false;
        for (const auto& t : loaded.server->client().ok(cmd).elements) some_ttl |= t.integer > 0;
        EXPECT_TRUE(some_ttl) << k << ": the field TTLs made it across";
      }
    } else {
      std::printf("skipped: set %s to load the %s output\n", env, there);
    }
  }
}

}  // namespace
}  // namespace rdbrekey::test
