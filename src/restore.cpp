// `rdbrekey restore`: probe the target, then convert into a RestoreOutput.
#include "rdbrekey/restore.h"

#include <chrono>
#include <charconv>
#include <algorithm>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/error.h"
#include "rdbrekey/output_paths.h"
#include "rdbrekey/rdb_output.h"
#include "rdbrekey/report.h"

namespace rdbrekey {
namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string info_field(const std::string& info, std::string_view name) {
  size_t at = 0;
  while (at < info.size()) {
    size_t eol = info.find('\n', at);
    if (eol == std::string::npos) eol = info.size();
    std::string_view line(info.data() + at, eol - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':')
      return std::string(line.substr(name.size() + 1));
    at = eol + 1;
  }
  return "";
}

// "7.0.15" -> {7, 0}
std::pair<int, int> major_minor(const std::string& v) {
  int major = 0, minor = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), major);
  if (ec == std::errc() && p < v.data() + v.size() && *p == '.') std::from_chars(p + 1, v.data() + v.size(), minor);
  return {major, minor};
}

using Json = nlohmann::ordered_json;

// What a checkpoint must agree on to be continued: the inputs (as named, with their size and
// modification time), the target, and every option that changes which records are sent in
// which order (--existing does not: a restore stopped by a key already there may go on with
// --existing skip).
Json checkpoint_identity(const RestoreOptions& options, const RedisUrl& url) {
  const ConvertOptions& c = options.convert;
  Json inputs = Json::array();
  for (const auto& path : c.inputs) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    auto mtime = std::filesystem::last_write_time(path, ec);
    inputs.push_back({{"path", path},
                      {"bytes", ec ? 0 : static_cast<uint64_t>(size)},
                      {"mtime_ns", ec ? 0 : static_cast<int64_t>(mtime.time_since_epoch().count())}});
  }
  Json apps = Json::array();
  for (const auto& [db, name] : c.apps) apps.push_back(fmt::format("{}={}", db, name));
  for (const auto& [id, name] : c.input_apps) apps.push_back(fmt::format("{}:{}={}", id.input, id.db, name));
  return {{"target", url.endpoint.address()},
          {"db", url.db},
          {"inputs", inputs},
          {"apps", apps},
          {"unmapped", static_cast<int>(c.unmapped)},
          {"hashtags", c.hashtags},
          {"on_collision", static_cast<int>(c.on_collision)},
          {"data_version", c.data_version},
          {"drop_field_ttls", c.drop_field_ttls},
          {"drop_functions", c.drop_functions},
          {"lossy", c.lossy}};
}

struct Checkpoint {
  RestoreProgress progress;
  int64_t drop_expired_before = 0;
  int64_t dbsize_before = -1;
};

// Reads a checkpoint and checks that it belongs to this restore.
Checkpoint read_checkpoint(const std::string& path, const Json& identity) {
  Json j;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::kCannotOpen, fmt::format("--resume {}: cannot be read", path));
    j = Json::parse(in);
  } catch (const Json::exception& e) {
    throw Error(Errc::kBadOption, fmt::format("--resume {}: not a checkpoint of rdbrekey restore ({})", path, e.what()));
  }
  if (!j.is_object() || j.value("rdbrekey_restore_checkpoint", 0) != 1 || !j.contains("identity"))
    throw Error(Errc::kBadOption, fmt::format("--resume {}: not a checkpoint of rdbrekey restore", path));
  for (const auto& [field, want] : identity.items())
    if (j["identity"][field] != want)
      throw Error(Errc::kBadOption,
                  fmt::format("--resume {}: it is the checkpoint of another restore: its {} is {}, this one's is {}. "
                              "Run with the same inputs (unchanged), target and options, or with another --resume file",
                              path, field, j["identity"][field].dump(), want.dump()));
  Checkpoint c;
  try {
    c.progress.acknowledged = j.at("acknowledged").get<uint64_t>();
    c.progress.sent_below = j.at("sent_below").get<uint64_t>();
    c.progress.restored = j.at("restored").get<uint64_t>();
    c.progress.with_ttl = j.at("with_ttl").get<uint64_t>();
    c.progress.complete = j.at("complete").get<bool>();
    c.progress.not_restored = j.value("not_restored", std::vector<uint64_t>{});
    std::sort(c.progress.not_restored.begin(), c.progress.not_restored.end());
    c.drop_expired_before = j.at("drop_expired_before").get<int64_t>();
    c.dbsize_before = j.at("dbsize_before").get<int64_t>();
  } catch (const Json::exception& e) {
    throw Error(Errc::kBadOption, fmt::format("--resume {}: a field is missing or wrong ({})", path, e.what()));
  }
  if (c.progress.sent_below < c.progress.acknowledged)
    throw Error(Errc::kBadOption, fmt::format("--resume {}: sent_below is below acknowledged", path));
  return c;
}

