#include "rdbrekey/converter.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rdbrekey/collision_check.h"
#include "rdbrekey/error.h"
#include "rdbrekey/format.h"
#include "rdbrekey/key_policy.h"
#include "rdbrekey/rdb_output.h"
#include "rdbrekey/record_scanner.h"
#include "rdbrekey/shard_output.h"
#include "rdbrekey/value_conversion.h"

namespace rdbrekey {
namespace {

// AUX fields that describe the source server's replication stream or cluster slots: wrong for
// a file whose keys were renamed (a replica would partial-resync against other data; slot
// counts change with the names).
bool aux_is_dropped(std::string_view field) {
  return field == "repl-id" || field == "repl-offset" || field == "repl-stream-db" || field == "slot-info";
}

// What to do about a value type the output version cannot hold: the first version that holds
// it and the releases that load that version (from the one table in rdb_version.h).
std::string type_hint(uint8_t type, RdbVersion in) {
  RdbVersion first = first_version_with_type(type, in);
  std::string hint = fmt::format("convert with --rdb-version {} or later, for a target that loads it ({})",
                                 first.is_valkey() ? first.magic() : std::to_string(first.number), loaders_of(first));
  if (is_field_ttl_hash(type, in))
    hint += ", or give --drop-field-ttls to write it as a plain hash without its field TTLs (each one counted)";
  return hint;
}

// Where the keys of one input database go.
struct DbRoute {
  DbStats* stats = nullptr;
  const App* app = nullptr;  // nullptr: unmapped
  bool remember_all = false;  // every written key goes into the collision index
};

// One pass over the inputs: every record read, routed and fed to the output. Keys listed in
// `left_out` (by a keep-first/keep-last choice of an earlier pass) are left out.
//
// `Out` is `Output` for any output, or a final output class: the loop is compiled for the
// outputs of every run (RdbFileOutput, DiscardOutput) so that the calls on the path of every key
// are direct, and for the Output interface for all others (run_pass below picks).
template <class Out>
class Conversion {
 public:
  Conversion(const ConvertOptions& opt, const KeyPolicy& policy, ConvertResult& result, const LeftOutKeys& left_out,
             Out& out)
      : opt_(opt), policy_(policy), result_(result), left_out_(left_out), out_(out),
        guards_(opt.data_version, policy.apps().size()), threads_(resolve_threads(opt.threads)) {}

  // Returns the keys that a keep-first/keep-last choice leaves out; when there are any, the
  // output is incomplete (end() was not called) and the caller converts again without them.
  LeftOutKeys run(std::vector<ByteSource*>& sources) {
    ProgressMeter progress(opt_.progress, sources);
    collisions_.emplace(policy_, sources, left_out_, threads_);
    std::vector<std::unique_ptr<RecordScanner>> scanners;
    for (ByteSource* src : sources) {
      scanners.push_back(std::make_unique<RecordScanner>(*src));
      versions_.push_back(scanners.back()->read_header());
      result_.inputs.push_back(InputSummary{src->name(), versions_.back()});
    }
    out_version_ = opt_.target ? *opt_.target : default_output_version(versions_);
    out_caps_ = capabilities_of(out_version_);
    check_len64_ = !out_caps_.len64;
    strip_hints_ = !out_caps_.lru_lfu_hints;
    result_.output_version = out_version_;
    out_.begin(out_version_);
    for (size_t i = 0; i < scanners.size(); ++i) {
      input_ = static_cast<uint32_t>(i);
      input_stable_ = sources[i]->stable();
      progress.begin_input(input_);
      // With a second core, a mapped input's CRC and page work go to a thread of their own
      // (read_ahead.h) while this one converts; taken back at its EOF marker.
      if (threads_ > 1) sources[i]->start_read_ahead();
      scan_input(*scanners[i], progress);
      sources[i]->stop_read_ahead();
      name_conversions();
      const ScanSummary& s = scanners[i]->summary();
      result_.inputs[i].bytes = s.end_offset;
      result_.inputs[i].checksum_verified = s.checksum_present;
      result_.inputs[i].trailing_bytes = s.trailing_bytes;
      result_.inputs[i].trailing_exact = s.trailing_exact;
    }
    progress.report(keys_read());
    check_unmapped();
    LeftOutKeys losers = resolve_collisions();
    if (!losers.empty()) return losers;
    write_guards();
    out_.end();
    result_.keys_written = out_.keys_written();
    check_every_key_counted();
    return {};
  }

