#include "rdbrekey/converter.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/collision_check.h"
#include "rdbrekey/error.h"
#include "rdbrekey/format.h"
#include "rdbrekey/key_policy.h"
#include "rdbrekey/output_paths.h"
#include "rdbrekey/rdb_writer.h"
#include "rdbrekey/record_scanner.h"
#include "rdbrekey/report.h"
#include "rdbrekey/verifier.h"

namespace rdbrekey {
namespace {

// AUX fields that describe the source server's replication stream or cluster slots: wrong for
// a file whose keys were renamed (a replica would partial-resync against other data; slot
// counts change with the names).
bool aux_is_dropped(std::string_view field) {
  return field == "repl-id" || field == "repl-offset" || field == "repl-stream-db" || field == "slot-info";
}

std::string type_hint(uint8_t type, RdbVersion in) {
  if (in.is_valkey() && type == rdb::kTypeValkeyHash2)
    return "it is a Valkey 9 hash with field TTLs, which only VALKEY080 holds: convert with --rdb-version 80 "
           "for a Valkey >= 9 target, or remove the field TTLs (HPERSIST) on the source before saving";
  if (!in.is_valkey() && type >= rdb::kTypeHashMetadataPreGa && type <= rdb::kTypeHashListpackEx)
    return fmt::format(
        "it is a Redis 7.4+ hash with field TTLs: convert with --rdb-version {} for a Redis >= 7.4 target, or "
        "remove the field TTLs (HPERSIST) on the source before saving",
        std::max(12, in.number));
  if (!in.is_valkey() && (type == rdb::kTypeStreamListpacks4 || type == rdb::kTypeStreamListpacks5))
    return fmt::format("Redis {} writes every stream in this form: convert with --rdb-version {} for a Redis target "
                       "of that version",
                       in.number == 13 ? "8.6" : "8.8", in.number);
  RdbVersion first = first_version_with_type(type, in);
  return fmt::format("choose an output version that has it (--rdb-version {} or later), which {} can load",
                     first.magic(), loaders_of(first));
}

// Where the keys of one input database go.
struct DbRoute {
  DbStats* stats = nullptr;
  const App* app = nullptr;  // nullptr: unmapped
  bool remember_all = false;  // every written key goes into the collision index
};

// One pass over the inputs: every record read, routed and written. Keys listed in `left_out`
// (by a keep-first/keep-last choice of an earlier pass) are left out.
class Conversion {
 public:
  Conversion(const ConvertOptions& opt, const KeyPolicy& policy, ConvertResult& result, const LeftOutKeys& left_out)
      : opt_(opt), policy_(policy), result_(result), left_out_(left_out),
        guards_(opt.data_version, policy.apps().size()) {}

  // Returns the keys that a keep-first/keep-last choice leaves out; when there are any, the
  // output is incomplete and the caller converts again without them.
  LeftOutKeys run(std::vector<ByteSource*>& sources, ByteSink& sink) {
    sources_ = &sources;
    collisions_.emplace(policy_, sources, left_out_);
    std::vector<std::unique_ptr<RecordScanner>> scanners;
    for (ByteSource* src : sources) {
      scanners.push_back(std::make_unique<RecordScanner>(*src));
      versions_.push_back(scanners.back()->read_header());
      result_.inputs.push_back(InputSummary{src->name(), versions_.back()});
    }
    out_version_ = opt_.target ? *opt_.target : default_output_version(versions_);
    result_.output_version = out_version_;
    RdbWriter writer(sink, out_version_);
    writer.write_header();
    for (size_t i = 0; i < scanners.size(); ++i) {
      input_ = static_cast<uint32_t>(i);
      input_stable_ = sources[i]->stable();
      scan_input(*scanners[i], writer, sink, i == 0);
      const ScanSummary& s = scanners[i]->summary();
      result_.inputs[i].bytes = s.end_offset;
      result_.inputs[i].checksum_verified = s.checksum_present;
      result_.inputs[i].trailing_bytes = s.trailing_bytes;
      result_.inputs[i].trailing_exact = s.trailing_exact;
    }
    check_unmapped();
    LeftOutKeys losers = resolve_collisions();
    if (!losers.empty()) return losers;
    write_guards(writer);
    writer.finish();
    result_.keys_written = writer.keys_written();
    check_every_key_counted();
    return {};
  }