void write_checkpoint(const std::string& path, const Json& identity, const Checkpoint& c) {
  Json j = {{"rdbrekey_restore_checkpoint", 1},
            {"identity", identity},
            {"drop_expired_before", c.drop_expired_before},
            {"dbsize_before", c.dbsize_before},
            {"acknowledged", c.progress.acknowledged},
            {"sent_below", c.progress.sent_below},
            {"restored", c.progress.restored},
            {"with_ttl", c.progress.with_ttl},
            {"complete", c.progress.complete},
            {"not_restored", c.progress.not_restored}};
  std::string text = j.dump(2) + "\n";
  AtomicFileSink sink(path, true, 64 << 10, false);
  sink.write(text.data(), text.size());
  sink.finalize();
}

}  // namespace

TargetInfo target_from_info(const std::string& info) {
  TargetInfo t;
  std::string valkey = info_field(info, "valkey_version");
  std::string redis = info_field(info, "redis_version");
  if (!valkey.empty()) {
    auto [major, minor] = major_minor(valkey);
    t.server = "Valkey " + valkey;
    // Valkey 9 loads VALKEY080 records; Valkey 7.2 and 8 what REDIS0011 holds.
    t.holds = major >= 9 ? RdbVersion{RdbFamily::kValkey, 80} : RdbVersion{RdbFamily::kRedis, 11};
    t.payload_version = 11;
    t.name = target_name_of_server("valkey", major, minor);
    return t;
  }
  if (redis.empty()) throw Error(Errc::kTargetRefused, "the target's INFO server names no redis_version or valkey_version");
  auto [major, minor] = major_minor(redis);
  t.server = "Redis " + redis;
  int v = 6;  // Redis 2.6 .. 3.0
  if (major > 8 || (major == 8 && minor >= 8)) v = 14;
  else if (major == 8 && minor >= 6) v = 13;
  else if (major == 8 || (major == 7 && minor >= 4)) v = 12;
  else if (major == 7 && minor >= 2) v = 11;
  else if (major == 7) v = 10;
  else if (major >= 5) v = 9;
  else if (major == 4) v = 8;
  else if (major == 3 && minor >= 2) v = 7;
  t.holds = RdbVersion{RdbFamily::kRedis, v};
  t.payload_version = static_cast<uint16_t>(std::min(v, 11));
  t.name = target_name_of_server("redis", major, minor);
  return t;
}