 private:
  DbRoute& enter_db(uint64_t db) {
    auto it = routes_.find(db);
    if (it != routes_.end()) return it->second;
    DbId id{input_, db};
    DbStats& stats = result_.dbs[id];
    DbRoute route{&stats, policy_.app_of(id), collisions_->remembers_all(id)};
    if (route.app) stats.prefix = route.app->prefix();
    return routes_.emplace(db, route).first->second;
  }

  void scan_input(RecordScanner& sc, ProgressMeter& progress) {
    RdbVersion in_version = versions_[input_];
    routes_.clear();  // the databases of this input
    for (int t = 0; t < 256; ++t)
      conversion_[t] = conversion_for(static_cast<uint8_t>(t), in_version, out_version_, opt_.drop_field_ttls);
    DbRoute* cur = &enter_db(0);
    Record r;
    while (sc.next(r)) {
      if (progress.tick()) progress.report(keys_read());
      switch (r.kind) {
        case RecordKind::kKey:
          convert_key(sc, r, *cur);
          break;
        case RecordKind::kSelectDb:
          cur = &enter_db(r.db);
          break;
        case RecordKind::kResizeDb:
          break;  // a hint; the output's databases are merged, so the input's sizes do not apply
        case RecordKind::kAux:
          route_aux(r);
          break;
        case RecordKind::kModuleAux:
          if (!out_caps_.module_aux)
            sc.fail(Errc::kCannotHold, fmt::format("{} cannot hold module data (MODULE_AUX); {} can",
                                                   out_version_.magic(), first_version_with(&RdbCapabilities::module_aux)));
          {
            Payload body(sc);
            out_.module_aux(body);
          }
          ++result_.module_aux;
          break;
        case RecordKind::kFunction:
          if (!out_caps_.function2) {
            if (!opt_.drop_functions)
              sc.fail(Errc::kCannotHold,
                      fmt::format("{} cannot hold a function library (FUNCTION2); {} can, or give --drop-functions to "
                                  "leave the libraries out (load them on the target with FUNCTION LOAD)",
                                  out_version_.magic(), first_version_with(&RdbCapabilities::function2)));
            sc.skip_payload();
            ++result_.functions_dropped;
            break;
          }
          {
            Payload library(sc);
            out_.function(library);
          }
          ++result_.functions;
          break;
        case RecordKind::kSlotInfo:
        case RecordKind::kSlotImport:
          ++result_.slot_records_dropped;  // slots change with the key names
          break;
        case RecordKind::kEof:
          break;
      }
    }
  }

  uint64_t keys_read() const {
    uint64_t n = 0;
    for (const auto& [db, st] : result_.dbs) n += st.keys_read;
    return n;
  }

  // AUX fields come from one input (--aux-from, the first by default), but those that describe
  // the source server.
  void route_aux(const Record& r) {
    if (input_ != opt_.aux_from || aux_is_dropped(r.key) || !out_caps_.aux) {
      ++result_.aux_dropped;
      return;
    }
    out_.aux(r.key, r.value);
    ++result_.aux_kept;
  }

  // The oldest version that has a capability, and who loads it, for messages.
  static std::string first_version_with(bool RdbCapabilities::*capability) {
    for (int n = 1; n <= kMaxRedisVersion; ++n) {
      RdbVersion v{RdbFamily::kRedis, n};
      if (capabilities_of(v).*capability) return fmt::format("--rdb-version {} (loaded by {})", n, first_loader_of(v));
    }
    return "no version";
  }

