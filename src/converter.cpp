#include "rdbrekey/converter.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <chrono>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/collision_index.h"
#include "rdbrekey/error.h"
#include "rdbrekey/format.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/rdb_writer.h"
#include "rdbrekey/record_scanner.h"
#include "rdbrekey/verifier.h"

namespace rdbrekey {
namespace {

// AUX fields that describe the source server's replication stream or cluster slots: wrong for
// a file whose keys were renamed (a replica would partial-resync against other data; slot
// counts change with the names).
bool aux_is_dropped(std::string_view field) {
  return field == "repl-id" || field == "repl-offset" || field == "repl-stream-db" || field == "slot-info";
}

// A number as the migrator's Lua "set max" reads it (Lua 5.1 tonumber: strtod, so leading and
// trailing white space, a sign, hex "0x10", "inf" are numbers); nullopt when not numeric.
std::optional<double> parse_number(const std::string& s) {
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r' || *end == '\f' || *end == '\v') ++end;
  if (end != begin + s.size()) return std::nullopt;  // trailing garbage, or an embedded NUL
  return v;
}

struct AppState {
  KeyRenamer renamer;
  std::string guard_key;
  std::optional<double> best;  // largest numeric value seen under guard_key
  std::string best_text;
};

struct DbState {
  DbStats* stats = nullptr;
  AppState* app = nullptr;  // nullptr: unmapped
  bool record_all = false;  // every output key goes into the collision index
};

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

class Conversion {
 public:
  Conversion(const ConvertOptions& opt, ConvertResult& result) : opt_(opt), result_(result) {
    for (const auto& h : opt.hashtags) {
      if (h.empty() || h.find_first_of(":{}") != std::string::npos)
        throw Error(ExitCode::kUsage,
                    fmt::format("--hashtag \"{}\": a key family name must be non-empty and hold no ':', '{{' or '}}'", h));
    }
    for (const auto& [db, name] : opt.apps) {
      std::string prefix = app_prefix_from_name(name);
      auto it = apps_.find(prefix);
      if (it == apps_.end()) {
        KeyRenamer renamer(prefix, opt.hashtags);
        std::string guard = renamer.guard_key();
        it = apps_.emplace(prefix, AppState{std::move(renamer), std::move(guard), std::nullopt, {}}).first;
      }
      app_of_db_[db] = &it->second;
    }
  }

  void run(std::vector<ByteSource*>& sources, ByteSink& sink) {
    sources_ = &sources;
    if (sources.size() > CollisionIndex::kMaxInputs)
      throw Error(ExitCode::kUsage, fmt::format("at most {} inputs", CollisionIndex::kMaxInputs));
    // Collisions can only come from what the rules keep apart (collision_index.h): decide
    // where every key must be remembered.
    record_everything_ = sources.size() > 1 || opt_.unmapped == UnmappedPolicy::kKeep;
    if (opt_.on_collision != CollisionPolicy::kError)
      for (ByteSource* src : sources)
        if (!src->stable())
          throw Error(ExitCode::kUsage, fmt::format("{}: --on-collision keep-first/keep-last reads the input twice; "
                                                    "give it a regular file, not a pipe",
                                                    src->name()));
    for (ByteSource* src : sources) record_everything_ |= !src->stable();
    std::map<std::string, int> dbs_per_prefix;
    for (auto& [db, app] : app_of_db_) ++dbs_per_prefix[app->renamer.prefix()];
    for (auto& [db, app] : app_of_db_)
      if (dbs_per_prefix[app->renamer.prefix()] > 1) shared_prefix_dbs_.insert(db);
    std::vector<std::unique_ptr<RecordScanner>> scanners;
    std::vector<RdbVersion> versions;
    for (ByteSource* src : sources) {
      scanners.push_back(std::make_unique<RecordScanner>(*src));
      versions.push_back(scanners.back()->read_header());
      result_.inputs.push_back(InputSummary{src->name(), versions.back()});
    }
    out_version_ = opt_.target ? *opt_.target : default_output_version(versions);
    result_.output_version = out_version_;
    RdbWriter writer(sink, out_version_);
    writer.write_header();
    for (size_t i = 0; i < scanners.size(); ++i) {
      input_ = static_cast<uint32_t>(i);
      scan_input(*scanners[i], versions[i], writer, sink, i == 0);
      const ScanSummary& s = scanners[i]->summary();
      result_.inputs[i].bytes = s.end_offset;
      result_.inputs[i].checksum_verified = s.checksum_present;
      result_.inputs[i].trailing_bytes = s.trailing_bytes;
    }
    check_unmapped();
    check_collisions();
    if (!losers_.empty()) return;  // the caller converts again without them
    write_guards(writer);
    writer.finish();
    result_.keys_written = writer.keys_written();
  }