RestoreResult restore(const RestoreOptions& options) {
  const ConvertOptions& copt = options.convert;
  if (copt.inputs.empty()) throw Error(Errc::kBadOption, "no input file");
  std::vector<OutputPath> outputs;
  if (!copt.report.empty()) outputs.push_back({"--report", copt.report});
  check_output_paths(copt.inputs, outputs, copt.overwrite);
  if (!options.resume_file.empty()) {
    check_output_paths(copt.inputs, {{"--resume", options.resume_file}}, true);
    // A resumed restore skips records by number: it must read the very same bytes, which only a
    // file (its size and modification time in the checkpoint) can show.
    for (const auto& path : copt.inputs) {
      std::error_code ec;
      if (path == "-" || !std::filesystem::is_regular_file(path, ec))
        throw Error(Errc::kBadOption,
                    fmt::format("--resume needs inputs that are files: {} is {}; save the dump to a file first", path,
                                path == "-" ? "standard input" : "not a regular file"));
    }
  }

  RedisUrl url = parse_redis_url(options.to);
  const TlsOptions& tls = options.tls;
  if (url.tls) {
    url.credentials.tls = std::make_shared<TlsContext>(tls);
  } else if (!tls.ca_file.empty() || !tls.ca_dir.empty() || !tls.cert_file.empty() || !tls.key_file.empty() ||
             !tls.server_name.empty() || !tls.verify) {
    throw Error(Errc::kBadOption, "--cacert, --cacertdir, --cert, --key, --sni and --insecure are for TLS: --to rediss://...");
  }
  if (options.password) url.credentials.password = *options.password;

  // The probe: release, cluster mode, the largest argument it takes.
  RestoreResult result;
  {
    RedisConnection probe(url.endpoint, url.credentials, options.timeout_ms);
    RedisReply info = probe.call({"INFO", "server"});
    if (info.is_error()) throw Error(Errc::kTargetRefused, fmt::format("{}: INFO server answered {}", url.endpoint.address(), info.describe()));
    result.target = target_from_info(info.str);
    if (!copt.target_name.empty() && copt.target_name != result.target.name)
      throw Error(Errc::kBadOption,
                  fmt::format("--target {}: the server at {} is {}{}; nothing was sent", copt.target_name,
                              url.endpoint.address(), result.target.server,
                              result.target.name.empty() ? "" : " (--target " + result.target.name + ")"));
    RedisReply cl = probe.call({"INFO", "cluster"});
    bool enabled = !cl.is_error() && info_field(cl.str, "cluster_enabled") == "1";
    result.target.cluster = options.cluster.value_or(enabled);
    if (result.target.cluster && !enabled)
      throw Error(Errc::kBadOption, fmt::format("--cluster: {} is not in cluster mode (INFO cluster)", url.endpoint.address()));
    if (result.target.cluster && url.db != 0)
      throw Error(Errc::kBadOption, "--to: a cluster has only database 0");
    result.target.max_bulk = uint64_t{512} << 20;
    RedisReply bulk = probe.call({"CONFIG", "GET", "proto-max-bulk-len"});
    if (!bulk.is_error() && bulk.elements.size() == 2) {
      uint64_t v = 0;
      const std::string& s = bulk.elements[1].str;
      if (auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v); ec == std::errc() && v > 0)
        result.target.max_bulk = v;
    }
  }

  // A checkpoint to continue from.
  Json identity = checkpoint_identity(options, url);
  Checkpoint checkpoint;
  if (!options.resume_file.empty() && std::filesystem::exists(options.resume_file)) {
    checkpoint = read_checkpoint(options.resume_file, identity);
    if (checkpoint.progress.complete)
      throw Error(Errc::kBadOption,
                  fmt::format("--resume {}: that restore is complete ({} keys restored); nothing to continue. Remove "
                              "the file to restore again",
                              options.resume_file, checkpoint.progress.restored));
    result.resumed = true;
  }

  ConvertOptions run = copt;
  run.target = result.target.holds;
  run.target_name = result.target.name;
  run.dry_run = options.dry_run;
  // Keys already expired are not sent (a RESTORE with a past ABSTTL stores nothing): counted.
  // A resumed restore drops what the first run dropped (the records keep their numbers); what
  // expired since is not sent either (RestoreOutput).
  run.drop_expired_before =
      result.resumed ? checkpoint.drop_expired_before : std::max(copt.drop_expired_before.value_or(0), wall_ms());

  RestoreSettings settings;
  settings.existing = options.existing;
  settings.payload_version = result.target.payload_version;
  settings.window_bytes = options.window_bytes;
  settings.connections = options.connections;
  settings.max_bulk = result.target.max_bulk;
  settings.timeout_ms = options.timeout_ms;
  settings.db = url.db;
  settings.cluster = result.target.cluster;
  settings.credentials = url.credentials;
  settings.now_ms = wall_ms;

  OpenedInputs inputs = open_inputs(copt.inputs);
  if (options.dry_run) {
    // The topology is read (and every primary reached) without sending a key.
    RestoreOutput probe(url.endpoint, settings);
    probe.count_keys_before();
    result.nodes = probe.nodes();
    result.topology_source = probe.topology_source();
    DiscardOutput nowhere;
    result.convert = convert(run, inputs.sources, nowhere);
  } else {
    if (result.resumed) {
      settings.resume_below = checkpoint.progress.acknowledged;
      settings.uncertain_below = checkpoint.progress.sent_below;
      settings.earlier = checkpoint.progress;
      settings.dbsize_before = checkpoint.dbsize_before;
    } else {
      checkpoint.drop_expired_before = *run.drop_expired_before;
    }
    RestoreOutput out(url.endpoint, settings);
    out.count_keys_before();
    if (!result.resumed) checkpoint.dbsize_before = out.total_dbsize_before();
    if (!options.resume_file.empty())
      out.set_checkpoint([&, identity](const RestoreProgress& p) {
        Checkpoint c = checkpoint;
        c.progress = p;
        write_checkpoint(options.resume_file, identity, c);
      });
    if (copt.progress)  // the phase, and while sending the commands in flight per node
      run.progress = [&out, show = copt.progress](const Progress& p) {
        Progress q = p;
        q.detail = out.begun() ? out.in_flight_summary() : "deciding collisions (nothing sent yet)";
        show(q);
      };
    try {
      result.convert = convert(run, inputs.sources, out);
    } catch (const Error& e) {
      bool stopped_midway = e.code() == Errc::kTargetUnavailable || e.code() == Errc::kTargetRefused ||
                            e.code() == Errc::kTargetKeyExists || e.code() == Errc::kInterrupted;
      if (!options.resume_file.empty())
        throw Error(e.code(), fmt::format("{}\nprogress is saved in {}: run the same command again to continue",
                                          e.what(), options.resume_file));
      if (stopped_midway && e.code() != Errc::kTargetKeyExists)
        throw Error(e.code(), fmt::format("{}\nthe keys restored stay in the target: to continue, run the same command "
                                          "with --existing skip (and --resume FILE, to save progress next time)",
                                          e.what()));
      throw;
    }
    result.settled_earlier = out.settled_earlier();
    result.nodes = out.nodes();
    result.expired_at_send = out.expired_at_send();
    result.module_aux_not_restored = out.module_aux_not_restored();
    result.aux_not_restored = out.aux_not_restored();
    result.count_check = out.count_check();
    result.slots_moved = out.slots_moved();
    result.topology_source = out.topology_source();
    result.convert.output_bytes = out.bytes_written();
    result.progress = out.progress();
    result.progress.restored += settings.earlier.restored;
    result.progress.with_ttl += settings.earlier.with_ttl;
  }
  if (!copt.report.empty()) {
    AtomicFileSink report(copt.report, copt.overwrite);
    std::string text = restore_report_json(options, result);
    report.write(text.data(), text.size());
    report.finalize();
  }
  if (!result.count_check.empty())
    throw Error(Errc::kTargetMismatch,
                "the target's key counts do not add up (was something else writing to it?): " + result.count_check);
  return result;
}