  void convert_key(RecordScanner& sc, Record& r, const DbRoute& db) {
    DbStats& stats = *db.stats;
    ++stats.keys_read;
    KeyRef ref{input_, sc.current_db(), r.key_offset, input_stable_};
    bool left_out = !left_out_.empty() && left_out_.count(ref.id()) > 0;
    if constexpr (requires { out_.source_key(r.key); }) out_.source_key(r.key);
    KeyDecision d = policy_.decide(db.app, r.key, r.prefix, left_out);
    switch (d.fate) {
      case KeyFate::kLeftOut:
        ++stats.collision_dropped;
        sc.skip_payload();
        return;
      case KeyFate::kExpired:
        ++stats.expired_dropped;
        sc.skip_payload();
        return;
      case KeyFate::kUnmapped:
        ++stats.unmapped_dropped;
        sc.skip_payload();
        return;
      case KeyFate::kGuardSource:
        ++stats.guard_sources;
        take_guard_source(sc, r, *d.guard);
        return;
      case KeyFate::kWrite:
        break;
    }
    check_output_holds(sc, r);
    count_written(stats, r, d);
    collisions_->add(ref, db.app, r.key, d.name, db.remember_all);
    if (stats.samples.size() < opt_.sample_renames) stats.samples.emplace_back(std::string(r.key), d.name.str());
    write_key(sc, r, d.name);
  }

  void count_written(DbStats& stats, const Record& r, const KeyDecision& d) {
    if (r.prefix.has_expire) ++stats.with_ttl;
    if (d.unrenamed) {
      ++stats.kept_unmapped;
      return;
    }
    switch (d.name.rule) {
      case RenameRule::kAlreadyPrefixed: ++stats.already_prefixed; break;
      case RenameRule::kHashtag: ++stats.hashtagged; break;
      case RenameRule::kPrefixed:
        ++stats.renamed;
        if (r.key.empty()) ++stats.empty_key;
        break;
    }
  }

  // Feeds the key to the output: LRU/LFU hints the output version cannot hold are left out (a
  // server does without them); a value with 64-bit lengths it cannot hold is refused.
  [[gnu::always_inline]] void write_key(RecordScanner& sc, Record& r, const RenamedKey& name) {
    if (conversion_[r.opcode] != ValueConversion::kNone) [[unlikely]] {
      write_converted_key(sc, r, name);
      return;
    }
    uint64_t len64_before = check_len64_ ? sc.len64_seen() : 0;
    if (strip_hints_ && (r.prefix.has_idle || r.prefix.has_freq)) {
      KeyPrefix without = r.prefix;
      without.has_idle = without.has_freq = false;
      ++result_.hints_dropped;
      Payload value(sc);
      out_.key(without, r.opcode, name, value);
    } else {
      Payload value(sc);
      out_.key(r.prefix, r.opcode, name, value);
    }
    if (check_len64_ && sc.len64_seen() != len64_before)
      sc.fail(Errc::kCannotHold, fmt::format("{} cannot hold the 64-bit lengths in this value; {}",
                                             out_version_.magic(), first_version_with(&RdbCapabilities::len64)));
  }

  // A value the output version holds only in another form: read whole, rewritten
  // (value_conversion.h), written from memory; counted per conversion.
  [[gnu::noinline]] void write_converted_key(RecordScanner& sc, Record& r, const RenamedKey& name) {
    ConvertedValue cv =
        convert_value(sc.payload_input(), r.opcode, conversion_[r.opcode], out_version_, opt_.lossy, converted_);
    if (cv.stream_state_dropped) ++result_.streams_state_dropped;
    if (strip_hints_ && (r.prefix.has_idle || r.prefix.has_freq)) {
      r.prefix.has_idle = r.prefix.has_freq = false;  // the record's own: read anew by next()
      ++result_.hints_dropped;
    }
    ++converted_by_type_[{r.opcode, cv.type}];  // named once per input (name_conversions)
    if (cv.field_ttls_dropped) {
      result_.field_ttls_dropped += cv.field_ttls_dropped;
      ++result_.keys_with_field_ttls_dropped;
    }
    Payload value(converted_);
    out_.key(r.prefix, cv.type, name, value);
    if (converted_.capacity() > (16u << 20)) std::string().swap(converted_);  // a large one is not kept
  }