 private:
  DbState& enter_db(uint64_t db, const RecordScanner& sc) {
    auto it = db_state_.find(db);
    if (it != db_state_.end()) return it->second;
    DbStats& stats = result_.dbs[db];
    auto app = app_of_db_.find(db);
    DbState state{&stats, app == app_of_db_.end() ? nullptr : app->second,
                  record_everything_ || shared_prefix_dbs_.count(db) > 0};
    if ((state.record_all || state.app) && db > CollisionIndex::kMaxDb)
      sc.fail(ExitCode::kUnsupported,
              fmt::format("database {}: the collision check handles databases 0..{}", db, CollisionIndex::kMaxDb));
    if (state.app) stats.prefix = state.app->renamer.prefix();
    return db_state_.emplace(db, state).first->second;
  }

  void refuse_record(RecordScanner& sc, const std::string& what) { sc.fail(ExitCode::kRefused, what); }

  void scan_input(RecordScanner& sc, RdbVersion in_version, RdbWriter& writer, ByteSink& sink, bool first_input) {
    sc.set_refuse_len64(in_version.number >= 8 && !out_version_.has_64bit_lengths());
    for (int t = 0; t < 256; ++t) can_hold_[t] = output_can_hold_type(static_cast<uint8_t>(t), in_version, out_version_);
    DbState* cur = &enter_db(0, sc);
    Record r;
    uint32_t until_progress = kProgressEvery;
    while (sc.next(r)) {
      if (--until_progress == 0) {
        until_progress = kProgressEvery;
        report_progress();
      }
      switch (r.kind) {
        case RecordKind::kKey:
          convert_key(sc, r, *cur, in_version, writer, sink);
          break;
        case RecordKind::kSelectDb:
          cur = &enter_db(r.db, sc);
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
            refuse_record(sc, fmt::format("module data (MODULE_AUX) cannot be written to {} (RDB >= 9 only)",
                                          out_version_.magic()));
          writer.write_opcode(rdb::kOpModuleAux);
          sc.copy_payload(sink);
          ++result_.module_aux;
          break;
        case RecordKind::kFunction:
          if (out_version_.number < 10)
            refuse_record(sc, fmt::format("a function library (FUNCTION2) cannot be written to {} (RDB >= 10 only)",
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

  void convert_key(RecordScanner& sc, const Record& r, DbState& db, RdbVersion in_version, RdbWriter& writer,
                   ByteSink& sink) {
    DbStats& stats = *db.stats;
    ++stats.keys_read;
    if (!skip_.empty() && skip_.count(pack(KeyRef{input_, 0, r.key_offset}))) {
      ++stats.collision_dropped;
      sc.skip_payload();
      return;
    }
    if (r.prefix.has_expire && opt_.drop_expired_before && r.prefix.expire_ms <= *opt_.drop_expired_before) {
      ++stats.expired_dropped;
      sc.skip_payload();
      return;
    }
    RenamedKey new_key;
    if (db.app) {
      new_key = db.app->renamer.rename(r.key);
      switch (new_key.rule) {
        case RenameRule::kAlreadyPrefixed: ++stats.already_prefixed; break;
        case RenameRule::kHashtag: ++stats.hashtagged; break;
        case RenameRule::kPrefixed:
          ++stats.renamed;
          if (r.key.empty()) ++stats.empty_key;
          break;
      }
      if (opt_.data_version && new_key.rule != RenameRule::kHashtag && db.app->renamer.becomes_guard(r.key)) {
        take_guard_source(sc, r, *db.app, stats);
        return;
      }
    } else {
      switch (opt_.unmapped) {
        case UnmappedPolicy::kError:
        case UnmappedPolicy::kDrop:
          ++stats.dropped;
          sc.skip_payload();
          return;
        case UnmappedPolicy::kKeep:
          ++stats.kept_unmapped;
          new_key = RenamedKey::of(r.key);
          break;
      }
    }
    if (!can_hold_[r.opcode])
      refuse_record(sc, fmt::format("{} cannot hold a value of type {}; {}", out_version_.magic(),
                                    type_name(r.opcode, in_version), type_hint(r.opcode, in_version)));
    if (r.prefix.has_expire) {
      ++stats.with_ttl;
      if (!r.prefix.expire_in_seconds && out_version_.number < 3)
        refuse_record(sc, fmt::format("{} cannot hold a millisecond expire time (RDB >= 3 only)", out_version_.magic()));
    }
    if (!r.prefix.key_meta.empty() && (out_version_.is_valkey() || out_version_.number < 13))
      refuse_record(sc, fmt::format("{} cannot hold key metadata (KEY_META, Redis 8.6+ RDB >= 13); convert with "
                                    "--rdb-version {} for a Redis target of that version",
                                    out_version_.magic(), in_version.number));
    remember_for_collisions(sc, r, db, new_key);
    if (stats.samples.size() < opt_.sample_renames) stats.samples.emplace_back(std::string(r.key), new_key.str());
    writer.select_db(0);
    writer.write_key_header(r.prefix, r.opcode, new_key);
    sc.copy_payload(sink);
  }

  void remember_for_collisions(RecordScanner& sc, const Record& r, const DbState& db, const RenamedKey& new_key) {
    if (r.key_offset > CollisionIndex::kMaxOffset)
      sc.fail(ExitCode::kUnsupported, "the collision check handles inputs up to 1 TiB");
    uint64_t db_num = sc.current_db();
    if (db.record_all) {
      std::string_view name = CollisionIndex::assemble(new_key, scratch_);
      uint64_t h = CollisionIndex::hash(name);
      if ((*sources_)[input_]->stable())
        all_keys_.add(h, KeyRef{input_, db_num, r.key_offset});
      else
        all_keys_.add_unseekable(h, input_, db_num, CollisionIndex::second_hash(name));
    } else if (new_key.rule == RenameRule::kAlreadyPrefixed && db.app->renamer.preimage(r.key, scratch_)) {
      prefixed_keys_.add(CollisionIndex::hash(scratch_), KeyRef{input_, db_num, r.key_offset});
      partner_dbs_.insert(db_num);
    }
  }

  // The name of the key at `ref` in the output, read again from its (stable) input.
  // The name of the key at `ref` in the input, read again from its (stable) source.
  std::string source_key_of(const KeyRef& ref) {
    ByteSource* src = (*sources_)[ref.input];
    MemorySource at(src->name(), src->stable_data() + ref.key_offset, src->size_hint() - ref.key_offset);
    RdbInput in(at, result_.inputs[ref.input].version);
    std::string key;
    in.read_string(key, "key");
    return key;
  }

  // The name the key at `ref` has in the output.
  std::string output_name_of(const KeyRef& ref) {
    std::string key = source_key_of(ref);
    auto app = app_of_db_.find(ref.db);
    return app == app_of_db_.end() ? key : app->second->renamer.rename(key).str();
  }

  std::string describe(const KeyRef& ref) {
    ByteSource* src = (*sources_)[ref.input];
    if (!src->stable()) return fmt::format("a key of db {} in {}", ref.db, src->name());
    std::string key = source_key_of(ref);
    return fmt::format("db {} key {} ({}, byte {})", ref.db, quote_bytes(key.data(), key.size()), src->name(),
                       ref.key_offset);
  }

  static uint64_t pack(const KeyRef& r) { return (uint64_t{r.input} << 48) ^ r.key_offset; }

 public:
  // Keys found to collide and chosen to be left out (after run() with a keep-* policy).
  const std::unordered_set<uint64_t>& losers() const { return losers_; }
  void skip_keys(std::unordered_set<uint64_t> keys) { skip_ = std::move(keys); }

 private:
  void check_collisions() {
    std::vector<std::string> found;
    uint64_t count = 0;
    auto report = [&](const std::string& name, const KeyRef& a, const KeyRef& b) {
      ++count;
      if (opt_.on_collision != CollisionPolicy::kError) pairs_.push_back({name, a, b});
      if (found.size() < 10)
        found.push_back(fmt::format("  {}: {} and {}", quote_bytes(name.data(), name.size()), describe(a), describe(b)));
    };
    // Every remembered key: equal hashes are confirmed by comparing the names.
    all_keys_.sort();
    const auto& e = all_keys_.entries();
    for (size_t i = 0; i < e.size();) {
      size_t j = i + 1;
      while (j < e.size() && e[j].hash == e[i].hash) ++j;
      if (j - i > 1) {
        std::vector<std::pair<std::string, KeyRef>> names;
        for (size_t k = i; k < j; ++k) {
          KeyRef ref = e[k].ref();
          if ((*sources_)[ref.input]->stable()) names.emplace_back(output_name_of(ref), ref);
          else names.emplace_back(fmt::format("<hash {:016x}/{:010x}>", e[k].hash, ref.key_offset), ref);
        }
        std::sort(names.begin(), names.end(), [](auto& x, auto& y) {
          return std::tie(x.first, x.second.input, x.second.key_offset) <
                 std::tie(y.first, y.second.input, y.second.key_offset);
        });
        for (size_t k = 1; k < names.size(); ++k)
          if (names[k].first == names[k - 1].first) report(names[k].first, names[k - 1].second, names[k].second);
      }
      i = j;
    }
    // Keys already under their prefix: read their databases again for the keys that would be
    // renamed onto them.
    if (!prefixed_keys_.empty()) {
      prefixed_keys_.sort();
      for (uint32_t input = 0; input < sources_->size(); ++input) find_partners(input, report);
    }
    if (count == 0) return;
    result_.collisions = count;
    if (opt_.on_collision != CollisionPolicy::kError) {
      // Keep the first (or last) key of each name in input order; leave out the others.
      for (const auto& p : pairs_) {
        bool a_first = std::tie(p.a.input, p.a.key_offset) < std::tie(p.b.input, p.b.key_offset);
        bool drop_a = (opt_.on_collision == CollisionPolicy::kKeepFirst) != a_first;
        const KeyRef& loser = drop_a ? p.a : p.b;
        const KeyRef& winner = drop_a ? p.b : p.a;
        if (!losers_.insert(pack(loser)).second) continue;
        result_.collision_drops.push_back({p.name, describe(loser), describe(winner)});
      }
      return;
    }
    std::string message =
        fmt::format("renaming gives {} key{} the name of another key in db 0 (a server refuses to load such a "
                    "file); nothing was written:\n{}{}\nRename or delete one key of each pair on the source "
                    "(or map the databases differently), or choose --on-collision keep-first|keep-last, then convert "
                    "again.",
                    count, count == 1 ? "" : "s", fmt::join(found, "\n"),
                    count > found.size() ? fmt::format("\n  ... and {} more", count - found.size()) : "");
    if (opt_.dry_run) {
      result_.collision_report = std::move(message);  // part of the plan; the caller exits non-zero
      return;
    }
    throw Error(ExitCode::kRefused, message);
  }

  template <class Report>
  void find_partners(uint32_t input, Report& report) {
    ByteSource* src = (*sources_)[input];
    MemorySource again(src->name(), src->stable_data(), src->size_hint());
    RecordScanner sc(again);
    sc.read_header();
    Record r;
    std::string pre;
    while (sc.next(r)) {
      if (r.kind != RecordKind::kKey || !partner_dbs_.count(sc.current_db())) continue;
      auto app = app_of_db_.find(sc.current_db());
      if (app == app_of_db_.end()) continue;
      const KeyRenamer& renamer = app->second->renamer;
      RenamedKey renamed = renamer.rename(r.key);
      if (renamed.rule == RenameRule::kAlreadyPrefixed || (opt_.data_version && renamer.becomes_guard(r.key))) continue;
      auto [lo, hi] = prefixed_keys_.find(CollisionIndex::hash(r.key));
      for (auto* p = lo; p != hi; ++p) {
        KeyRef kept = p->ref();
        if (kept.input != input || kept.db != sc.current_db()) continue;
        std::string name = renamed.str();
        if (source_key_of(kept) == name) report(name, KeyRef{input, sc.current_db(), r.key_offset}, kept);
      }
    }
  }

  // A source key that is (or was renamed to) P:data_version: its value joins the guard's
  // "set max" instead of being copied.
  void take_guard_source(RecordScanner& sc, const Record& r, AppState& app, DbStats& stats) {
    ++stats.guard_sources;
    std::optional<double> num;
    if (r.opcode == rdb::kTypeString && sc.read_small_string_payload(value_, 1024)) num = parse_number(value_);
    else if (r.opcode != rdb::kTypeString) sc.skip_payload();
    if (num && (!app.best || *num > *app.best)) {
      app.best = num;
      app.best_text = value_;
    }
  }

  void check_unmapped() {
    if (opt_.unmapped != UnmappedPolicy::kError) return;
    std::string list;
    uint64_t total = 0;
    for (const auto& [db, stats] : result_.dbs) {
      if (!stats.prefix.empty() || stats.keys_read == 0) continue;
      list += fmt::format("{}  db {}: {} key{}", list.empty() ? "" : "\n", db, stats.keys_read,
                          stats.keys_read == 1 ? "" : "s");
      total += stats.keys_read;
    }
    if (list.empty()) return;
    std::string example;
    for (const auto& [db, stats] : result_.dbs)
      if (stats.prefix.empty() && stats.keys_read) {
        example = fmt::format("-a {}=APP", db);
        break;
      }
    throw Error(ExitCode::kRefused,
                fmt::format("{} key{} in databases with no application; nothing was written:\n{}\n"
                            "Map each with {} (an npm package name or a prefix), or pass --unmapped drop "
                            "(leave them out) or --unmapped keep (copy them without renaming).",
                            total, total == 1 ? " is" : "s are", list, example));
  }

  void write_guards(RdbWriter& writer) {
    if (!opt_.data_version) return;
    std::string n = std::to_string(opt_.data_version);
    for (auto& [prefix, app] : apps_) {
      GuardSummary g{app.guard_key, n, false};
      if (app.best && *app.best > static_cast<double>(opt_.data_version)) {
        g.value = app.best_text;
        g.kept_existing = true;
      }
      writer.select_db(0);
      writer.write_string_key(g.key, g.value);
      result_.guards.push_back(std::move(g));
    }
  }

  const ConvertOptions& opt_;
  ConvertResult& result_;
  RdbVersion out_version_;
  std::map<std::string, AppState> apps_;
  std::map<uint64_t, AppState*> app_of_db_;
  std::map<uint64_t, DbState> db_state_;
  bool can_hold_[256] = {};  // output_can_hold_type for the current input
  std::vector<ByteSource*>* sources_ = nullptr;
  uint32_t input_ = 0;
  bool record_everything_ = false;
  std::set<uint64_t> shared_prefix_dbs_;
  std::set<uint64_t> partner_dbs_;
  CollisionIndex all_keys_;       // every output key of the databases that need it
  CollisionIndex prefixed_keys_;  // keys already under their prefix, by the name of their partner
  std::string scratch_;
  struct Pair {
    std::string name;
    KeyRef a, b;
  };
  std::vector<Pair> pairs_;
  std::unordered_set<uint64_t> losers_;
  std::unordered_set<uint64_t> skip_;
  std::string value_;
};

}  // namespace

RdbVersion default_output_version(const std::vector<RdbVersion>& inputs) {
  RdbVersion out{RdbFamily::kRedis, 1};
  for (RdbVersion v : inputs) {
    if (v.is_valkey()) return RdbVersion{RdbFamily::kValkey, 80};
    out.number = std::max(out.number, std::min(v.number, 11));
  }
  return out;
}

ConvertResult convert(const ConvertOptions& options, std::vector<ByteSource*> sources, ByteSink& sink,
                      ConvertResult** live) {
  auto start = std::chrono::steady_clock::now();
  ConvertResult result;
  if (live) *live = &result;
  try {
    Conversion conversion(options, result);
    conversion.run(sources, sink);
    if (!conversion.losers().empty()) {
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
      Conversion second(options, result);
      second.skip_keys(conversion.losers());
      second.run(again_ptrs, sink);
      if (!second.losers().empty()) throw Error(ExitCode::kInternal, "collisions remain after leaving keys out");
      result.collisions = collisions;
      result.collision_drops = std::move(drops);
    }
    sink.finalize();
  } catch (...) {
    sink.cancel();
    throw;
  }
  result.output_bytes = sink.bytes_written();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

ConvertResult convert(const ConvertOptions& options) {
  if (options.inputs.empty()) throw Error(ExitCode::kUsage, "no input file");
  std::vector<std::unique_ptr<FileSource>> files;
  std::vector<ByteSource*> sources;
  struct stat out_st {};
  bool out_exists = ::stat(options.output.c_str(), &out_st) == 0;
  for (const auto& path : options.inputs) {
    struct stat in_st {};
    if (out_exists && path != "-" && ::stat(path.c_str(), &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
        in_st.st_ino == out_st.st_ino)
      throw Error(ExitCode::kUsage, fmt::format("{}: the output is an input file; an input is never modified", path));
    files.push_back(std::make_unique<FileSource>(path));
    sources.push_back(files.back().get());
  }
  if (options.dry_run) {
    NullSink sink;
    return convert(options, sources, sink);
  }
  AtomicFileSink sink(options.output, options.overwrite);
  ConvertResult* result = nullptr;
  if (options.verify_output) {
    // The written file must read back whole, with a good CRC and every key that was written.
    sink.set_before_commit([&](const std::string& temp) {
      FileSource written(temp);
      VerifyResult v = verify(written);
      if (result && v.keys != result->keys_written)
        throw Error(ExitCode::kInternal, fmt::format("{}: re-reading the output found {} keys, {} were written", temp,
                                                     v.keys, result->keys_written));
      if (result) result->output_verified = true;
    });
  }
  return convert(options, sources, sink, &result);
}

}  // namespace rdbrekey
