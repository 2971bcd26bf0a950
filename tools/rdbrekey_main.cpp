// rdbrekey: offline conversion of Redis/Valkey RDB backups for a move to one prefixed db 0.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <system_error>
#include <vector>
#include <optional>
#include <string>

#include "rdbrekey/app_map_sources.h"
#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/build_features.h"
#include "rdbrekey/compression.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/inspector.h"
#include "rdbrekey/report.h"
#include "rdbrekey/restore.h"
#include "rdbrekey/signals.h"
#include "rdbrekey/verifier.h"
#include "rdbrekey_build_commit.h"

namespace {

using namespace rdbrekey;

// Process exit codes, one per kind of failure (listed in kExitCodes below).
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,
  kUsage = 2,
  kIo = 3,
  kCorrupt = 4,
  kUnsupported = 5,
  kRefused = 6,
  kTarget = 7,
};

// The exit code of each kind of library error.
ExitCode exit_code_of(Errc code) {
  switch (code) {
    case Errc::kBadOption:
    case Errc::kOutputIsInput:
    case Errc::kNotRegularFile:
    case Errc::kSameFileTwice:
    case Errc::kTooMany:
    case Errc::kBadTopology:
      return ExitCode::kUsage;
    case Errc::kCannotOpen:
    case Errc::kReadFailed:
    case Errc::kWriteFailed:
    case Errc::kNoSpace:
    case Errc::kOutputExists:
      return ExitCode::kIo;
    case Errc::kNotRdb:
    case Errc::kTruncated:
    case Errc::kBadFraming:
    case Errc::kChecksumMismatch:
    case Errc::kInputChanged:
    case Errc::kDuplicateKey:
    case Errc::kKeyCountMismatch:
      return ExitCode::kCorrupt;
    case Errc::kUnknownVersion:
    case Errc::kUnknownType:
    case Errc::kBeyondLimits:
      return ExitCode::kUnsupported;
    case Errc::kUnmappedDatabase:
    case Errc::kCollision:
    case Errc::kCannotHold:
    case Errc::kAmbiguousMap:
      return ExitCode::kRefused;
    case Errc::kTargetUnavailable:
    case Errc::kTargetRefused:
    case Errc::kTargetKeyExists:
    case Errc::kTargetMismatch:
      return ExitCode::kTarget;
    case Errc::kInterrupted:  // 128 + the signal (main)
    case Errc::kInternal:
      return ExitCode::kInternal;
  }
  return ExitCode::kInternal;
}

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0    success\n"
    "  1    internal error (a bug: please report it)\n"
    "  2    bad command line (options, --app mapping, a number out of range, an output or report that is\n"
    "       an input or not a regular file, a --cluster topology that cannot be parsed or does not cover\n"
    "       every slot exactly once, a --map line that is not DB=NAME, a --monorepo package.json or\n"
    "       REDIS_URL that cannot be read, an --app-filter that names no application)\n"
    "  3    I/O error: an input (or the topology file) cannot be read or an output cannot be written\n"
    "       (missing file, disk full)\n"
    "  4    corrupt input: truncated file, bad framing, checksum mismatch, an input that changed while it\n"
    "       was read; for verify also a duplicate key\n"
    "  5    unsupported input: unknown RDB version, value type or opcode\n"
    "  6    refused: unmapped databases, a record the output version cannot hold, keys that renaming\n"
    "       makes equal (collisions), or an ambiguous map: one database named for two applications (by\n"
    "       --app, --map or --monorepo), --monorepo applications whose REDIS_URLs name different servers\n"
    "  7    restore: the target server cannot be reached, refused a command (credentials, permissions, out\n"
    "       of memory, a payload), already holds a key (--existing error), or its key count does not add up\n"
    "  130  interrupted (SIGINT); 143 terminated (SIGTERM); 129 hung up (SIGHUP): no output is left behind;\n"
    "       a restore stops sending, waits for the replies in flight and saves its --resume file first\n"
    "On any failure no output file (and no temporary file) is left behind.";

std::string fmt_count(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// A whole number given on the command line: decimal digits only, at most `max`; anything else
// (a sign, a fraction, an empty string, a value out of range) is a usage error (exit 2).
uint64_t parse_number_option(const std::string& text, const std::string& option, uint64_t max) {
  uint64_t v = 0;
  bool ok = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (ok) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    ok = ec == std::errc() && end == text.data() + text.size() && v <= max;
  }
  if (!ok)
    throw Error(Errc::kBadOption,
                fmt::format("{} \"{}\": expected a whole number from 0 to {}", option, text, max));
  return v;
}

std::map<uint64_t, std::string> parse_apps(const std::vector<std::string>& args) {
  std::map<uint64_t, std::string> apps;
  for (const auto& a : args) {
    auto eq = a.find('=');
    std::string num = a.substr(0, eq);
    if (eq == std::string::npos || num.empty() || num.find_first_not_of("0123456789") != std::string::npos ||
        num.size() > 9)
      throw Error(Errc::kBadOption, fmt::format("--app \"{}\": expected DB=NAME, e.g. 0=@app/condo", a));
    std::string name = a.substr(eq + 1);
    app_prefix_from_name(name);  // validates
    if (!apps.emplace(std::stoull(num), name).second)
      throw Error(Errc::kBadOption, fmt::format("--app: database {} is mapped twice", num));
  }
  return apps;
}

// --monorepo PATH (with --app-filter NAME) and --map FILE: the database -> application map from
// a monorepo checkout or a mapping file, joined with --app DB=NAME by merge_app_maps (the same
// database named for two applications by any of them is refused, naming both).
struct AppMapSources {
  std::string monorepo;
  std::vector<std::string> app_filters, map_files;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--monorepo", monorepo,
                    "Build the --app map from a checkout of the monorepo, as the online migrator finds the "
                    "applications: every apps/<name>/package.json (an @app/ package using ioredis or "
                    "@open-condo/keystone) and the database of the REDIS_URL in that app's .env "
                    "(redis://user:pass@host:6379/6 -> db 6; no path -> db 0). Prints the map and the apps "
                    "skipped; refuses two apps on one database and REDIS_URLs of different servers")
        ->type_name("PATH");
    cmd->add_option("--app-filter", app_filters,
                    "With --monorepo: take only this application (@app/condo exactly, or condo for the package "
                    "named .../condo); repeatable")
        ->type_name("NAME");
    cmd->add_option("--map", map_files,
                    "Read DB=NAME mappings from FILE, one per line ('#' comments, blank lines ignored); "
                    "repeatable. --app, --map and --monorepo add up; a database named for two applications is "
                    "refused")
        ->type_name("FILE");
  }

  // The entries of --monorepo and --map; prints what --monorepo found on stderr unless `quiet`.
  std::vector<AppMapEntry> read(bool quiet) const {
    if (!app_filters.empty() && monorepo.empty())
      throw Error(Errc::kBadOption, "--app-filter chooses applications of --monorepo: give --monorepo PATH");
    std::vector<AppMapEntry> entries;
    if (!monorepo.empty()) {
      MonorepoMap m = read_monorepo_map(monorepo, app_filters);
      if (!quiet) {
        fmt::print(stderr, "monorepo {}: {} application(s) of server {}\n", monorepo, m.entries.size(), m.server);
        for (const auto& s : m.skipped)
          fmt::print(stderr, "skipped {}{}: {}\n", s.dir, s.name.empty() ? "" : " (" + s.name + ")", s.why);
      }
      entries = std::move(m.entries);
    }
    for (const auto& f : map_files) {
      std::vector<AppMapEntry> more = read_map_file(f);
      entries.insert(entries.end(), more.begin(), more.end());
    }
    return entries;
  }
};