  // The counts of the input just read, by conversion name ("set-listpack -> set").
  void name_conversions() {
    for (const auto& [types, n] : converted_by_type_)
      result_.conversions[conversion_name(types.first, versions_[input_], types.second, out_version_)] += n;
    converted_by_type_.clear();
  }

  // Refuses a record that the output version cannot hold (value type, expire form, metadata).
  [[gnu::always_inline]] void check_output_holds(RecordScanner& sc, Record& r) {
    if (conversion_[r.opcode] == ValueConversion::kImpossible ||
        (r.prefix.has_expire && !r.prefix.expire_in_seconds && !out_caps_.ms_expire) ||
        (!r.prefix.key_meta.empty() && !out_caps_.key_meta)) [[unlikely]]
      output_cannot_hold(sc, r);
  }
  // What check_output_holds found: refused, or key metadata left out (--lossy).
  [[gnu::noinline]] void output_cannot_hold(RecordScanner& sc, Record& r) {
    RdbVersion in_version = versions_[input_];
    if (conversion_[r.opcode] == ValueConversion::kImpossible)
      sc.fail(Errc::kCannotHold, fmt::format("{} cannot hold a value of type {}; {}", out_version_.magic(),
                                              type_name(r.opcode, in_version), type_hint(r.opcode, in_version)));
    if (r.prefix.has_expire && !r.prefix.expire_in_seconds && !out_caps_.ms_expire)
      sc.fail(Errc::kCannotHold, fmt::format("{} cannot hold a millisecond expire time; {}", out_version_.magic(),
                                             first_version_with(&RdbCapabilities::ms_expire)));
    if (!r.prefix.key_meta.empty() && !out_caps_.key_meta) {
      if (!opt_.lossy)
        sc.fail(Errc::kCannotHold,
                fmt::format("{} cannot hold key metadata (KEY_META); {}, or give --lossy to leave it out (counted)",
                            out_version_.magic(), first_version_with(&RdbCapabilities::key_meta)));
      r.prefix.key_meta.clear();
      ++result_.key_meta_dropped;
    }
  }

  // A key whose output name is a start-up guard: its value joins the guard's "set max"
  // instead of being copied.
  void take_guard_source(RecordScanner& sc, const Record& r, const App& app) {
    std::optional<std::string> value;
    if (r.opcode == rdb::kTypeString) {
      if (sc.read_small_string_payload(value_, 1024)) value = value_;
    } else {
      sc.skip_payload();
    }
    guards_.offer(app, value);
  }