 private:
  DbRoute& enter_db(uint64_t db) {
    auto it = routes_.find(db);
    if (it != routes_.end()) return it->second;
    DbStats& stats = result_.dbs[db];
    DbRoute route{&stats, policy_.app_of_db(db), collisions_->remembers_all(db)};
    if (route.app) stats.prefix = route.app->prefix();
    return routes_.emplace(db, route).first->second;
  }

  void scan_input(RecordScanner& sc, RdbWriter& writer, ByteSink& sink, bool first_input) {
    RdbVersion in_version = versions_[input_];
    sc.set_refuse_len64(in_version.number >= 8 && !out_version_.has_64bit_lengths());
    for (int t = 0; t < 256; ++t) can_hold_[t] = output_can_hold_type(static_cast<uint8_t>(t), in_version, out_version_);
    DbRoute* cur = &enter_db(0);
    Record r;
    uint32_t until_progress = kProgressEvery;
    while (sc.next(r)) {
      if (--until_progress == 0) {
        until_progress = kProgressEvery;
        report_progress();
      }
      switch (r.kind) {
        case RecordKind::kKey:
          convert_key(sc, r, *cur, writer, sink);
          break;
        case RecordKind::kSelectDb:
          cur = &enter_db(r.db);
          break;
        case RecordKind::kResizeDb:
          break;  // a hint; the output's databases are merged, so the input's sizes do not apply
        case RecordKind::kAux:
          if (!first_input || aux_is_dropped(r.key) || out_version_.number < 7) {
            ++result_.aux_dropped;
          } else {
            writer.write_aux(r.key, r.value);
            ++result_.aux_kept;
          }
          break;
        case RecordKind::kModuleAux:
          if (out_version_.number < 9)
            sc.fail(Errc::kCannotHold, fmt::format("module data (MODULE_AUX) cannot be written to {} (RDB >= 9 only)",
                                                    out_version_.magic()));
          writer.write_opcode(rdb::kOpModuleAux);
          sc.copy_payload(sink);
          ++result_.module_aux;
          break;
        case RecordKind::kFunction:
          if (out_version_.number < 10)
            sc.fail(Errc::kCannotHold,
                    fmt::format("a function library (FUNCTION2) cannot be written to {} (RDB >= 10 only)",
                                out_version_.magic()));
          writer.write_opcode(rdb::kOpFunction2);
          sc.copy_payload(sink);
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

  static constexpr uint32_t kProgressEvery = 1 << 16;

  void report_progress() {
    if (!opt_.progress) return;
    Progress p;
    for (uint32_t i = 0; i < sources_->size(); ++i) {
      ByteSource* src = (*sources_)[i];
      p.bytes_total += src->size_hint();
      if (i < input_) p.bytes_done += src->size_hint();
    }
    p.bytes_done += (*sources_)[input_]->offset();
    for (const auto& [db, st] : result_.dbs) p.keys += st.keys_read;
    opt_.progress(p);
  }

  void convert_key(RecordScanner& sc, const Record& r, const DbRoute& db, RdbWriter& writer, ByteSink& sink) {
    DbStats& stats = *db.stats;
    ++stats.keys_read;
    KeyRef ref{input_, sc.current_db(), r.key_offset, input_stable_};
    bool left_out = !left_out_.empty() && left_out_.count(ref.id()) > 0;
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
    if (d.unrenamed) {
      ++stats.kept_unmapped;
    } else {
      switch (d.name.rule) {
        case RenameRule::kAlreadyPrefixed: ++stats.already_prefixed; break;
        case RenameRule::kHashtag: ++stats.hashtagged; break;
        case RenameRule::kPrefixed:
          ++stats.renamed;
          if (r.key.empty()) ++stats.empty_key;
          break;
      }
    }
    if (r.prefix.has_expire) ++stats.with_ttl;
    collisions_->add(ref, db.app, r.key, d.name, db.remember_all);
    if (stats.samples.size() < opt_.sample_renames) stats.samples.emplace_back(std::string(r.key), d.name.str());
    writer.select_db(0);
    writer.write_key_header(r.prefix, r.opcode, d.name);
    sc.copy_payload(sink);
  }

  // Refuses a record that the output version cannot hold (value type, expire form, metadata).
  void check_output_holds(RecordScanner& sc, const Record& r) {
    RdbVersion in_version = versions_[input_];
    if (!can_hold_[r.opcode])
      sc.fail(Errc::kCannotHold, fmt::format("{} cannot hold a value of type {}; {}", out_version_.magic(),
                                              type_name(r.opcode, in_version), type_hint(r.opcode, in_version)));
    if (r.prefix.has_expire && !r.prefix.expire_in_seconds && out_version_.number < 3)
      sc.fail(Errc::kCannotHold,
              fmt::format("{} cannot hold a millisecond expire time (RDB >= 3 only)", out_version_.magic()));
    if (!r.prefix.key_meta.empty() && (out_version_.is_valkey() || out_version_.number < 13))
      sc.fail(Errc::kCannotHold, fmt::format("{} cannot hold key metadata (KEY_META, Redis 8.6+ RDB >= 13); convert "
                                              "with --rdb-version {} for a Redis target of that version",
                                              out_version_.magic(), in_version.number));
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
    for (const auto& [db, stats] : result_.dbs) {
      if (!stats.prefix.empty() || stats.keys_read == 0) continue;
      list += fmt::format("{}  db {}: {} key{}", list.empty() ? "" : "\n", db, stats.keys_read,
                          stats.keys_read == 1 ? "" : "s");
      if (example.empty()) example = fmt::format("-a {}=APP", db);
      total += stats.keys_read;
    }
    if (list.empty()) return;
    throw Error(Errc::kUnmappedDatabase,
                fmt::format("{} key{} in databases with no application; nothing was written:\n{}\n"
                            "Map each with {} (an npm package name or a prefix), or pass --unmapped drop "
                            "(leave them out) or --unmapped keep (copy them without renaming).",
                            total, total == 1 ? " is" : "s are", list, example));
  }

  void write_guards(RdbWriter& writer) {
    if (!policy_.guards()) return;
    for (const App& app : policy_.apps()) {
      GuardSummary g = guards_.result(app);
      writer.select_db(0);
      writer.write_string_key(g.key, g.value);
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
  GuardMerge guards_;
  std::optional<CollisionCheck> collisions_;
  std::vector<RdbVersion> versions_;
  RdbVersion out_version_;
  std::map<uint64_t, DbRoute> routes_;
  bool can_hold_[256] = {};  // output_can_hold_type for the current input
  std::vector<ByteSource*>* sources_ = nullptr;
  uint32_t input_ = 0;
  bool input_stable_ = true;
  std::string value_;
};

// The whole conversion into `sink`, which is left for the caller to commit or cancel.
ConvertResult run_conversion(const ConvertOptions& options, std::vector<ByteSource*> sources, ByteSink& sink) {
  auto start = std::chrono::steady_clock::now();
  if (options.on_collision != CollisionPolicy::kError)
    for (ByteSource* src : sources)
      if (!src->stable())
        throw Error(Errc::kNeedsSeekableInput, fmt::format("{}: --on-collision keep-first/keep-last reads the input twice; "
                                                  "give it a regular file, not a pipe",
                                                  src->name()));
  KeyPolicy policy(options.key_policy());
  ConvertResult result;
  LeftOutKeys none;
  LeftOutKeys losers = Conversion(options, policy, result, none).run(sources, sink);
  if (!losers.empty()) {
    // --on-collision keep-first/keep-last: convert again from the start, leaving them out.
    std::vector<ConvertResult::CollisionDrop> drops = std::move(result.collision_drops);
    uint64_t collisions = result.collisions;
    std::vector<std::unique_ptr<MemorySource>> again;
    std::vector<ByteSource*> again_ptrs;
    for (ByteSource* src : sources) {
      again.push_back(std::make_unique<MemorySource>(src->name(), src->stable_data(), src->size_hint()));
      again_ptrs.push_back(again.back().get());
    }
    sink.restart();
    result = ConvertResult{};
    if (!Conversion(options, policy, result, losers).run(again_ptrs, sink).empty() || result.collisions != 0)
      throw Error(Errc::kInternal, "collisions remain after leaving keys out");
    result.collisions = collisions;
    result.collision_drops = std::move(drops);
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

void check_inputs_unchanged(const std::vector<ByteSource*>& sources) {
  for (ByteSource* src : sources)
    if (std::string why = src->changed_since_open(); !why.empty())
      throw Error(Errc::kInputChanged, fmt::format("{}: input changed while reading ({}); nothing was written",
                                                  src->name(), why));
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

ConvertResult convert(const ConvertOptions& options, std::vector<ByteSource*> sources, ByteSink& sink) {
  try {
    ConvertResult result;
    try {
      result = run_conversion(options, sources, sink);
      check_inputs_unchanged(sources);
    } catch (const Error&) {
      rethrow_with_input_state(sources);
    }
    sink.finalize();
    result.output_bytes = sink.bytes_written();
    return result;
  } catch (...) {
    sink.cancel();
    throw;
  }
}

ConvertResult convert(const ConvertOptions& options) {
  if (options.inputs.empty()) throw Error(Errc::kBadOption, "no input file");
  // Every output (the RDB file, the report) is checked against every input and each other
  // before anything is read, and created as a temporary file next to its final name.
  std::vector<OutputPath> outputs;
  if (!options.dry_run) outputs.push_back({"--output", options.output});
  if (!options.report.empty()) outputs.push_back({"--report", options.report});
  check_output_paths(options.inputs, outputs, options.overwrite);
  std::vector<std::unique_ptr<FileSource>> files;
  std::vector<ByteSource*> sources;
  for (const auto& path : options.inputs) {
    files.push_back(std::make_unique<FileSource>(path));
    sources.push_back(files.back().get());
  }
  std::unique_ptr<ByteSink> rdb;
  AtomicFileSink* rdb_file = nullptr;
  if (options.dry_run) {
    rdb = std::make_unique<NullSink>();
  } else {
    auto f = std::make_unique<AtomicFileSink>(options.output, options.overwrite);
    rdb_file = f.get();
    rdb = std::move(f);
  }
  std::unique_ptr<AtomicFileSink> report;
  if (!options.report.empty()) report = std::make_unique<AtomicFileSink>(options.report, options.overwrite);

  auto start = std::chrono::steady_clock::now();
  ConvertResult result;
  try {
    result = run_conversion(options, sources, *rdb);
    check_inputs_unchanged(sources);
  } catch (const Error&) {
    rethrow_with_input_state(sources);
  }
  if (rdb_file) {
    rdb_file->prepare();  // flushed, fsync'ed, closed: ready to be renamed into place
    if (options.verify_output) {
      // The written file must read back whole, with a good CRC, no duplicate key and every key
      // that was written.
      FileSource written(rdb_file->temp_path());
      VerifyResult v;
      try {
        v = verify(written, VerifyOptions{true});
      } catch (const Error& e) {
        throw Error(Errc::kInternal, fmt::format("the written output does not verify: {}", e.what()));
      }
      if (v.keys != result.keys_written)
        throw Error(Errc::kInternal, fmt::format("{}: re-reading the output found {} keys, {} were written",
                                                     rdb_file->temp_path(), v.keys, result.keys_written));
      result.output_verified = true;
    }
  } else {
    rdb->finalize();
  }
  result.output_bytes = rdb->bytes_written();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<AtomicFileSink*> group;
  if (rdb_file) group.push_back(rdb_file);
  if (report) {
    std::string json = report_json(options, result);
    report->write(json.data(), json.size());
    group.push_back(report.get());
  }
  commit_together(group);
  return result;
}

}  // namespace rdbrekey
