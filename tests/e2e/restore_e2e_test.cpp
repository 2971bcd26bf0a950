// End to end: `rdbrekey restore` into a live, standalone redis-server. A real server writes a
// dump, the CLI sends it renamed to another running server, and that server is compared key by
// key with the source (support/standalone_dataset.h). Restores into a live cluster are in
// cluster_e2e_test.cpp (LiveRestore).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/resp_client.h"
#include "support/standalone_dataset.h"

namespace rdbrekey::test {
namespace {

using namespace std::string_literals;
using Json = nlohmann::json;

// `rdbrekey restore args...`, with extra environment variables ("NAME=value") when given.
RunResult restore(const Args& args, const Args& env = {}) {
  Args argv;
  if (!env.empty()) {
    argv.push_back("env");
    argv.insert(argv.end(), env.begin(), env.end());
  }
  argv.push_back(rdbrekey_binary());
  argv.push_back("restore");
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, 120);
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

std::string url_of(const RedisServer& s, const std::string& userinfo = "", const std::string& db = "") {
  return "redis://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(s.port()) +
         (db.empty() ? "" : "/" + db);
}

const Args kMainApps{"-a", "0=@app/condo", "-a", "1=@app/address-service", "-a", "2=@app/resident-app", "-a", "5=eps"};

Plan main_plan() {
  Plan plan;
  plan.prefixes = {{0, "condo"}, {1, "address_service"}, {2, "resident_app"}, {5, "eps"}};
  return plan;
}

void fill_main(Filler& f) {
  fill_condo(f);
  fill_address_service(f);
  fill_resident_app(f);
  fill_eps(f);
}

// A few keys in db 0 (condo) and db 3 (unmapped unless asked).
void fill_small(Filler& f) {
  f.select(0);
  for (int i = 0; i < 50; ++i) f.set("sess:" + std::to_string(i), "s" + std::to_string(i));
  f.expire("sess:7", 3);
  f.rpush("bull:tasks:wait", {"1", "2"});
  f.hset("user:1", {{"name", "a"}});
  f.select(3);
  f.set("other:1", "o1");
}

long long keys_in(RedisServer& s, int db = 0) { return dbsize(s.client(), db); }

// How restore names the server under test ("Redis 7.0.15", "Valkey 8.0.1": RDBREKEY_REDIS_SERVER
// may name another release), from its INFO.
std::string release_of(RedisServer& s) {
  const std::string info = s.client().ok({"INFO", "server"}).text();
  const std::string valkey = info_field(info, "valkey_version");
  return valkey.empty() ? "Redis " + info_field(info, "redis_version") : "Valkey " + valkey;
}

TEST(RestoreE2E, EveryTypeAndEncodingIntoALiveServer) {
  TempDir work;
  Source source = make_source(work, fill_main);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;

  const std::string report = work.file("report.json");
  Args args{source.rdb, "--to", url_of(target), "--report", report};
  args.insert(args.end(), kMainApps.begin(), kMainApps.end());
  RunResult r = restore(args);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string release = release_of(target);
  EXPECT_NE(r.out.find(release), std::string::npos) << "the target's release is named: " << r.out;
  EXPECT_NE(r.out.find("key counts check out"), std::string::npos) << r.out;

  expect_converted(source.server->client(), target.client(), main_plan());
  RespClient& dst = target.client();
  dst.ok({"SELECT", "0"});
  EXPECT_EQ(dst.ok({"GET", "address_service:data_version"}), Reply::bulk("7"));
  EXPECT_EQ(dst.ok({"XPENDING", "condo:stream:events", "workers"}).elements.at(0), Reply::number(9));
  EXPECT_EQ(dst.ok({"FUNCTION", "LIST", "WITHCODE"}), source.server->client().ok({"FUNCTION", "LIST", "WITHCODE"}));
  EXPECT_EQ(dst.ok({"FCALL", "rdbrekey_noop", "0"}), Reply::number(1));

  // The report: per node, what it acknowledged and its DBSIZE before and after.
  Json j = Json::parse(read_file(report));
  const Json& rs = j.at("restore");
  EXPECT_EQ(rs.at("cluster"), false);
  // Redis 7.0 takes DUMP payloads of RDB 10; Redis >= 7.2 and every Valkey 11.
  EXPECT_EQ(rs.at("payload_version"), release.starts_with("Redis 7.0") ? 10 : 11) << release;
  EXPECT_EQ(rs.at("count_check"), "ok");
  ASSERT_EQ(rs.at("nodes").size(), 1u);
  const long long total = dbsize(dst, 0);
  EXPECT_EQ(rs.at("nodes")[0].at("restored").get<long long>(), total);
  EXPECT_EQ(rs.at("nodes")[0].at("dbsize_before"), 0);
  EXPECT_EQ(rs.at("nodes")[0].at("dbsize_after").get<long long>(), total);
  EXPECT_EQ(rs.at("nodes")[0].at("functions"), 1);
  EXPECT_FALSE(j.contains("output"));
}

// The eviction hints of the dump go out with each key: IDLETIME (an LRU policy when it was
// saved) or FREQ (an LFU policy), read back with OBJECT IDLETIME / OBJECT FREQ on a target with
// the same kind of policy.
TEST(RestoreE2E, LruIdleTimesAndLfuCountersAreKept) {
  for (const std::string policy : {"allkeys-lru", "allkeys-lfu"}) {
    SCOPED_TRACE(policy);
    const bool lfu = policy == "allkeys-lfu";
    TempDir work;
    RedisServerOptions o;
    o.extra_args = {"--maxmemory-policy", policy};
    RedisServer source(o);
    RespClient& src = source.client();
    src.ok({"SET", "cold", "c"});
    src.ok({"SET", "hot", "h"});
    if (lfu) {
      for (int i = 0; i < 2000; ++i) src.ok({"GET", "hot"});  // the logarithmic counter climbs
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2200));
      src.ok({"GET", "hot"});
    }
    const long long cold = src.ok({"OBJECT", lfu ? "FREQ" : "IDLETIME", "cold"}).as_int();
    const long long hot = src.ok({"OBJECT", lfu ? "FREQ" : "IDLETIME", "hot"}).as_int();
    ASSERT_NE(cold, hot);
    src.ok({"SAVE"});
    const std::string rdb = work.file("dump.rdb");
    std::filesystem::copy_file(source.rdb_path(), rdb);