  // Finds every output name that two or more written keys share. With --on-collision error it
  // refuses (or, in a dry run, records the refusal in the plan); with keep-first/keep-last it
  // returns the keys to leave out, each reported with the key kept in its place.
  LeftOutKeys resolve_collisions() {
    uint64_t count = 0;
    std::vector<std::string> found;
    LeftOutKeys losers;
    collisions_->find(versions_, [&](const std::string& name, std::vector<KeyRef>& keys) {
      count += keys.size() - 1;
      std::string shown = name.empty() && !keys.front().seekable ? std::string("(one name, compared by hash)")
                                                                  : quote_bytes(name.data(), name.size());
      if (opt_.on_collision == CollisionPolicy::kError) {
        if (found.size() < 10) {
          std::vector<std::string> who;
          for (const KeyRef& k : keys) who.push_back(collisions_->describe(k));
          found.push_back(fmt::format("  {}: {}", shown, fmt::join(who, " and ")));
        }
        return;
      }
      const KeyRef& kept = opt_.on_collision == CollisionPolicy::kKeepFirst ? keys.front() : keys.back();
      std::string kept_text = collisions_->describe(kept);
      for (const KeyRef& k : keys) {
        if (k == kept) continue;
        losers.insert(k.id());
        result_.collision_drops.push_back({name, collisions_->describe(k), kept_text});
      }
    });
    result_.collisions = count;
    if (count == 0 || opt_.on_collision != CollisionPolicy::kError) return losers;
    std::string message =
        fmt::format("renaming gives {} key{} the name of another key in db 0 (a server refuses to load such a "
                    "file); nothing was written:\n{}{}\nRename or delete one key of each pair on the source "
                    "(or map the databases differently), or choose --on-collision keep-first|keep-last, then convert "
                    "again.",
                    count, count == 1 ? "" : "s", fmt::join(found, "\n"),
                    count > found.size() ? fmt::format("\n  ... and more ({} in all)", count) : "");
    if (opt_.dry_run) {
      result_.collision_report = std::move(message);  // part of the plan; the caller exits non-zero
      return losers;
    }
    throw Error(Errc::kCollision, message);
  }

  void check_unmapped() {
    if (opt_.unmapped != UnmappedPolicy::kError) return;
    std::string list, example;
    uint64_t total = 0;
    bool several = result_.inputs.size() > 1;
    for (const auto& [id, stats] : result_.dbs) {
      if (!stats.prefix.empty() || stats.keys_read == 0) continue;
      const std::string& path = result_.inputs[id.input].path;
      list += fmt::format("{}  db {}{}: {} key{}", list.empty() ? "" : "\n", id.db,
                          several ? fmt::format(" of {}", path) : "", stats.keys_read, stats.keys_read == 1 ? "" : "s");
      if (example.empty()) example = several ? fmt::format("-a {}:{}=APP", path, id.db) : fmt::format("-a {}=APP", id.db);
      total += stats.keys_read;
    }
    if (list.empty()) return;
    throw Error(Errc::kUnmappedDatabase,
                fmt::format("{} key{} in databases with no application; nothing was written:\n{}\n"
                            "Map each with {} (an npm package name or a prefix), or pass --unmapped drop "
                            "(leave them out) or --unmapped keep (copy them without renaming).",
                            total, total == 1 ? " is" : "s are", list, example));
  }

  void write_guards() {
    if (!policy_.guards()) return;
    for (const App& app : policy_.apps()) {
      GuardSummary g = guards_.result(app);
      out_.string_key(g.key, g.value);
      result_.guards.push_back(std::move(g));
    }
  }

  // Every key read is counted exactly once, and the counts add up to the keys written.
  void check_every_key_counted() const {
    DbStats t = result_.totals();
    if (t.keys_read != t.written() + t.dropped() + t.guard_sources ||
        t.written() + result_.guards.size() != result_.keys_written)
      throw Error(Errc::kInternal,
                  fmt::format("key counts do not add up: {} read, {} written + {} guards, {} left out, {} merged into "
                              "guards; {} in the output",
                              t.keys_read, t.written(), result_.guards.size(), t.dropped(), t.guard_sources,
                              result_.keys_written));
  }