std::string restore_report_json(const RestoreOptions& options, const RestoreResult& r) {
  using Json = nlohmann::ordered_json;
  Json j = Json::parse(report_json(options.convert, r.convert));
  j.erase("output");
  Json nodes = Json::array();
  for (const NodeTally& t : r.nodes)
    nodes.push_back({{"address", t.address},
                     {"id", t.id},
                     {"restored", t.restored},
                     {"skipped_existing", t.skipped_existing},
                     {"functions", t.functions},
                     {"functions_existing", t.functions_existing},
                     {"redirects", t.redirects},
                     {"retries", t.retries},
                     {"reconnects", t.reconnects},
                     {"found_restored", t.found_restored},
                     {"dbsize_before", t.dbsize_before},
                     {"dbsize_after", t.dbsize_after}});
  RedisUrl url = parse_redis_url(options.to);
  j["restore"] = {{"target", url.endpoint.address()},
                  {"tls", url.tls},
                  {"server", r.target.server},
                  {"cluster", r.target.cluster},
                  {"topology", r.topology_source},
                  {"connections", options.connections},
                  {"holds", r.target.holds.magic()},
                  {"payload_version", r.target.payload_version},
                  {"existing", options.existing == ExistingPolicy::kError  ? "error"
                               : options.existing == ExistingPolicy::kSkip ? "skip"
                                                                           : "replace"},
                  {"dry_run", options.dry_run},
                  {"expired_at_send", r.expired_at_send},
                  {"module_aux_not_restored", r.module_aux_not_restored},
                  {"count_check", r.count_check.empty() ? "ok" : r.count_check},
                  {"count_check_scope", r.slots_moved ? "total" : "per primary"},
                  {"resume_file", options.resume_file},
                  {"resumed", r.resumed},
                  {"settled_earlier", r.settled_earlier},
                  {"progress",
                   {{"acknowledged", r.progress.acknowledged},
                    {"restored", r.progress.restored},
                    {"complete", r.progress.complete}}},
                  {"nodes", nodes}};
  return j.dump(2) + "\n";
}

}  // namespace rdbrekey
