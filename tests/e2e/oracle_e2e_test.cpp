// Random conversions through the CLI, checked where it matters: a real redis-server loads each
// output (a duplicate key would abort it) and holds exactly what the oracle says, key by key
// (type, value, TTL); a refused conversion leaves no file. Inputs are files and FIFOs.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/rdb_input.h"
#include "support/oracle.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/scenario.h"

namespace rdbrekey {
namespace {

using test::RedisServer;
using test::RespClient;

std::string decode_string(const std::string& rdb_string) {
  MemorySource src("value", rdb_string.data(), rdb_string.size());
  RdbInput in(src, RdbVersion{RdbFamily::kRedis, 11});
  std::string text;
  in.read_string(text, "value");
  return text;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

// The command line for a scenario; pipe inputs are FIFOs fed by `cat` in the background.
std::string command_for(const test::Scenario& s, const test::TempDir& dir, const std::string& out) {
  std::string feed, args;
  for (const auto& in : s.inputs) {
    std::string path = dir.file(in.name);
    if (in.pipe) {
      test::write_file(path + ".bytes", in.bytes);
      feed += fmt::format("mkfifo {0} && (cat {0}.bytes > {0} &) && ", q(path));
    } else {
      test::write_file(path, in.bytes);
    }
    args += " " + q(path);
  }
  for (const auto& [db, name] : s.opt.apps) args += fmt::format(" -a {}={}", db, name);
  for (const auto& [id, name] : s.opt.input_apps)
    args += fmt::format(" -a {}:{}={}", q(dir.file(s.inputs[id.input].name)), id.db, name);
  args += " --aux-from " + q(dir.file(s.inputs[s.opt.aux_from].name));
  const char* unmapped[] = {"error", "drop", "keep"};
  const char* policy[] = {"error", "keep-first", "keep-last"};
  args += fmt::format(" --unmapped {} --on-collision {} --data-version {}", unmapped[static_cast<int>(s.opt.unmapped)],
                      policy[static_cast<int>(s.opt.on_collision)], s.opt.data_version);
  if (s.opt.drop_expired_before) args += fmt::format(" --drop-expired={}", *s.opt.drop_expired_before);
  // Debian's redis-server (7.0) reads up to REDIS0010, which holds every generated type.
  args += " --rdb-version 10";
  return feed + test::rdbrekey_binary() + " convert" + args + " -o " + q(out) + " -q";
}

TEST(OracleE2E, RandomConversionsLoadIntoARealServerAsPredicted) {
  std::mt19937 rng(7);
  int loaded = 0, refused = 0;
  for (int iteration = 0; iteration < 30; ++iteration) {
    test::TempDir dir;
    test::Scenario s = test::generate_scenario(rng);
    for (auto& in : s.inputs) in.name = dir.file(in.name);  // the CLI names inputs by path
    test::Expected want = test::expect_conversion(s.opt, s.inputs);
    for (auto& in : s.inputs) in.name = in.name.substr(dir.path().size() + 1);
    std::string out = dir.file("out.rdb");
    test::RunResult r = test::run({"bash", "-c", command_for(s, dir, out)});
    SCOPED_TRACE(fmt::format("iteration {}{}\n{}", iteration, s.text, r.err));
    // The exit codes of `rdbrekey --help`: 6 for a refusal.
    int status = !want.code ? 0 : 6;
    ASSERT_EQ(r.exit_code, status);
    bool out_exists = false;
    for (const auto& e : dir.entries()) out_exists |= e == "out.rdb";
    if (want.code) {
      EXPECT_FALSE(out_exists);
      ++refused;
      continue;
    }
    auto started = RedisServer::try_start_on_rdb(out);
    if (!started.server && std::getenv("RDBREKEY_KEEP_FAILED")) {
      std::string keep = std::getenv("RDBREKEY_KEEP_FAILED");
      test::run({"bash", "-c", "cp -r " + q(dir.path()) + "/. " + q(keep) + "/"});
      test::write_file(keep + "/command", command_for(s, dir, out));
      test::write_file(keep + "/server.log", started.log);
    }
    ASSERT_TRUE(started.server) << "redis-server refused the output: " << started.error;
    RespClient& c = started.server->client();
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    long long live = 0;
    for (const auto& [name, img] : want.output) {
      if (img.has_expire && img.expire_ms <= now) continue;  // a server drops it at load
      ++live;
      if (img.type == 0) {
        EXPECT_EQ(c.ok({"GET", name}).text(), decode_string(img.value)) << name;
      } else {
        std::vector<std::string> members = c.ok({"SMEMBERS", name}).strings();
        std::sort(members.begin(), members.end());
        EXPECT_EQ(members, (std::vector<std::string>{"m1", "m2"})) << name;
      }
      EXPECT_EQ(c.ok({"PTTL", name}).as_int() > 0, img.has_expire) << name;
    }
    EXPECT_EQ(c.ok({"DBSIZE"}).as_int(), live);
    ++loaded;
  }
  EXPECT_GT(loaded, 10);
  EXPECT_GT(refused, 3);
}

}  // namespace
}  // namespace rdbrekey