// Joins --app DB=NAME with the entries of --monorepo/--map; prints the resulting map on stderr
// (unless `quiet`) when any came from a file.
std::map<uint64_t, std::string> joined_app_map(const std::map<uint64_t, std::string>& from_app_option,
                                               std::vector<AppMapEntry> from_files, bool quiet) {
  if (from_files.empty()) return from_app_option;
  for (const auto& [db, name] : from_app_option)
    from_files.push_back(AppMapEntry{db, name, fmt::format("--app {}={}", db, name)});
  std::map<uint64_t, std::string> apps = merge_app_maps(from_files);
  if (!quiet)
    for (const auto& [db, name] : apps) {
      std::vector<std::string> sources;
      for (const auto& e : from_files)
        if (e.db == db) sources.push_back(e.source);
      fmt::print(stderr, "map     {}={}  (prefix {}; {})\n", db, name, app_prefix_from_name(name), fmt::join(sources, ", "));
    }
  return apps;
}

// The input an option names: exactly as it was given, or the same file under another name.
uint32_t input_named(const std::string& name, const std::vector<std::string>& inputs, const std::string& option) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i] == name) return static_cast<uint32_t>(i);
  struct stat want {};
  if (name != "-" && ::stat(name.c_str(), &want) == 0)
    for (size_t i = 0; i < inputs.size(); ++i) {
      struct stat st {};
      if (inputs[i] != "-" && ::stat(inputs[i].c_str(), &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
        return static_cast<uint32_t>(i);
    }
  throw Error(Errc::kBadOption, fmt::format("{} names \"{}\", which is not one of the inputs ({})", option, name,
                                            fmt::join(inputs, ", ")));
}

// --app for convert: DB=NAME maps database DB of every input; INPUT:DB=NAME maps database DB of
// that input only (INPUT as given on the command line, or another name of the same file). The
// mapping is split at the last '=' preceded by digits that start the value or follow a ':' (an
// application name holds neither ':' nor '='), so a path may hold ':' and '=' itself.
void parse_app_mappings(const std::vector<std::string>& args, ConvertOptions& opt,
                        const std::vector<AppMapEntry>& from_files = {}, bool quiet = false) {
  std::vector<std::string> general;
  for (const auto& a : args) {
    size_t eq = std::string::npos, digits = 0;
    for (size_t e = a.rfind('='); e != std::string::npos; e = e == 0 ? std::string::npos : a.rfind('=', e - 1)) {
      size_t d = e;
      while (d > 0 && a[d - 1] >= '0' && a[d - 1] <= '9') --d;
      if (d < e && (d == 0 || a[d - 1] == ':')) {
        eq = e;
        digits = d;
        break;
      }
    }
    if (eq == std::string::npos || digits == 0) {
      general.push_back(a);  // DB=NAME, or something parse_apps explains
      continue;
    }
    std::string input = a.substr(0, digits - 1);
    std::string num = a.substr(digits, eq - digits);
    if (input.empty() || num.size() > 9)
      throw Error(Errc::kBadOption,
                  fmt::format("--app \"{}\": expected DB=NAME or INPUT:DB=NAME, e.g. 0=@app/condo or "
                              "host-a.rdb:0=@app/condo",
                              a));
    std::string name = a.substr(eq + 1);
    app_prefix_from_name(name);  // validates
    DbId id{input_named(input, opt.inputs, "--app " + a), std::stoull(num)};
    if (!opt.input_apps.emplace(id, name).second)
      throw Error(Errc::kBadOption, fmt::format("--app: database {} of {} is mapped twice", num, input));
  }
  opt.apps = joined_app_map(parse_apps(general), from_files, quiet);
  for (const auto& [id, name] : opt.input_apps)
    if (opt.apps.count(id.db))
      throw Error(Errc::kBadOption,
                  fmt::format("--app: database {} is mapped for every input ({}={}) and for {} alone: give one of the "
                              "two",
                              id.db, id.db, opt.apps.at(id.db), opt.inputs[id.input]));
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void print_inspect(const std::string& name, const InspectResult& r, bool json) {
  if (json) {
    fmt::print("{}", inspect_json(name, r));
    return;
  }
  fmt::print("{}: {}, {} bytes, checksum {}\n", name, r.version.magic(), fmt_count(r.bytes),
             r.version.has_checksum() ? (r.checksum_present ? "verified" : "disabled in the file (0)") : "none (RDB < 5)");
  for (const char* k : {"redis-ver", "valkey-ver", "redis-bits", "ctime", "used-mem", "aof-base"}) {
    auto it = r.aux.find(k);
    if (it != r.aux.end()) fmt::print("  {}: {}\n", k, it->second);
  }
  for (const auto& [db, d] : r.dbs) {
    fmt::print("db {}: {} keys, {} with TTL ({} already expired), {} bytes of values\n", db, fmt_count(d.keys),
               fmt_count(d.with_ttl), fmt_count(d.expired), fmt_count(d.value_bytes));
    for (const auto& [t, n] : d.by_type) fmt::print("    {:<24} {:>12}\n", t, fmt_count(n));
    if (!d.prefix.empty()) {
      fmt::print("  -> {}: {} renamed, {} already prefixed, {} hashtagged\n", d.prefix, fmt_count(d.renamed),
                 fmt_count(d.already_prefixed), fmt_count(d.hashtagged));
      if (!d.queues.empty()) {
        std::string q;
        for (const auto& name2 : d.queues) q += (q.empty() ? "" : ", ") + name2;
        fmt::print("     queues: {}\n", q);
      }
    }
  }
  if (r.functions || r.module_aux || r.module_values)
    fmt::print("functions: {}, module aux records: {}, module values: {}\n", r.functions, r.module_aux, r.module_values);
  if (!r.largest.empty()) {
    fmt::print("largest keys:\n");
    for (const auto& k : r.largest)
      fmt::print("  {:>14} bytes  db {}  {}  {}\n", fmt_count(k.bytes), k.db, k.type, quote_bytes(k.key.data(), k.key.size()));
  }
  fmt::print("convert --target:\n");
  for (const auto& t : r.targets) {
    std::vector<std::string> steps;
    for (const auto& s : t.steps)
      steps.push_back(fmt::format("{} {}{}", fmt_count(s.records), s.what,
                                  s.needs.empty() ? (s.lossless ? "" : " (lossy)") : fmt::format(" ({})", s.needs)));
    fmt::print("  {:<10} {}  {}{}\n", t.target, t.writes.magic(),
               !t.convertible ? "cannot: " : steps.empty() ? "every record as it is" : "",
               steps.empty() ? "" : fmt::format("{}", fmt::join(steps, ", ")));
  }
  fmt::print("loads as it is in:\n");
  for (const auto& s : r.servers)
    fmt::print("  {:<22} {}{}\n", s.server, s.loads ? "yes" : "no", s.why.empty() ? "" : fmt::format(" ({})", s.why));
}

// What is left out of a database, in words: "3 dropped (1 expired, 2 by the collision policy)".
std::string dropped_text(const DbStats& s) {
  if (!s.dropped()) return "";
  std::vector<std::string> why;
  if (s.unmapped_dropped) why.push_back(fmt::format("{} unmapped", fmt_count(s.unmapped_dropped)));
  if (s.expired_dropped) why.push_back(fmt::format("{} expired", fmt_count(s.expired_dropped)));
  if (s.collision_dropped) why.push_back(fmt::format("{} by the collision policy", fmt_count(s.collision_dropped)));
  return fmt::format(", {} dropped ({})", fmt_count(s.dropped()), fmt::join(why, ", "));
}

// What was read and decided: inputs, databases, collisions left out, guards.
void print_reading(std::FILE* out, const ConvertOptions& opt, const ConvertResult& r) {
  for (const auto& in : r.inputs) {
    fmt::print(out, "input   {}  {}  {} bytes, checksum {}{}\n", in.path, in.version.magic(), fmt_count(in.bytes),
               in.version.has_checksum() ? (in.checksum_verified ? "verified" : "disabled in the file (0)")
                                         : "none (RDB < 5)",
               in.trailing_bytes ? fmt::format(", {}{} bytes after the end marker ignored (not read)",
                                               in.trailing_exact ? "" : "at least ", fmt_count(in.trailing_bytes))
                                 : "");
  }
  bool several = r.inputs.size() > 1;
  for (const auto& [id, s] : r.dbs) {
    if (s.keys_read == 0 && s.prefix.empty()) continue;
    std::string who = s.prefix.empty() ? fmt::format("(unmapped: {})", opt.unmapped == UnmappedPolicy::kKeep ? "kept" : "dropped")
                                       : fmt::format("-> {}:", s.prefix);
    if (several && (id == r.dbs.begin()->first || std::prev(r.dbs.find(id))->first.input != id.input))
      fmt::print(out, "from    {}\n", r.inputs[id.input].path);
    fmt::print(out, "db {:<4} {:<28} {:>12} keys: {} renamed, {} already prefixed, {} hashtagged{}{}{}{}\n", id.db, who,
               fmt_count(s.keys_read), fmt_count(s.renamed), fmt_count(s.already_prefixed), fmt_count(s.hashtagged),
               s.kept_unmapped ? fmt::format(", {} kept unrenamed", fmt_count(s.kept_unmapped)) : "",
               dropped_text(s),
               s.guard_sources ? fmt::format(", {} merged into the guard", fmt_count(s.guard_sources)) : "",
               s.empty_key ? fmt::format(" (the empty key became \"{}:\")", s.prefix) : "");
    for (const auto& [from, to] : s.samples)
      fmt::print(out, "          {} -> {}\n", quote_bytes(from.data(), from.size()), quote_bytes(to.data(), to.size()));
  }
  for (const auto& d : r.collision_drops)
    fmt::print(out, "collision {}: left out {}, kept {}\n", quote_bytes(d.name.data(), d.name.size()), d.dropped, d.kept);
  for (const auto& g : r.guards)
    fmt::print(out, "guard   {} = {}{}\n", g.key, g.value, g.kept_existing ? " (kept: larger than --data-version)" : "");
  if (!r.conversions.empty()) {
    std::vector<std::string> parts;
    for (const auto& [what, n] : r.conversions) parts.push_back(fmt::format("{} {}", fmt_count(n), what));
    fmt::print(out, "convert {} (for {})\n", fmt::join(parts, ", "),
               opt.target_name.empty() ? r.output_version.magic() : opt.target_name);
  }
  if (r.field_ttls_dropped || r.functions_dropped || r.key_meta_dropped || r.streams_state_dropped)
    fmt::print(out, "lossy   {} field TTL(s) dropped in {} hash(es), {} function librar{}, {} key metadata record(s) "
                    "and the IDMP/NACK state of {} stream(s) left out\n",
               fmt_count(r.field_ttls_dropped), fmt_count(r.keys_with_field_ttls_dropped), r.functions_dropped,
               r.functions_dropped == 1 ? "y" : "ies", fmt_count(r.key_meta_dropped), fmt_count(r.streams_state_dropped));
  if (r.aux_dropped || r.slot_records_dropped)
    fmt::print(out, "dropped {} AUX field(s) (replication ids, slot info, other inputs' AUX), {} slot record(s)\n",
               r.aux_dropped, r.slot_records_dropped);
  if (r.functions || r.module_aux) fmt::print(out, "kept    {} function librar{}, {} module aux record(s)\n", r.functions,
                                              r.functions == 1 ? "y" : "ies", r.module_aux);
}

// " (zstd: 1,234 bytes)" for compressed outputs, else nothing.
std::string compressed_size(const ConvertResult& r) {
  if (!r.output_compressed_bytes) return {};
  return fmt::format(" ({}: {} bytes)", codec_name(r.output_codec), fmt_count(r.output_compressed_bytes));
}

// On `out`: standard output, or standard error when the RDB goes to standard output.
void print_summary(std::FILE* out, const ConvertOptions& opt, const ConvertResult& r) {
  print_reading(out, opt, r);
  DbStats t = r.totals();
  double kpm = r.seconds > 0 ? static_cast<double>(t.keys_read) / r.seconds * 60.0 : 0.0;
  if (opt.cluster) {
    for (const auto& f : r.shards)
      fmt::print(out, "shard   {}  {} keys ({} with TTL), {} bytes  for {}slots {}\n", f.path, fmt_count(f.keys),
                 fmt_count(f.keys_with_ttl), fmt_count(f.bytes),
                 !f.address.empty()   ? f.address + " "
                 : !f.node_id.empty() ? "node " + f.node_id.substr(0, 12) + " "
                                      : std::string(),
                 f.slots.empty() ? "(none)" : f.slots);
    for (const auto& q : r.split_queues)
      fmt::print(out, "warning queue {} has keys in more than one slot (keys already prefixed without the hashtag): a "
                 "multi-key command over them fails with CROSSSLOT\n",
                 quote_bytes(q.data(), q.size()));
    fmt::print(out, "output  {}  {}  {} files, {} keys (db 0), {} bytes{}{}{}\n",
               opt.dry_run ? "(dry run: nothing written)" : opt.output_dir, r.output_version.magic(), r.shards.size(),
               fmt_count(r.keys_written), fmt_count(r.output_bytes),
               compressed_size(r),
               r.output_verified ? ", read back and verified" : "",
               opt.dry_run ? "" : ", manifest.json beside them");
  } else {
    fmt::print(out, "output  {}  {}  {} keys (db 0), {} bytes{}{}\n",
               opt.dry_run ? "(dry run: nothing written)" : opt.output == "-" ? "<stdout>" : opt.output,
               r.output_version.magic(), fmt_count(r.keys_written), fmt_count(r.output_bytes),
               compressed_size(r),
               r.output_verified ? ", read back and verified" : "");
  }
  fmt::print(out, "total   {} keys read: {} written ({} renamed, {} already prefixed, {} hashtagged, {} kept unrenamed), "
             "{} dropped, {} merged into guards; {} guard(s) written\n",
             fmt_count(t.keys_read), fmt_count(t.written()), fmt_count(t.renamed), fmt_count(t.already_prefixed),
             fmt_count(t.hashtagged), fmt_count(t.kept_unmapped), fmt_count(t.dropped()), fmt_count(t.guard_sources),
             r.guards.size());
  fmt::print(out, "time    {:.3f} s, {} keys/min\n", r.seconds, fmt_count(static_cast<uint64_t>(kpm)));
}

// Prints to standard output, ignoring a reader that went away (EPIPE): what the tool did does
// not depend on whether anyone reads what it says.
template <class F>
void print_ignoring_closed_stdout(F&& print) {
  try {
    print();
    std::fflush(stdout);
  } catch (const std::system_error&) {
  }
}

// An error on stderr; the exit code says it even when nobody reads it.
void print_error(const char* kind, const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "rdbrekey: %s: %s\n", kind, what.c_str());
}

// ---- convert ------------------------------------------------------------------------------------

// The --target of convert and restore: one of the table's names.
const TargetServer& target_named(const std::string& name) {
  const TargetServer* t = find_target(name);
  if (!t) throw Error(Errc::kBadOption, fmt::format("--target \"{}\": expected one of {}", name, target_names()));
  return *t;
}

// The choices for records a target cannot hold with all their data (convert and restore).
void add_lossy_options(CLI::App* cmd, ConvertOptions& opt) {
  cmd->add_flag("--drop-field-ttls", opt.drop_field_ttls,
                "Hashes with field TTLs that the target cannot hold with them (Redis 7.4+ or Valkey 9 hashes "
                "into an older server) become plain hashes without the TTLs (each counted); without it they "
                "are refused, naming the key");
  cmd->add_flag("--drop-functions", opt.drop_functions,
                "Leave out function libraries (FUNCTION2) the target cannot hold (Redis 6.2); counted");
  cmd->add_flag("--lossy", opt.lossy,
                "Leave out what the target has no place for: key metadata (KEY_META, Redis 8.6+), a stream's "
                "idempotency (IDMP) state or consumer groups' NACK lists (Redis 8.6+); each counted");
}

// The command line of `convert`, as typed (checked and turned into ConvertOptions by run()).
struct ConvertCommand {
  CLI::App* cmd = nullptr;
  ConvertOptions opt;
  std::vector<std::string> app_args;
  AppMapSources map_sources;
  std::string unmapped = "error", rdb_version = "auto", data_version = "2", on_collision = "error";
  std::string progress_mode = "auto", drop_expired, aux_from, cluster, compress, target;
  bool quiet = false;

  void add_to(CLI::App& app);
  int run();

 private:
  void check_and_fill_options();

 public:
  static std::function<void(const Progress&)> progress_printer(bool& shown);
};

void ConvertCommand::add_to(CLI::App& app) {
  cmd = app.add_subcommand("convert", "Convert RDB files into one RDB with every key in db 0 under its "
                                      "application's prefix");
  cmd->add_option("inputs", opt.inputs, "Input RDB file(s); - reads standard input")->required();
  cmd->add_option("-o,--output", opt.output,
                  "Output RDB file (written atomically: temp file, fsync, rename); never an input, and only a "
                  "regular file is ever replaced. - writes standard output (the summary then goes to standard "
                  "error). A name ending in .gz, .lz4 or .zst is compressed so");
  cmd->add_option("--compress", compress,
                  "Compress the output (each shard file with --cluster): gzip, lz4 or zstd, optionally :LEVEL "
                  "(gzip:9, zstd:19; zstd uses one worker per core), or none; default: by the output's name. "
                  "Compressed inputs (gzip, lz4, zstd) are recognised by their first bytes and need no option");
  cmd->add_option("--cluster", cluster,
                  "Instead of -o: one RDB per primary of a cluster, each holding exactly the keys of its hash slots. "
                  "TOPOLOGY: a file with the output of CLUSTER NODES (or a nodes.conf) or of CLUSTER SHARDS (as "
                  "redis-cli/valkey-cli print it, or --json), or a number N of primaries with the slots split as "
                  "redis-cli --cluster create splits them");
  cmd->add_option("--output-dir", opt.output_dir,
                  "With --cluster: the directory of the files (shard-K-HOST-PORT.rdb, one per primary) and of "
                  "manifest.json; created when missing");
  cmd->add_option("-a,--app", app_args,
                  "DB=NAME: database DB (of every input) belongs to application NAME, an npm package name "
                  "(@app/resident-app -> prefix resident_app) or a plain prefix; INPUT:DB=NAME: database DB of that "
                  "input only (INPUT as given above, e.g. host-b/dump.rdb:3=@app/billing); repeatable");
  map_sources.add_to(cmd);
  cmd->add_option("--aux-from", aux_from,
                  "The input whose AUX fields (redis-ver, ctime, ...) go into the output (default: the first)");
  cmd->add_option("--unmapped", unmapped,
                  "Databases with no --app: error (default; lists them), drop (leave their keys out), keep (copy "
                  "their keys unrenamed)")
      ->check(CLI::IsMember({"error", "drop", "keep"}));
  cmd->add_option("--hashtag", opt.hashtags,
                  "Key family F whose keys F:<name>:<rest> become {P:F:<name>}:<rest> (one cluster slot per "
                  "name); repeatable; default: bull")
      ->default_str("bull");
  cmd->add_option("--data-version", data_version,
                  "Start-up guard P:data_version written for every application, a whole number 0..2^53 (a larger "
                  "existing number is kept); 0 writes none")
      ->default_val("2");
  cmd->add_option("--target", target,
                  "The server that will load the output: " + target_names() +
                      ". The output gets that server's own header, and every record it cannot load as is is "
                      "rewritten into a form it loads (lossless where it can hold the data; see "
                      "--drop-field-ttls, --drop-functions, --lossy). Default: the input's version up to "
                      "REDIS0011 (Redis >= 7.2 and every Valkey load it; VALKEY080 stays VALKEY080)");
  cmd->add_option("--rdb-version", rdb_version,
                  "For experts, instead of --target: the output's RDB version, auto (default) or a number / magic "
                  "such as 10, 12, REDIS0011, VALKEY080")
      ->default_val("auto");
  add_lossy_options(cmd, opt);
  cmd->add_flag("-f,--force", opt.overwrite, "Replace the output (and report) file if it exists");
  cmd->add_flag("-n,--dry-run", opt.dry_run,
                "Read and check everything, write nothing; print the plan with 20 sample renames per database");
  cmd->add_flag("--verify", opt.verify_output,
                "Read the written file back (framing, CRC, key count, no duplicate key) before renaming it into "
                "place");
  cmd->add_option("--on-collision", on_collision,
                  "Keys that renaming makes equal: error (default: list them, write nothing), keep-first / "
                  "keep-last (keep the first / last in input order, leave out and report the others; these read "
                  "the inputs twice: a pipe or a compressed input is first copied, decompressed, to an unlinked "
                  "file in $TMPDIR)")
      ->check(CLI::IsMember({"error", "keep-first", "keep-last"}))
      ->default_val("error");
  cmd->add_option("--progress", progress_mode,
                  "Progress line on stderr (bytes done of total, keys/s, ETA): auto (only on a terminal), always, "
                  "never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_val("auto");
  cmd->add_option("--drop-expired", drop_expired,
                  "Leave out keys already expired at UNIX_MS (milliseconds since the epoch; default: now)")
      ->expected(0, 1)
      ->default_str("now");
  cmd->add_option("--report", opt.report,
                  "Also write the summary as JSON to this file (written atomically with the output; never an "
                  "input or the output; replaced only with --force)");
  cmd->add_option("--threads", opt.threads,
                  "Threads at work (1..64; default: the cores available): 1 converts, checksums and writes on one "
                  "thread; 2 or more read each mapped input ahead and hash its CRC on a second thread, write "
                  "and hash the output on another, compress with zstd's workers and sort the collision index "
                  "in parallel")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("-q,--quiet", quiet, "Print nothing on success");
  cmd->footer(kExitCodes);
}

void ConvertCommand::check_and_fill_options() {
  if (!cluster.empty()) {
    if (cmd->count("--output"))
      throw Error(Errc::kBadOption, "--cluster writes one file per primary into --output-dir: give it instead of -o");
    if (opt.output_dir.empty())
      throw Error(Errc::kBadOption, "--cluster needs --output-dir DIR (where the files for each primary go)");
    opt.cluster = load_topology(cluster);
    opt.cluster_source = cluster;
    for (const auto& w : opt.cluster->warnings) print_error("warning", w);
  } else {
    if (!opt.output_dir.empty()) throw Error(Errc::kBadOption, "--output-dir goes with --cluster; for one file use -o");
    if (opt.output.empty()) throw Error(Errc::kBadOption, "convert: -o FILE (or --cluster TOPOLOGY --output-dir DIR) is required");
  }
  parse_app_mappings(app_args, opt, map_sources.read(quiet), quiet);
  if (!aux_from.empty()) opt.aux_from = input_named(aux_from, opt.inputs, "--aux-from");
  opt.unmapped = unmapped == "drop" ? UnmappedPolicy::kDrop
                 : unmapped == "keep" ? UnmappedPolicy::kKeep
                                      : UnmappedPolicy::kError;
  // Numbers above 2^53 would not compare exactly with the doubles of the "set max".
  opt.data_version = parse_number_option(data_version, "--data-version", uint64_t{1} << 53);
  if (!target.empty()) {
    if (rdb_version != "auto") throw Error(Errc::kBadOption, "give --target or --rdb-version, not both");
    const TargetServer& t = target_named(target);
    opt.target = t.writes;
    opt.target_name = t.name;
  } else if (rdb_version != "auto") {
    opt.target = parse_version_name(rdb_version);
    if (!opt.target)
      throw Error(Errc::kBadOption,
                  fmt::format("--rdb-version \"{}\": expected auto, 1..14, REDIS0001..REDIS0014 or VALKEY080",
                              rdb_version));
  }
  if (!compress.empty()) {
    std::string why;
    opt.compress = parse_compression(compress, why);
    if (!opt.compress) throw Error(Errc::kBadOption, fmt::format("--compress \"{}\": {}", compress, why));
  }
  if (opt.dry_run) opt.sample_renames = 20;
  opt.on_collision = on_collision == "keep-first"  ? CollisionPolicy::kKeepFirst
                     : on_collision == "keep-last" ? CollisionPolicy::kKeepLast
                                                   : CollisionPolicy::kError;
  if (cmd->count("--drop-expired")) {
    if (drop_expired.empty() || drop_expired == "now")
      opt.drop_expired_before = now_ms();
    else
      opt.drop_expired_before = static_cast<int64_t>(
          parse_number_option(drop_expired, "--drop-expired", std::numeric_limits<int64_t>::max()));
  }
}

// A progress line on stderr, at most twice a second (stdio, not fmt::print: a closed stderr must
// not stop the conversion).
std::function<void(const Progress&)> ConvertCommand::progress_printer(bool& shown) {
  struct State {
    std::chrono::steady_clock::time_point started, last;
    uint64_t bytes = 0;
  };
  auto state = std::make_shared<State>();
  state->started = state->last = std::chrono::steady_clock::now();
  return [state, &shown](const Progress& p) {
    auto now = std::chrono::steady_clock::now();
    if (p.bytes_done < state->bytes) state->started = now;  // a second pass over the inputs began
    state->bytes = p.bytes_done;
    if (now - state->last < std::chrono::milliseconds(500)) return;
    state->last = now;
    double secs = std::chrono::duration<double>(now - state->started).count();
    double rate = secs > 0 ? static_cast<double>(p.keys) / secs : 0;
    std::string of_total, eta;
    if (p.bytes_total) {
      of_total = fmt::format(" of {:.1f} MB ({:.0f}%)", p.bytes_total / 1e6, 100.0 * p.bytes_done / p.bytes_total);
      double bps = secs > 0 ? p.bytes_done / secs : 0;
      if (bps > 0) eta = fmt::format(", ETA {:.0f} s", (p.bytes_total - p.bytes_done) / bps);
    }
    std::fputs(fmt::format("\r{:.1f} MB{}, {} keys, {} keys/s{}{}{}   ", p.bytes_done / 1e6, of_total,
                           fmt_count(p.keys), fmt_count(static_cast<uint64_t>(rate)), eta, p.detail.empty() ? "" : "; ",
                           p.detail)
                   .c_str(),
               stderr);
    shown = true;
  };
}

// Runs `work` with a progress line on stderr when `mode` asks for one (auto: when stderr is a
// terminal), and ends that line however `work` ends.
template <class Work>
auto with_progress_line(const std::string& mode, std::function<void(const Progress&)>& progress, Work work) {
  bool shown = false;
  if (mode == "always" || (mode == "auto" && ::isatty(2))) progress = ConvertCommand::progress_printer(shown);
  struct EndLine {
    const bool& shown;
    ~EndLine() {
      if (shown) std::fputs("\n", stderr);
    }
  } end_line{shown};
  return work();
}

int ConvertCommand::run() {
  check_and_fill_options();
  ConvertResult result = with_progress_line(progress_mode, opt.progress, [&] { return convert(opt); });
  if (!quiet) {
    if (opt.output == "-") print_summary(stderr, opt, result);  // standard output holds the RDB
    else print_ignoring_closed_stdout([&] { print_summary(stdout, opt, result); });
  }
  if (!result.collision_report.empty()) {
    print_error("error", result.collision_report);
    return static_cast<int>(exit_code_of(Errc::kCollision));
  }
  return 0;
}

// ---- restore ------------------------------------------------------------------------------------

struct RestoreCommand {
  CLI::App* cmd = nullptr;
  RestoreOptions opt;
  std::vector<std::string> app_args;
  AppMapSources map_sources;
  std::string unmapped = "error", data_version = "2", on_collision = "error", existing = "error";
  std::string progress_mode = "auto", password_file, target;
  bool force_cluster = false, force_standalone = false, quiet = false, insecure = false;
  size_t window_mib = 4;
  int timeout_s = 60;

  void add_to(CLI::App& app) {
    cmd = app.add_subcommand("restore", "Send RDB files, renamed as convert renames them, straight into a running "
                                        "server or cluster (RESTORE, pipelined; cluster keys routed by hash slot)");
    ConvertOptions& c = opt.convert;
    cmd->add_option("inputs", c.inputs, "Input RDB file(s), - for standard input, compressed or not: read twice, first "
                                        "to decide every collision before the first command is sent (a compressed "
                                        "file is decompressed again; a pipe is first copied to an unlinked file in "
                                        "$TMPDIR)")
        ->required();
    cmd->add_option("--to", opt.to,
                    "Target: redis://[USER[:PASSWORD]@]HOST:PORT[/DB] (any node of a cluster), rediss:// for TLS; the "
                    "password may instead come from the environment variable RDBREKEY_PASSWORD or --password-file")
        ->required();
    cmd->add_option("--password-file", password_file, "Read the target's password from this file (first line)");
    cmd->add_option("--cacert", opt.tls.ca_file,
                    "rediss://: trust the certificate authority in this PEM file (default: the system's)");
    cmd->add_option("--cacertdir", opt.tls.ca_dir, "rediss://: trust the certificate authorities in this directory");
    cmd->add_option("--cert", opt.tls.cert_file, "rediss://: client certificate (PEM), for servers with tls-auth-clients");
    cmd->add_option("--key", opt.tls.key_file, "rediss://: the client certificate's private key (PEM)");
    cmd->add_option("--sni", opt.tls.server_name,
                    "rediss://: server name to send and to check in its certificate (default: the host of --to)");
    cmd->add_flag("--insecure", insecure, "rediss://: do not check the server's certificate (encrypted, not authenticated)");
    cmd->add_flag("--cluster", force_cluster, "The target is a cluster (default: asked with INFO cluster)");
    cmd->add_flag("--standalone", force_standalone, "Treat the target as one server even if cluster mode is on");
    cmd->add_option("-a,--app", app_args, "DB=NAME or INPUT:DB=NAME, as for convert; repeatable");
    map_sources.add_to(cmd);
    cmd->add_option("--unmapped", unmapped, "Databases with no --app: error (default), drop, keep (as for convert)")
        ->check(CLI::IsMember({"error", "drop", "keep"}));
    cmd->add_option("--hashtag", c.hashtags, "Hashtag key families, as for convert (default: bull)")->default_str("bull");
    cmd->add_option("--data-version", data_version, "Start-up guard value, as for convert; 0 writes none")
        ->default_val("2");
    cmd->add_option("--on-collision", on_collision, "Keys that renaming makes equal: error, keep-first, keep-last")
        ->check(CLI::IsMember({"error", "keep-first", "keep-last"}))
        ->default_val("error");
    cmd->add_option("--target", target,
                    "The release the target must be (" + target_names() +
                        "): refused before anything is sent when it is another. Without it, the target's "
                        "release is read from it (INFO server) and every record is sent in a form it loads, "
                        "as convert --target writes it");
    add_lossy_options(cmd, c);
    cmd->add_option("--existing", existing,
                    "Keys the target already holds: error (default: stop at the first, naming it; nothing is "
                    "overwritten), skip (leave the target's, count them), replace (RESTORE ... REPLACE)")
        ->check(CLI::IsMember({"error", "skip", "replace"}))
        ->default_val("error");
    cmd->add_option("--window", window_mib,
                    "MiB of commands in flight, all nodes together (1..1024); the memory used is about 3 times "
                    "this plus the largest value. Raise it for a distant target (a window must cover what "
                    "the target takes in one round trip)")
        ->check(CLI::Range(1, 1024))
        ->default_val("4");
    cmd->add_option("--connections", opt.connections,
                    "Connections per primary (1..64), commands pipelined on each: more help a server that reads "
                    "with I/O threads (io-threads); a single-threaded server gains nothing")
        ->check(CLI::Range(1, 64))
        ->default_val("1");
    cmd->add_option("--timeout", timeout_s, "Seconds without any reply before the target counts as unavailable")
        ->check(CLI::Range(1, 3600))
        ->default_val("60");
    cmd->add_option("--resume", opt.resume_file,
                    "Save progress in this file (about once a second); when it exists, continue the restore it "
                    "describes (same inputs, target and options) without sending again what was acknowledged");
    cmd->add_flag("-n,--dry-run", opt.dry_run,
                  "Connect, read the target's release and topology, read and check the input; send no key");
    cmd->add_option("--progress", progress_mode, "Progress line on stderr: auto, always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->default_val("auto");
    cmd->add_option("--report", c.report, "Also write the summary as JSON to this file (per-node counts included)");
    cmd->add_option("--threads", c.threads,
                    "Threads reading the input (1..64; default: the cores available): 2 or more read each mapped "
                    "input ahead and hash its CRC on a second thread and sort the collision index in parallel")
        ->check(CLI::Range(1, 64));
    cmd->add_flag("-f,--force", c.overwrite, "Replace the report file if it exists");
    cmd->add_flag("-q,--quiet", quiet, "Print nothing on success");
    cmd->footer(kExitCodes);
  }

  int run() {
    ConvertOptions& c = opt.convert;
    if (force_cluster && force_standalone) throw Error(Errc::kBadOption, "--cluster and --standalone exclude each other");
    if (force_cluster) opt.cluster = true;
    if (force_standalone) opt.cluster = false;
    opt.tls.verify = !insecure;
    if (!password_file.empty()) {
      std::FILE* f = std::fopen(password_file.c_str(), "r");
      if (!f) throw Error(Errc::kCannotOpen, fmt::format("--password-file {}: {}", password_file, std::strerror(errno)));
      char line[4096];
      std::string pw = std::fgets(line, sizeof(line), f) ? line : "";
      std::fclose(f);
      while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
      opt.password = pw;
    } else if (const char* env = std::getenv("RDBREKEY_PASSWORD"); env && *env) {
      opt.password = std::string(env);
    }
    if (!target.empty()) c.target_name = target_named(target).name;
    parse_app_mappings(app_args, c, map_sources.read(quiet), quiet);
    c.unmapped = unmapped == "drop" ? UnmappedPolicy::kDrop : unmapped == "keep" ? UnmappedPolicy::kKeep : UnmappedPolicy::kError;
    c.data_version = parse_number_option(data_version, "--data-version", uint64_t{1} << 53);
    c.on_collision = on_collision == "keep-first"  ? CollisionPolicy::kKeepFirst
                     : on_collision == "keep-last" ? CollisionPolicy::kKeepLast
                                                   : CollisionPolicy::kError;
    opt.existing = existing == "skip" ? ExistingPolicy::kSkip : existing == "replace" ? ExistingPolicy::kReplace : ExistingPolicy::kError;
    opt.window_bytes = window_mib << 20;
    opt.timeout_ms = timeout_s * 1000;
    if (opt.dry_run) c.sample_renames = 20;
    RestoreResult r = with_progress_line(progress_mode, c.progress, [&] { return restore(opt); });
    if (!quiet) print_ignoring_closed_stdout([&] { print(r); });
    if (!r.convert.collision_report.empty()) {
      print_error("error", r.convert.collision_report);
      return static_cast<int>(exit_code_of(Errc::kCollision));
    }
    return 0;
  }

  void print(const RestoreResult& r) {
    ConvertOptions shown = opt.convert;
    shown.target_name = r.target.name;  // the conversions are for the target's release
    print_reading(stdout, shown, r.convert);
    fmt::print("target  {}  {}{}{}, records as {}, DUMP footer version {}\n", parse_redis_url(opt.to).endpoint.address(),
               r.target.server, r.target.name.empty() ? "" : " (" + r.target.name + ")",
               r.target.cluster ? " (cluster)" : "", r.target.holds.magic(), r.target.payload_version);
    if (r.target.cluster) fmt::print("target  topology from {}\n", r.topology_source);
    for (const NodeTally& t : r.nodes) {
      if (t.dbsize_before < 0 && t.restored + t.skipped_existing + t.redirects + t.retries + t.reconnects == 0)
        continue;  // a node that was only asked for the topology
      if (opt.dry_run) {
        fmt::print("node    {}{}  DBSIZE {}\n", t.address, t.id.empty() ? "" : " " + t.id.substr(0, 12), t.dbsize_before);
        continue;
      }
      fmt::print("node    {}{}  {} restored, {} already there (skipped), {} function librar{}{}, {} redirects, {} retries, {} "
                 "reconnects{}; DBSIZE {} -> {}\n",
                 t.address, t.id.empty() ? "" : " " + t.id.substr(0, 12), fmt_count(t.restored),
                 fmt_count(t.skipped_existing), t.functions, t.functions == 1 ? "y" : "ies",
                 t.functions_existing ? fmt::format(" ({} already there)", t.functions_existing) : "", t.redirects,
                 t.retries, t.reconnects,
                 t.found_restored ? fmt::format(", {} found restored by an interrupted run or before a reconnect",
                                                fmt_count(t.found_restored))
                                  : "",
                 t.dbsize_before, t.dbsize_after);
    }
    if (r.resumed)
      fmt::print("resumed {}: {} records settled by the interrupted run(s), not sent again\n", opt.resume_file,
                 fmt_count(r.settled_earlier));
    DbStats t = r.convert.totals();
    uint64_t restored = 0, skipped = 0;
    for (const NodeTally& n : r.nodes) restored += n.restored, skipped += n.skipped_existing;
    if (opt.dry_run) {
      fmt::print("plan    (dry run: nothing sent) {} keys would be sent, {} left out ({} already expired)\n",
                 fmt_count(t.written() + r.convert.guards.size()), fmt_count(t.dropped()), fmt_count(t.expired_dropped));
    } else {
      fmt::print("total   {} keys read: {} restored, {} already in the target (skipped), {} expired (not sent), {} "
                 "left out; {} guard(s); key counts {}\n",
                 fmt_count(t.keys_read), fmt_count(restored), fmt_count(skipped),
                 fmt_count(t.expired_dropped + r.expired_at_send), fmt_count(t.dropped() - t.expired_dropped),
                 r.convert.guards.size(), r.count_check.empty() ? (r.slots_moved ? "check out (the primaries' DBSIZE in total, before and after: slots "
                                                           "moved during the restore)"
                                                         : "check out (DBSIZE before and after)")
                                    : "DIFFER");
      if (r.module_aux_not_restored)
        fmt::print("warning {} module AUX record(s) not restored (no command restores them)\n", r.module_aux_not_restored);
    }
    if (!opt.resume_file.empty() && !opt.dry_run)
      fmt::print("resume  {}: {} keys restored over all runs{}\n", opt.resume_file, fmt_count(r.progress.restored),
                 r.progress.complete ? ", complete" : "");
    double kps = r.convert.seconds > 0 ? static_cast<double>(restored) / r.convert.seconds : 0.0;
    if (!opt.dry_run)
      fmt::print("time    {:.3f} s, {} keys/s\n", r.convert.seconds, fmt_count(static_cast<uint64_t>(kps)));
  }
};

// ---- inspect ------------------------------------------------------------------------------------

struct InspectCommand {
  CLI::App* cmd = nullptr;
  std::string path;
  std::vector<std::string> apps;
  AppMapSources map_sources;
  InspectOptions opt;
  std::string now, largest = "10";
  bool json = false;

  void add_to(CLI::App& app) {
    cmd = app.add_subcommand("inspect", "What a file holds (version, producer, keys per db by type, TTLs, largest "
                                        "keys) and what renaming would do; which servers load it as it is");
    cmd->add_option("file", path, "RDB file; - reads standard input")->required();
    cmd->add_option("-a,--app", apps, "DB=NAME as for convert: count what renaming would do");
    map_sources.add_to(cmd);
    cmd->add_option("--hashtag", opt.hashtags, "Hashtag key families (default: bull)")->default_str("bull");
    cmd->add_option("--now", now, "Count keys expired at this time (ms since the epoch; default: now)");
    cmd->add_option("--largest", largest, "How many of the largest keys to list (0..10000)")->default_val("10");
    cmd->add_flag("--json", json, "Print JSON for scripts");
    cmd->footer(kExitCodes);
  }

  int run() {
    opt.apps = joined_app_map(parse_apps(apps), map_sources.read(false), false);
    check_hashtag_families(opt.hashtags);
    opt.now_ms = now.empty() ? now_ms()
                             : static_cast<int64_t>(
                                   parse_number_option(now, "--now", std::numeric_limits<int64_t>::max()));
    opt.largest = parse_number_option(largest, "--largest", 10000);
    std::unique_ptr<ByteSource> src = open_input(path);
    InspectResult r = inspect(*src, opt);
    print_ignoring_closed_stdout([&] { print_inspect(src->name(), r, json); });
    return 0;
  }
};

// ---- verify -------------------------------------------------------------------------------------

struct VerifyCommand {
  CLI::App* cmd = nullptr;
  std::string path, expect_keys;
  bool no_duplicate_check = false;

  void add_to(CLI::App& app) {
    cmd = app.add_subcommand("verify", "Walk an RDB file to its end: check every record's framing, the CRC-64 "
                                       "and that no key is there twice; exit 0 only if it is sound");
    cmd->add_option("file", path, "RDB file; - reads standard input")->required();
    cmd->add_option("--expect-keys", expect_keys, "Also require exactly this many keys");
    cmd->add_flag("--no-duplicate-check", no_duplicate_check,
                  "Skip the duplicate-key check (which costs 16 bytes of memory per key)");
    cmd->footer(kExitCodes);
  }

  int run() {
    std::optional<uint64_t> expected;
    if (cmd->count("--expect-keys"))
      expected = parse_number_option(expect_keys, "--expect-keys", std::numeric_limits<uint64_t>::max());
    std::unique_ptr<ByteSource> src = open_input(path);
    VerifyResult v = verify(*src, VerifyOptions{!no_duplicate_check});
    print_ignoring_closed_stdout([&] { print_verify(src->name(), v); });
    if (expected && *expected != v.keys)
      throw Error(Errc::kKeyCountMismatch,
                  fmt::format("{}: {} keys, but --expect-keys says {}", src->name(), v.keys, *expected));
    print_ignoring_closed_stdout([] { fmt::print("OK\n"); });
    return 0;
  }

  static void print_verify(const std::string& name, const VerifyResult& v) {
    fmt::print("{}: {}, {} bytes, {} keys ({} with TTL), checksum {}{}\n", name, v.version.magic(), fmt_count(v.bytes),
               fmt_count(v.keys), fmt_count(v.with_ttl),
               v.version.has_checksum() ? (v.checksum_present ? "verified" : "disabled in the file (0)")
                                        : "none (RDB < 5)",
               v.duplicates_checked ? ", no duplicate key" : "");
    if (v.trailing_bytes)
      fmt::print("  {}{} bytes after the end marker, not read\n", v.trailing_exact ? "" : "at least ",
                 fmt_count(v.trailing_bytes));
    for (const auto& [db, n] : v.keys_per_db) fmt::print("  db {}: {} keys\n", db, fmt_count(n));
  }
};

// rdbrekey --version: the version (the first line, as help2man reads it), the commit it was
// built from, the build type and the optional paths compiled in.
std::string version_text() {
  std::string text = fmt::format("rdbrekey {}\ncommit      {}\nbuild type  {}\n", RDBREKEY_VERSION, RDBREKEY_GIT_COMMIT,
                                 RDBREKEY_BUILD_TYPE);
  for (const BuildFeature& f : build_features())
    text += fmt::format("{:<11} {}\n", f.name, f.detail);
  text.pop_back();  // CLI11 ends the text with its own newline
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rdbrekey: convert Redis/Valkey RDB backups offline, renaming every key by the database it was in "
               "(one prefixed db 0 for a Valkey cluster)",
               "rdbrekey"};
  app.set_version_flag("--version", version_text(), "Print the version, the commit, the build type and the optional "
                                                    "paths compiled in (CRC-64 PCLMULQDQ, gzip, lz4, zstd, TLS)");
  app.require_subcommand(1);
  app.footer(kExitCodes);
  ConvertCommand convert_cmd;
  InspectCommand inspect_cmd;
  VerifyCommand verify_cmd;
  RestoreCommand restore_cmd;
  convert_cmd.add_to(app);
  restore_cmd.add_to(app);
  inspect_cmd.add_to(app);
  verify_cmd.add_to(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }
  // Temporary files are removed on SIGINT/SIGTERM/SIGHUP; SIGPIPE is ignored (signals.h).
  signals::install_cleanup();
  try {
    if (*convert_cmd.cmd) return convert_cmd.run();
    if (*inspect_cmd.cmd) return inspect_cmd.run();
    if (*restore_cmd.cmd) return restore_cmd.run();
    return verify_cmd.run();
  } catch (const Error& e) {
    print_error("error", e.what());
    if (e.code() == Errc::kInterrupted) return 128 + signals::stop_requested();
    return static_cast<int>(exit_code_of(e.code()));
  } catch (const std::exception& e) {
    print_error("internal error", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
}