  const ConvertOptions& opt_;
  const KeyPolicy& policy_;
  ConvertResult& result_;
  const LeftOutKeys& left_out_;
  Out& out_;
  GuardMerge guards_;
  unsigned threads_;
  std::optional<CollisionCheck> collisions_;
  std::vector<RdbVersion> versions_;
  RdbVersion out_version_;
  RdbCapabilities out_caps_;
  bool check_len64_ = false;  // the output cannot hold 64-bit lengths
  bool strip_hints_ = false;  // the output cannot hold LRU/LFU hints
  std::map<uint64_t, DbRoute> routes_;
  ValueConversion conversion_[256] = {};  // by value type, for the current input
  std::string converted_;                 // the payload of the value being converted
  std::map<std::pair<uint8_t, uint8_t>, uint64_t> converted_by_type_;  // (from, to) -> values, this input
  uint32_t input_ = 0;
  bool input_stable_ = true;
  std::string value_;
};

// Sources that read the same inputs again from their start: their bytes stay in place, or (a
// compressed file) are decompressed again.
struct Rewound {
  std::vector<std::unique_ptr<ByteSource>> owned;
  std::vector<ByteSource*> sources;
  explicit Rewound(const std::vector<ByteSource*>& of) {
    for (ByteSource* src : of) {
      owned.push_back(src->stable() ? MemorySource::rereading(*src) : src->reopen());
      if (!owned.back()) throw Error(Errc::kInternal, fmt::format("{}: cannot be read again", src->name()));
      sources.push_back(owned.back().get());
    }
  }
};

// One pass into `out`, with the loop compiled for its concrete class where there is one.
LeftOutKeys run_pass(const ConvertOptions& options, const KeyPolicy& policy, ConvertResult& result,
                     const LeftOutKeys& left_out, Output& out, std::vector<ByteSource*>& sources) {
  if (auto* file = dynamic_cast<RdbFileOutput*>(&out))
    return Conversion<RdbFileOutput>(options, policy, result, left_out, *file).run(sources);
  if (auto* shards = dynamic_cast<ShardedOutput*>(&out))
    return Conversion<ShardedOutput>(options, policy, result, left_out, *shards).run(sources);
  if (auto* none = dynamic_cast<DiscardOutput*>(&out))
    return Conversion<DiscardOutput>(options, policy, result, left_out, *none).run(sources);
  return Conversion<Output>(options, policy, result, left_out, out).run(sources);
}

// Options that name an input by its number must name one that is there.
void check_input_numbers(const ConvertOptions& options, size_t inputs) {
  if (options.aux_from >= inputs)
    throw Error(Errc::kBadOption, fmt::format("--aux-from: input {} of {}", options.aux_from + 1, inputs));
  for (const auto& [id, name] : options.input_apps)
    if (id.input >= inputs)
      throw Error(Errc::kBadOption, fmt::format("--app for input {} of {}", id.input + 1, inputs));
}

// The passes over the inputs. One pass feeds the output directly when nothing must be decided
// first. A keep-first/keep-last policy, or an output that cannot be thrown away (a live
// server), needs every collision decided before the output receives a byte: a first pass then
// only decides (DiscardOutput) and a second one writes.
ConvertResult run_passes(const ConvertOptions& options, std::vector<ByteSource*>& sources, Output& out) {
  auto start = std::chrono::steady_clock::now();
  check_input_numbers(options, sources.size());
  bool decide_first = options.on_collision != CollisionPolicy::kError || !out.discardable();
  // Reading twice needs inputs that can be read again: a compressed file is decompressed again
  // when only the collision check's hashes are needed (--on-collision error, restore); a pipe,
  // or any stream when keys must be told apart by where they are (keep-first/keep-last), is
  // first copied to an unlinked temporary file (its size in disk space, documented in --help).
  std::vector<std::unique_ptr<ByteSource>> spooled;
  std::vector<ByteSource*> stable_sources = sources;
  bool keys_by_place = options.on_collision != CollisionPolicy::kError;
  if (decide_first)
    for (ByteSource*& src : stable_sources)
      if (!src->stable() && (keys_by_place || !src->reopenable())) {
        spooled.push_back(spool_to_temp_file(*src));
        src = spooled.back().get();
      }
  KeyPolicy policy(options.key_policy());
  ConvertResult decided;
  LeftOutKeys losers;
  DiscardOutput nowhere;
  if (decide_first)
    losers = Conversion<DiscardOutput>(options, policy, decided, LeftOutKeys{}, nowhere).run(stable_sources);
  // An output that cannot be patched (compressed, standard output) still gets exact RESIZEDB
  // counts when the inputs can be read again without a copy. A deciding pass that left no key
  // out counted exactly what the writing pass will write; otherwise a pass that only counts,
  // deciding every key as the writing pass will. (A pipe is not spooled for a hint.)
  bool all_stable = true;
  for (ByteSource* src : stable_sources) all_stable &= src->stable();
  if (out.wants_counts_first() && all_stable) {
    if (!decide_first || !losers.empty()) {
      nowhere = DiscardOutput{};
      ConvertResult counted;
      Rewound again(stable_sources);
      Conversion<DiscardOutput>(options, policy, counted, losers, nowhere).run(again.sources);
    }
    out.expect_counts(nowhere.keys_written(), nowhere.keys_with_ttl());
  }
  ConvertResult result;
  if (decide_first) {
    Rewound again(stable_sources);
    if (!run_pass(options, policy, result, losers, out, again.sources).empty() || result.collisions != 0)
      throw Error(Errc::kInternal, "collisions remain after leaving keys out");
    result.collisions = decided.collisions;
    result.collision_drops = std::move(decided.collision_drops);
  } else {
    run_pass(options, policy, result, losers, out, sources);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// An error while reading an input that changed under us (a backup job rewriting it) is
// reported as that.
[[noreturn]] void rethrow_with_input_state(const std::vector<ByteSource*>& sources) {
  for (ByteSource* src : sources)
    if (std::string why = src->changed_since_open(); !why.empty())
      throw Error(Errc::kInputChanged, fmt::format("{}: input changed while reading ({}); nothing was written",
                                                   src->name(), why));
  throw;
}

}  // namespace

DbStats ConvertResult::totals() const {
  DbStats t;
  for (const auto& [db, s] : dbs) {
    t.keys_read += s.keys_read;
    t.renamed += s.renamed;
    t.already_prefixed += s.already_prefixed;
    t.hashtagged += s.hashtagged;
    t.kept_unmapped += s.kept_unmapped;
    t.empty_key += s.empty_key;
    t.with_ttl += s.with_ttl;
    t.unmapped_dropped += s.unmapped_dropped;
    t.expired_dropped += s.expired_dropped;
    t.collision_dropped += s.collision_dropped;
    t.guard_sources += s.guard_sources;
  }
  return t;
}

RdbVersion default_output_version(const std::vector<RdbVersion>& inputs) {
  RdbVersion out{RdbFamily::kRedis, 1};
  for (RdbVersion v : inputs) {
    if (v.is_valkey()) return RdbVersion{RdbFamily::kValkey, 80};
    out.number = std::max(out.number, std::min(v.number, 11));
  }
  return out;
}

unsigned resolve_threads(unsigned requested) {
  if (requested > 0) return requested;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void check_inputs_unchanged(const std::vector<ByteSource*>& sources) {
  for (ByteSource* src : sources)
    if (std::string why = src->changed_since_open(); !why.empty())
      throw Error(Errc::kInputChanged, fmt::format("{}: input changed while reading ({}); nothing was written",
                                                   src->name(), why));
}

ConvertResult convert(const ConvertOptions& options, std::vector<ByteSource*> sources, Output& out) {
  try {
    ConvertResult result = run_passes(options, sources, out);
    check_inputs_unchanged(sources);
    return result;
  } catch (const Error&) {
    rethrow_with_input_state(sources);
  }
}

ConvertResult convert(const ConvertOptions& options, std::vector<ByteSource*> sources, ByteSink& sink) {
  RdbFileOutput out(sink);
  try {
    ConvertResult result = convert(options, std::move(sources), out);
    out.prepare();
    out.commit();
    result.output_bytes = out.bytes_written();
    return result;
  } catch (...) {
    out.cancel();
    throw;
  }
}

}  // namespace rdbrekey