    RedisServer target(o);
    RunResult r = restore({rdb, "--to", url_of(target), "-a", "0=condo", "-q"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    RespClient& dst = target.client();
    const long long cold_after = dst.ok({"OBJECT", lfu ? "FREQ" : "IDLETIME", "condo:cold"}).as_int();
    const long long hot_after = dst.ok({"OBJECT", lfu ? "FREQ" : "IDLETIME", "condo:hot"}).as_int();
    if (lfu) {
      // The counters as saved (they decay by minutes, not within this test).
      EXPECT_EQ(cold_after, cold);
      EXPECT_EQ(hot_after, hot);
    } else {
      // Idle times as saved, plus the seconds since.
      EXPECT_GE(cold_after, cold);
      EXPECT_LE(cold_after, cold + 5);
      EXPECT_LT(hot_after, cold_after);
    }
  }
}

TEST(RestoreE2E, BundledSampleDumpThroughASmallWindow) {
  // A window of 1 MiB: the pipeline stops and drains many times.
  const std::string sample = std::string(RDBREKEY_FIXTURES) + "/sample.rdb";
  TempDir work;
  std::filesystem::copy_file(sample, work.file("sample.rdb"));
  auto reference = RedisServer::try_start_on_rdb(work.file("sample.rdb"));
  ASSERT_TRUE(reference.server) << reference.error;
  RedisServer target;
  RunResult r = restore({sample, "--to", url_of(target), "--window", "1", "-q", "-a", "0=@app/condo", "-a",
                         "1=@app/address-service", "-a", "2=@app/resident-app", "-a", "3=@app/eps"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "") << "-q prints nothing on success";
  Plan plan;
  plan.prefixes = {{0, "condo"}, {1, "address_service"}, {2, "resident_app"}, {3, "eps"}};
  expect_converted(reference.server->client(), target.client(), plan);
  EXPECT_EQ(keys_in(target), 221);
}

TEST(RestoreE2E, ExistingKeysStopOrAreSkippedOrReplaced) {
  TempDir work;
  Source source = make_source(work, fill_small);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const Args apps{"-a", "0=@app/condo", "--unmapped", "drop"};
  const long long want = 50 + 2 + 1;  // 50 sessions, the queue and user:1, the guard

  for (const std::string policy : {"error", "skip", "replace"}) {
    SCOPED_TRACE("--existing " + policy);
    RedisServer target;
    RespClient& dst = target.client();
    dst.ok({"SET", "condo:sess:20", "the target's own"});
    dst.ok({"SET", "unrelated", "x"});
    TempDir out;
    Args args{source.rdb, "--to", url_of(target), "--existing", policy, "--report", out.file("r.json")};
    args.insert(args.end(), apps.begin(), apps.end());
    RunResult r = restore(args);
    if (policy == "error") {
      EXPECT_EQ(r.exit_code, 7) << describe(r);
      EXPECT_NE(r.err.find("condo:sess:20"), std::string::npos) << "the key is named: " << r.err;
      EXPECT_NE(r.err.find("--existing skip"), std::string::npos) << "what to do is said: " << r.err;
      EXPECT_EQ(dst.ok({"GET", "condo:sess:20"}), Reply::bulk("the target's own")) << "nothing is overwritten";
      continue;
    }
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(keys_in(target), want + 1) << "every key, and the target's unrelated one";
    EXPECT_EQ(dst.ok({"GET", "condo:sess:20"}), Reply::bulk(policy == "skip" ? "the target's own" : "s20"));
    EXPECT_EQ(dst.ok({"GET", "condo:sess:21"}), Reply::bulk("s21"));
    EXPECT_EQ(dst.ok({"GET", "unrelated"}), Reply::bulk("x"));
    Json node = Json::parse(read_file(out.file("r.json"))).at("restore").at("nodes").at(0);
    EXPECT_EQ(node.at("skipped_existing"), policy == "skip" ? 1 : 0);
    EXPECT_EQ(node.at("restored"), policy == "skip" ? want - 1 : want);
  }

  // A second restore of the same dump into a target that got it all: --existing skip skips
  // every key and adds nothing.
  RedisServer target;
  Args args{source.rdb, "--to", url_of(target)};
  args.insert(args.end(), apps.begin(), apps.end());
  ASSERT_EQ(restore(args).exit_code, 0);
  args.insert(args.end(), {"--existing", "skip"});
  RunResult again = restore(args);
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_NE(again.out.find("0 restored, " + std::to_string(want) + " already in the target"), std::string::npos)
      << again.out;
  EXPECT_EQ(keys_in(target), want);
}

TEST(RestoreE2E, RefusalsBeforeTheFirstCommandSendNothing) {
  TempDir work;
  Source source = make_source(work, [](Filler& f) {
    fill_small(f);
    f.select(0);
    f.set("condo:x", "already prefixed");
    f.set("x", "becomes condo:x");
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;

  // A collision inside the backup.
  RunResult c = restore({source.rdb, "--to", url_of(target), "-a", "0=@app/condo", "--unmapped", "drop"});
  EXPECT_EQ(c.exit_code, 6) << describe(c);
  EXPECT_NE(c.err.find("condo:x"), std::string::npos) << c.err;
  EXPECT_EQ(keys_in(target), 0) << "collisions are decided before the first command";

  // An unmapped database.
  RunResult u = restore({source.rdb, "--to", url_of(target), "-a", "0=@app/condo", "--on-collision", "keep-first"});
  EXPECT_EQ(u.exit_code, 6) << describe(u);
  EXPECT_NE(u.err.find('3'), std::string::npos) << u.err;
  EXPECT_EQ(keys_in(target), 0);

  // A dry run: the plan, nothing sent.
  RunResult d = restore({source.rdb, "--to", url_of(target), "-a", "0=@app/condo", "--unmapped", "drop",
                         "--on-collision", "keep-first", "--dry-run"});
  EXPECT_EQ(d.exit_code, 0) << describe(d);
  EXPECT_NE(d.out.find("dry run"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find(release_of(target)), std::string::npos) << d.out;
  EXPECT_EQ(keys_in(target), 0);

  // With the collision decided, the restore goes through.
  RunResult ok = restore({source.rdb, "--to", url_of(target), "-a", "0=@app/condo", "--unmapped", "drop",
                          "--on-collision", "keep-first"});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  // The first of the two in the file's order (a server's hash order, not the order of the SETs).
  const Reply kept = target.client().ok({"GET", "condo:x"});
  EXPECT_TRUE(kept == Reply::bulk("already prefixed") || kept == Reply::bulk("becomes condo:x")) << to_string(kept);
  EXPECT_EQ(keys_in(target), 52 + 1 + 1);
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`.
void make_certificates(const TempDir& dir) {
  auto openssl = [&](Args args) {
    args.insert(args.begin(), "openssl");
    RunResult r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  std::ofstream(dir.file("san.cnf")) << "subjectAltName=IP:127.0.0.1\n";
  openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.file("ca.key"), "-out", dir.file("ca.crt"),
           "-days", "2", "-subj", "/CN=rdbrekey test CA"});
  for (const char* who : {"server", "client"}) {
    const std::string w = who;
    openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.file(w + ".key"), "-out", dir.file(w + ".csr"),
             "-subj", "/CN=" + w});
    Args sign{"x509", "-req", "-in", dir.file(w + ".csr"), "-CA", dir.file("ca.crt"), "-CAkey", dir.file("ca.key"),
              "-CAcreateserial", "-out", dir.file(w + ".crt"), "-days", "2"};
    if (w == "server") sign.insert(sign.end(), {"-extfile", dir.file("san.cnf")});
    openssl(sign);
  }
}

TEST(RestoreE2E, OverTlsWithCertificatesMadeHere) {
  TempDir work;
  make_certificates(work);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Source source = make_source(work, fill_main);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  // TLS on its own port, client certificates required (tls-auth-clients yes, the default); the
  // plain port is for the test's own checks.
  const int tls_port = pick_free_port();
  RedisServerOptions o;
  o.extra_args = {"--tls-port", std::to_string(tls_port), "--tls-cert-file", work.file("server.crt"),
                  "--tls-key-file", work.file("server.key"), "--tls-ca-cert-file", work.file("ca.crt")};
  RedisServer target(o);
  RespClient& dst = target.client();
  const std::string tls_url = "rediss://127.0.0.1:" + std::to_string(tls_port);
  const Args cert{"--cert", work.file("client.crt"), "--key", work.file("client.key")};
  auto attempt = [&](Args args) {
    args.insert(args.begin(), {source.rdb});
    args.insert(args.end(), kMainApps.begin(), kMainApps.end());
    return restore(args);
  };

  // What cannot work is refused before any key is sent, saying what to give.
  struct Refusal {
    Args args;
    int exit_code;
    std::string says;
  };
  const std::vector<Refusal> refusals = {
      {{"--to", tls_url, "--cert", work.file("client.crt"), "--key", work.file("client.key")}, 7, "--cacert"},
      {{"--to", tls_url, "--cacert", work.file("ca.crt"), "--sni", "elsewhere.example", "--cert",
        work.file("client.crt"), "--key", work.file("client.key")},
       7,
       "hostname mismatch"},
      {{"--to", tls_url, "--cacert", work.file("ca.crt")}, 7, "--cert and --key"},
      {{"--to", tls_url, "--cacert", work.file("ca.crt"), "--cert", work.file("client.crt")}, 2, "--cert and --key go together"},
      {{"--to", "redis://127.0.0.1:" + std::to_string(tls_port), "--timeout", "5"}, 7, "rediss://"},
      {{"--to", url_of(target), "--cacert", work.file("ca.crt")}, 2, "rediss://"},
  };
  for (const Refusal& refusal : refusals) {
    RunResult r = attempt(refusal.args);
    EXPECT_EQ(r.exit_code, refusal.exit_code) << describe(r);
    EXPECT_NE(r.err.find(refusal.says), std::string::npos) << refusal.says << " in: " << r.err;
  }
  EXPECT_EQ(keys_in(target), 0);

  // Through a small window, so that TLS writes are partial and interleaved with reads.
  const std::string report = work.file("tls.json");
  Args ok{"--to", tls_url, "--cacert", work.file("ca.crt"), "--window", "1", "--report", report};
  ok.insert(ok.end(), cert.begin(), cert.end());
  RunResult r = attempt(ok);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("key counts check out"), std::string::npos) << r.out;
  expect_converted(source.server->client(), dst, main_plan());
  EXPECT_EQ(Json::parse(read_file(report)).at("restore").at("tls"), true);

  // --insecure: encrypted without checking the server (the client certificate is still needed).
  Args insecure{"--to", tls_url, "--insecure", "--existing", "replace", "-q"};
  insecure.insert(insecure.end(), cert.begin(), cert.end());
  RunResult again = attempt(insecure);
  EXPECT_EQ(again.exit_code, 0) << describe(again);
  expect_converted(source.server->client(), dst, main_plan());
}

TEST(RestoreE2E, TargetDatabaseFromTheUrl) {
  TempDir work;
  Source source = make_source(work, fill_small);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;
  RunResult r = restore({source.rdb, "--to", url_of(target, "", "4"), "-a", "0=@app/condo", "-a", "3=other"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(keys_in(target, 0), 0);
  EXPECT_EQ(keys_in(target, 4), 52 + 1 + 1 + 1) << "db 0's keys and guard, db 3's key and guard";
  EXPECT_EQ(target.client().ok({"GET", "other:1"}), Reply::bulk("o1"));
}

TEST(RestoreE2E, CredentialsFromTheUrlTheEnvironmentOrAFile) {
  TempDir work;
  Source source = make_source(work, fill_small);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const std::string secret = "s3cret:with@odd/chars";
  RedisServer target;
  RespClient admin = target.connect();  // stays authenticated when the password is set
  admin.ok({"CONFIG", "SET", "requirepass", secret});
  auto count = [&] { admin.ok({"SELECT", "0"}); return admin.ok({"DBSIZE"}).as_int(); };
  const Args base{source.rdb, "-a", "0=@app/condo", "--unmapped", "drop", "--existing", "skip"};
  auto with = [&](Args extra) {
    Args a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };

  RunResult none = restore(with({"--to", url_of(target)}));
  EXPECT_EQ(none.exit_code, 7) << describe(none);
  EXPECT_NE(none.err.find("password"), std::string::npos) << none.err;
  RunResult wrong = restore(with({"--to", url_of(target, ":not-it-XYZ")}));
  EXPECT_EQ(wrong.exit_code, 7) << describe(wrong);
  EXPECT_EQ(wrong.err.find("not-it-XYZ"), std::string::npos) << "a password is never printed: " << wrong.err;
  EXPECT_EQ(count(), 0);

  // In the URL (percent-encoded), in the environment, in a file.
  RunResult url = restore(with({"--to", url_of(target, ":s3cret%3Awith%40odd%2Fchars")}));
  EXPECT_EQ(url.exit_code, 0) << describe(url);
  EXPECT_EQ(count(), 53);
  admin.ok({"FLUSHALL"});
  RunResult env = restore(with({"--to", url_of(target)}), {"RDBREKEY_PASSWORD=" + secret});
  EXPECT_EQ(env.exit_code, 0) << describe(env);
  EXPECT_EQ(count(), 53);
  admin.ok({"FLUSHALL"});
  write_file(work.file("pw"), secret + "\n");
  RunResult file = restore(with({"--to", url_of(target), "--password-file", work.file("pw")}));
  EXPECT_EQ(file.exit_code, 0) << describe(file);
  EXPECT_EQ(count(), 53);
  admin.ok({"FLUSHALL"});

  // An ACL user that may not RESTORE: stopped with what to grant.
  admin.ok({"ACL", "SETUSER", "restorer", "on", ">pw1", "~*", "+@all", "-restore"});
  RunResult denied = restore(with({"--to", url_of(target, "restorer:pw1")}));
  EXPECT_EQ(denied.exit_code, 7) << describe(denied);
  EXPECT_NE(denied.err.find("NOPERM"), std::string::npos) << denied.err;
  EXPECT_NE(denied.err.find("ACL SETUSER"), std::string::npos) << "what to grant is said: " << denied.err;
  EXPECT_EQ(count(), 0);
  admin.ok({"ACL", "SETUSER", "restorer", "+restore"});
  RunResult allowed = restore(with({"--to", url_of(target, "restorer:pw1")}));
  EXPECT_EQ(allowed.exit_code, 0) << describe(allowed);
  EXPECT_EQ(count(), 53);
}

TEST(RestoreE2E, KeysAlreadyExpiredAreNotSent) {
  TempDir work;
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const long long soon = now_ms() + 1500;
  Source source = make_source(work, [&](Filler& f) {
    f.select(0);
    f.set("lives", "1");
    f.set("dies:1", "1");
    f.set("dies:2", "2");
    f.cmd({"PEXPIREAT", "dies:1", std::to_string(soon)});
    f.cmd({"PEXPIREAT", "dies:2", std::to_string(soon)});
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  while (now_ms() < soon + 50) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  RedisServer target;
  RunResult r = restore({source.rdb, "--to", url_of(target), "-a", "0=condo", "--report", work.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("2 expired (not sent)"), std::string::npos) << r.out;
  EXPECT_EQ(keys_in(target), 2) << "condo:lives and the guard";
  Json j = Json::parse(read_file(work.file("r.json")));
  EXPECT_EQ(j.at("restore").at("nodes").at(0).at("restored"), 2);
}

TEST(RestoreE2E, AValueAboveProtoMaxBulkLenIsRefusedNamingTheSetting) {
  TempDir work;
  Source source = make_source(work, [](Filler& f) {
    f.select(0);
    f.set("big", pseudo_random_bytes(1500000, 3));
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;
  target.client().ok({"CONFIG", "SET", "proto-max-bulk-len", "1048576"});
  RunResult r = restore({source.rdb, "--to", url_of(target), "-a", "0=condo"});
  EXPECT_EQ(r.exit_code, 7) << describe(r);
  EXPECT_NE(r.err.find("condo:big"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("proto-max-bulk-len"), std::string::npos) << r.err;
  EXPECT_EQ(keys_in(target), 0);

  target.client().ok({"CONFIG", "SET", "proto-max-bulk-len", "4194304"});
  RunResult ok = restore({source.rdb, "--to", url_of(target), "-a", "0=condo"});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_EQ(target.client().ok({"STRLEN", "condo:big"}).as_int(), 1500000);
}

// Values of 1 MiB and more go out as whole commands built around the value, alone on a
// connection with nothing in flight; small keys keep flowing around them, over two connections
// and a small window. Every value, type and TTL arrives as it was; a second run skips them all.
TEST(RestoreE2E, LargeValuesAmongSmallOnesArriveWhole) {
  TempDir work;
  Source source = make_source(work, [](Filler& f) {
    f.select(0);
    for (int i = 0; i < 3000; ++i) {
      f.set("k:" + std::to_string(i), "v" + std::to_string(i));
      if (i % 500 == 250) f.set("big:" + std::to_string(i), pseudo_random_bytes(1048576 + 1000 * i, 10 + i));
    }
    f.set("big:exact", pseudo_random_bytes(1048576 - 40, 4));  // its command is just about 1 MiB
    f.expire("big:750", 30);  // days
    f.hset("hash:big", {{"a", pseudo_random_bytes(1200000, 5)}, {"b", "small"}});
    f.rpush("list:big", {pseudo_random_bytes(700000, 6), pseudo_random_bytes(700000, 7), "x"});
    f.select(1);
    f.set("bull:q:big", pseudo_random_bytes(2500000, 8));
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;
  Args args{source.rdb, "--to", url_of(target), "-a", "0=condo", "-a", "1=eps", "--window", "1", "--connections", "2",
            "--report", work.file("r.json")};
  RunResult r = restore(args);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("key counts check out"), std::string::npos) << r.out;
  Plan plan;
  plan.prefixes = {{0, "condo"}, {1, "eps"}};
  expect_converted(source.server->client(), target.client(), plan);
  EXPECT_EQ(target.client().ok({"STRLEN", "{eps:bull:q}:big"}).as_int(), 2500000);
  EXPECT_GT(target.client().ok({"PTTL", "condo:big:750"}).as_int(), 29LL * 86400 * 1000);
  Json j = Json::parse(read_file(work.file("r.json")));
  EXPECT_EQ(j.at("restore").at("connections"), 2);
  EXPECT_EQ(j.at("restore").at("topology"), "");

  RunResult again = restore({source.rdb, "--to", url_of(target), "-a", "0=condo", "-a", "1=eps", "--existing", "skip",
                             "--connections", "3"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_NE(again.out.find("0 restored"), std::string::npos) << again.out;
  expect_converted(source.server->client(), target.client(), plan);
}

TEST(RestoreE2E, TargetsThatCannotBeUsed) {
  TempDir work;
  Source source = make_source(work, fill_small);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const Args apps{"-a", "0=condo", "--unmapped", "drop"};
  auto with = [&](Args extra) {
    Args a{source.rdb};
    a.insert(a.end(), apps.begin(), apps.end());
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // Nothing listens.
  const int port = pick_free_port();
  RunResult none = restore(with({"--to", "redis://127.0.0.1:" + std::to_string(port), "--timeout", "2"}));
  EXPECT_EQ(none.exit_code, 7) << describe(none);
  EXPECT_NE(none.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << none.err;
  // Not a URL, --cluster against a standalone server, a cluster's database other than 0.
  RedisServer target;
  for (const Args& bad : {Args{"--to", "127.0.0.1:" + std::to_string(target.port())},
                          Args{"--to", url_of(target), "--cluster"},
                          Args{"--to", url_of(target), "--cluster", "--standalone"}}) {
    RunResult r = restore(with(bad));
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_FALSE(r.err.empty());
  }
  // A pipe whose spool directory cannot be written: nothing is sent (the spool comes first).
  RunResult piped = run({"bash", "-c", "cat '" + source.rdb + "' | TMPDIR=/nonexistent-dir '" + rdbrekey_binary() +
                                           "' restore - --to " + url_of(target) + " -a 0=condo --unmapped drop"});
  EXPECT_EQ(piped.exit_code, 3) << describe(piped);
  EXPECT_NE(piped.err.find("/nonexistent-dir"), std::string::npos) << piped.err;
  // TLS spoken to a plain port: the handshake gets no answer (within --timeout, at most 10 s).
  RunResult tls = restore(with({"--to", "rediss://127.0.0.1:" + std::to_string(target.port()), "--timeout", "3"}));
  EXPECT_EQ(tls.exit_code, 7) << describe(tls);
  EXPECT_NE(tls.err.find("use redis://"), std::string::npos) << tls.err;
  EXPECT_EQ(keys_in(target), 0);
  // The input is never modified.
  const std::string before = read_file(source.rdb);
  ASSERT_EQ(restore(with({"--to", url_of(target)})).exit_code, 0);
  EXPECT_EQ(read_file(source.rdb), before);
}

// ---------------------------------------------------------------------------------------------
// Interruptions: a restore killed midway and resumed, connections killed under it.

// A dump of `keys` string keys "key:N" in db 0 (DEBUG POPULATE), with a source server to compare.
Source populated_source(const TempDir& dir, long long keys) {
  Source s;
  RedisServerOptions o;
  o.extra_args = {"--enable-debug-command", "yes"};
  s.server = std::make_unique<RedisServer>(o);
  RespClient& c = s.server->client();
  c.ok({"DEBUG", "POPULATE", std::to_string(keys), "key", "24"});
  c.ok({"PEXPIREAT", "key:1", far_future_ms(3)});
  EXPECT_EQ(c.ok({"SAVE"}).text(), "OK");
  s.rdb = dir.file("dump.rdb");
  std::filesystem::copy_file(s.server->rdb_path(), s.rdb);
  return s;
}

// Every 97th key of the source, and key:1's TTL, read back from the target as condo:key:N.
void expect_sampled(RespClient& src, RespClient& dst, long long keys) {
  src.ok({"SELECT", "0"});
  dst.ok({"SELECT", "0"});
  for (long long i = 0; i < keys; i += 97) {
    const std::string k = "key:" + std::to_string(i);
    ASSERT_EQ(dst.ok({"GET", "condo:" + k}), src.ok({"GET", k})) << k;
  }
  EXPECT_EQ(dst.ok({"PEXPIRETIME", "condo:key:1"}), src.ok({"PEXPIRETIME", "key:1"}));
}

Json checkpoint_of(const std::string& path) {
  try {
    return Json::parse(read_file(path));
  } catch (const std::exception&) {
    return Json();  // not there yet
  }
}

// Starts `rdbrekey restore args...` (its output in `log`) and waits until its checkpoint `cp`
// shows acknowledged progress; `progressed` says whether it did.
pid_t start_restore_until_progress(const Args& args, const std::string& log, const std::string& cp, bool& progressed) {
  Args argv{rdbrekey_binary(), "restore"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string error;
  const pid_t pid = spawn_logged(argv, log, error);
  EXPECT_GT(pid, 0) << error;
  progressed = false;
  for (int i = 0; pid > 0 && i < 20000 && !progressed; ++i) {
    Json j = checkpoint_of(cp);
    progressed = j.is_object() && j.value("acknowledged", 0ULL) > 0;
    if (!progressed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pid;
}

TEST(RestoreE2E, KilledMidwayAndResumedFromTheCheckpoint) {
  const long long keys = 400000;
  TempDir work;
  Source source = populated_source(work, keys);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;
  RespClient admin = target.connect();
  const std::string cp = work.file("restore.checkpoint");
  const Args args{source.rdb, "--to", url_of(target), "-a", "0=@app/condo", "--resume", cp, "--window", "1",
                  "--report", work.file("r.json"), "-f"};

  // The first run is stopped by SIGKILL once the checkpoint shows progress, with the target's
  // writes paused so that commands are in flight (sent, not all acknowledged).
  bool progressed = false;
  const pid_t pid = start_restore_until_progress(args, work.file("first.log"), cp, progressed);
  ASSERT_GT(pid, 0);
  admin.ok({"CLIENT", "PAUSE", "10000", "WRITE"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  admin.ok({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(progressed) << "the first run did not save progress:\n" << read_file(work.file("first.log"));
  ASSERT_TRUE(WIFSIGNALED(status)) << "the first run ended before it was killed:\n" << read_file(work.file("first.log"));
  const Json saved = checkpoint_of(cp);
  ASSERT_TRUE(saved.is_object()) << read_file(cp);
  EXPECT_FALSE(saved.at("complete").get<bool>());
  const long long after_first = dbsize(admin, 0);
  EXPECT_GT(after_first, 0);
  EXPECT_LT(after_first, keys + 1);
  EXPECT_GE(after_first, saved.at("restored").get<long long>()) << "acknowledged keys are in the target";

  // Another run with other options is refused, naming what differs; the checkpoint is kept.
  Args other = args;
  other[4] = "0=@app/other";
  RunResult refused = restore(other);
  EXPECT_EQ(refused.exit_code, 2) << describe(refused);
  EXPECT_NE(refused.err.find("apps"), std::string::npos) << refused.err;

  // The same command again: it goes on, without BUSYKEY errors for what the first run sent.
  RunResult second = restore(args);
  ASSERT_EQ(second.exit_code, 0) << describe(second) << "\nfirst run:\n" << read_file(work.file("first.log"));
  EXPECT_NE(second.out.find("resumed"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("key counts check out"), std::string::npos) << second.out;
  EXPECT_EQ(dbsize(admin, 0), keys + 1);
  expect_sampled(source.server->client(), admin, keys);
  Json report = Json::parse(read_file(work.file("r.json"))).at("restore");
  EXPECT_EQ(report.at("resumed"), true);
  EXPECT_EQ(report.at("settled_earlier").get<long long>(), saved.at("acknowledged").get<long long>());
  const Json& node = report.at("nodes").at(0);
  EXPECT_EQ(node.at("restored").get<long long>() + node.at("found_restored").get<long long>() +
                report.at("settled_earlier").get<long long>(),
            keys + 1);
  EXPECT_EQ(report.at("progress").at("restored"), keys + 1);
  EXPECT_EQ(checkpoint_of(cp).at("complete"), true);

  // A complete checkpoint is not continued.
  RunResult done = restore(args);
  EXPECT_EQ(done.exit_code, 2) << describe(done);
  EXPECT_NE(done.err.find("complete"), std::string::npos) << done.err;
}

// SIGINT (and SIGTERM) stop a restore cleanly: nothing is sent after the signal, the replies in
// flight are waited for, the checkpoint is exact (everything in the target is acknowledged), and
// the resumed run finds nothing it has to take on trust.
TEST(RestoreE2E, InterruptedBySignalSavesAnExactCheckpointAndResumes) {
  const long long keys = 300000;
  TempDir work;
  Source source = populated_source(work, keys);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig == SIGINT ? "SIGINT" : "SIGTERM");
    RedisServer target;
    RespClient admin = target.connect();
    const std::string cp = work.file("restore-" + std::to_string(sig) + ".checkpoint");
    const Args args{source.rdb, "--to", url_of(target), "-a", "0=@app/condo", "--resume", cp, "--window", "1",
                    "--report", work.file("r.json"), "-f"};
    const std::string log = work.file("first-" + std::to_string(sig) + ".log");
    bool progressed = false;
    const pid_t pid = start_restore_until_progress(args, log, cp, progressed);
    ASSERT_GT(pid, 0);
    // Writes paused: the commands sent are not answered while the signal arrives.
    admin.ok({"CLIENT", "PAUSE", "20000", "WRITE"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(pid, sig);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "it did not wait for the replies in flight";
    const long long paused_size = dbsize(admin, 0);
    admin.ok({"CLIENT", "UNPAUSE"});
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(progressed) << read_file(log);
    ASSERT_TRUE(WIFEXITED(status)) << "it did not stop by itself:\n" << read_file(log);
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << read_file(log);
    const std::string first = read_file(log);
    EXPECT_NE(first.find(sig == SIGINT ? "SIGINT" : "SIGTERM"), std::string::npos) << first;
    EXPECT_NE(first.find("run the same command again"), std::string::npos) << first;

    const Json saved = checkpoint_of(cp);
    ASSERT_TRUE(saved.is_object()) << read_file(cp);
    EXPECT_FALSE(saved.at("complete").get<bool>());
    // Exact: what the target holds is what was acknowledged, and nothing beyond it was sent.
    const long long after_first = dbsize(admin, 0);
    EXPECT_GE(after_first, paused_size);
    EXPECT_EQ(after_first, saved.at("restored").get<long long>());
    EXPECT_EQ(saved.at("sent_below"), saved.at("acknowledged"));
    EXPECT_LT(after_first, keys + 1);

    RunResult second = restore(args);
    ASSERT_EQ(second.exit_code, 0) << describe(second) << "\nfirst run:\n" << first;
    EXPECT_EQ(dbsize(admin, 0), keys + 1);
    expect_sampled(source.server->client(), admin, keys);
    Json report = Json::parse(read_file(work.file("r.json"))).at("restore");
    const Json& node = report.at("nodes").at(0);
    EXPECT_EQ(node.at("found_restored").get<long long>(), 0) << "an exact checkpoint leaves nothing uncertain";
    EXPECT_EQ(node.at("restored").get<long long>() + report.at("settled_earlier").get<long long>(), keys + 1);
    EXPECT_EQ(report.at("count_check"), "ok");
  }
}

TEST(RestoreE2E, StoppedByAnExistingKeyAndResumedWithSkip) {
  const long long keys = 20000;
  TempDir work;
  Source source = populated_source(work, keys);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;
  RespClient& dst = target.client();
  dst.ok({"SET", "condo:key:12345", "the target's own"});
  const std::string cp = work.file("cp.json");
  Args args{source.rdb, "--to", url_of(target), "-a", "0=condo", "--resume", cp};
  RunResult first = restore(args);
  ASSERT_EQ(first.exit_code, 7) << describe(first);
  EXPECT_NE(first.err.find("condo:key:12345"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find(cp), std::string::npos) << "the message says how to continue: " << first.err;
  const Json saved = checkpoint_of(cp);
  EXPECT_FALSE(saved.at("complete").get<bool>());
  // After a clean stop the checkpoint is exact: what was sent, and of that what is not there.
  const long long first_added = dbsize(dst, 0) - 1;
  EXPECT_GE(first_added, saved.at("restored").get<long long>());
  EXPECT_EQ(saved.at("not_restored").size(), 1u) << saved.dump();

  args.insert(args.end(), {"--existing", "skip", "--report", work.file("r.json")});
  RunResult second = restore(args);
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_EQ(dst.ok({"GET", "condo:key:12345"}), Reply::bulk("the target's own"));
  EXPECT_EQ(dbsize(dst, 0), keys + 1);
  Json node = Json::parse(read_file(work.file("r.json"))).at("restore").at("nodes").at(0);
  EXPECT_EQ(node.at("skipped_existing"), 1);
  // Keys the first run restored after the failing one (their replies came in while it stopped)
  // are found there: not errors, not "skipped".
  EXPECT_EQ(node.at("found_restored").get<long long>(), first_added - saved.at("restored").get<long long>());
  expect_sampled(source.server->client(), dst, keys);
}

// A target out of memory (maxmemory, noeviction) stops the restore with what to do; once it has
// room, the same command with --resume continues where it stopped.
TEST(RestoreE2E, ATargetOutOfMemoryStopsWithWhatToDoAndResumes) {
  const long long keys = 50000;
  TempDir work;
  Source source = populated_source(work, keys);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;
  RespClient& dst = target.client();
  const long long used = std::stoll(info_field(dst.ok({"INFO", "memory"}).text(), "used_memory"));
  dst.ok({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  dst.ok({"CONFIG", "SET", "maxmemory", std::to_string(used + (2 << 20))});  // room for a part only
  const std::string cp = work.file("cp.json");
  const Args args{source.rdb, "--to", url_of(target), "-a", "0=condo", "--resume", cp, "--report", work.file("r.json")};
  RunResult first = restore(args);
  ASSERT_EQ(first.exit_code, 7) << describe(first);
  for (const std::string& word : {std::string("out of memory"), std::string("maxmemory"),
                                  "127.0.0.1:" + std::to_string(target.port()), std::string("condo:key:"), cp})
    EXPECT_NE(first.err.find(word), std::string::npos) << word << " in: " << first.err;
  const long long first_added = dbsize(dst, 0);
  EXPECT_GT(first_added, 0);
  EXPECT_LT(first_added, keys + 1);
  // The checkpoint's settled prefix ends at the first refused key; keys after it that the
  // target still took (its memory use moves) are found there by the next run.
  const long long settled = checkpoint_of(cp).at("restored").get<long long>();
  EXPECT_LE(settled, first_added);

  dst.ok({"CONFIG", "SET", "maxmemory", "0"});
  RunResult second = restore(args);
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_EQ(dbsize(dst, 0), keys + 1);
  expect_sampled(source.server->client(), dst, keys);
  Json report = Json::parse(read_file(work.file("r.json"))).at("restore");
  EXPECT_EQ(report.at("nodes").at(0).at("found_restored").get<long long>(), first_added - settled);
  EXPECT_EQ(report.at("count_check"), "ok");
}

TEST(RestoreE2E, ConnectionsKilledUnderItAreMadeAgain) {
  const long long keys = 300000;
  TempDir work;
  Source source = populated_source(work, keys);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RedisServer target;
  RespClient admin = target.connect();
  // One connection, then three (each killed and made again on its own).
  for (const char* connections : {"1", "3"}) {
    SCOPED_TRACE(std::string("--connections ") + connections);
    admin.ok({"FLUSHALL"});
    Args argv{rdbrekey_binary(), "restore", source.rdb, "--to", url_of(target), "-a", "0=condo", "--window", "1",
              "--connections", connections, "--report", work.file("r.json"), "--progress", "always", "--force"};
    std::string error;
    const pid_t pid = spawn_logged(argv, work.file("restore.log"), error);
    ASSERT_GT(pid, 0) << error;
    // Kill the restore's connections now and then while keys arrive. Once, writes are paused
    // for longer than the progress line waits between two lines: a line shows what is in flight.
    long long killed = 0;
    int status = 0;
    bool exited = false, paused = false;
    for (int i = 0; i < 6000 && !exited; ++i) {
      const long long n = dbsize(admin, 0);
      if (n > 0 && !paused) paused = admin.ok({"CLIENT", "PAUSE", "1200", "WRITE"}) == Reply::status("OK");
      if (n > 0 && n < keys - 20000 && killed < 5)
        killed += admin.ok({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).as_int();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      exited = ::waitpid(pid, &status, WNOHANG) == pid;
    }
    if (!exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    const std::string log = read_file(work.file("restore.log"));
    ASSERT_TRUE(exited) << log;
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    ASSERT_GT(killed, 0) << "no connection was killed: the restore was too quick for the test";
    EXPECT_EQ(dbsize(admin, 0), keys + 1);
    expect_sampled(source.server->client(), admin, keys);
    Json node = Json::parse(read_file(work.file("r.json"))).at("restore").at("nodes").at(0);
    EXPECT_GE(node.at("reconnects").get<long long>(), 1) << log;
    EXPECT_NE(log.find("key counts check out"), std::string::npos) << log;
    // The progress line says what it is doing: while sending, the commands in flight.
    EXPECT_TRUE(paused);
    EXPECT_NE(log.find("keys/s"), std::string::npos) << log;
    EXPECT_NE(log.find("in flight: "), std::string::npos) << log;
  }
}

}  // namespace
}  // namespace rdbrekey::test
