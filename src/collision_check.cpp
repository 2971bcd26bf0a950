#include "rdbrekey/collision_check.h"

#include <fmt/format.h>

#include "rdbrekey/error.h"
#include "rdbrekey/rdb_input.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey {

CollisionCheck::CollisionCheck(const KeyPolicy& policy, const std::vector<ByteSource*>& sources,
                               const LeftOutKeys& left_out, unsigned threads)
    : policy_(policy), sources_(sources), left_out_(left_out), threads_(threads) {
  if (sources.size() > CollisionIndex::kMaxInputs + 1)
    throw Error(Errc::kTooMany, fmt::format("at most {} inputs", CollisionIndex::kMaxInputs + 1));
  everything_ = sources.size() > 1 || policy.unmapped() == UnmappedPolicy::kKeep;
  for (ByteSource* src : sources) everything_ |= !src->stable();
}

void CollisionCheck::add_to_all(const KeyRef& ref, const RenamedKey& name) {
  std::string_view whole = name.parts[0];
  if (name.count > 1) {  // assembled in a buffer that keeps its capacity: no allocation per key
    scratch_.clear();
    for (uint8_t i = 0; i < name.count; ++i) scratch_.append(name.parts[i]);
    whole = scratch_;
  }
  if (ref.seekable) all_keys_.add(CollisionIndex::hash(whole), ref);
  else all_keys_.add_unseekable(CollisionIndex::hash(whole), CollisionIndex::second_hash(whole), ref.input, ref.db);
}

void CollisionCheck::add_prefixed(const KeyRef& ref, const App& app, std::string_view source_key) {
  // Remembered by the name of the key that would be renamed onto it.
  if (!app.renamer.preimage(source_key, scratch_)) return;
  prefixed_keys_.add(CollisionIndex::hash(scratch_), ref);
  partner_dbs_.emplace(ref.input, ref.db);
}

std::string CollisionCheck::source_key_of(const KeyRef& ref) const {
  ByteSource* src = sources_[ref.input];
  MemorySource at(src->name(), src->stable_data() + ref.key_offset, src->size_hint() - ref.key_offset);
  RdbInput in(at, versions_[ref.input]);
  std::string key;
  in.read_string(key, "key");
  return key;
}

std::string CollisionCheck::output_name_of(const KeyRef& ref) const {
  std::string key = source_key_of(ref);
  KeyDecision d = policy_.decide(policy_.app_of(DbId{ref.input, ref.db}), key, KeyPrefix{}, false);
  return d.name.str();
}

std::string CollisionCheck::describe(const KeyRef& ref) const {
  ByteSource* src = sources_[ref.input];
  if (!ref.seekable) return fmt::format("a key of db {} in {}", ref.db, src->name());
  std::string key = source_key_of(ref);
  return fmt::format("db {} key {} ({}, byte {})", ref.db, quote_bytes(key.data(), key.size()), src->name(),
                     ref.key_offset);
}

void CollisionCheck::find(const std::vector<RdbVersion>& versions, const CollisionIndex::Visit& visit) {
  versions_ = versions;
  all_keys_.for_each_shared_name([this](const KeyRef& r) { return output_name_of(r); }, visit, threads_);
  if (prefixed_keys_.empty()) return;
  prefixed_keys_.sort(threads_);
  for (uint32_t input = 0; input < sources_.size(); ++input) find_partners(input, visit);
}

// Reads the databases that hold prefixed keys again, deciding each key's fate exactly as the
// writing pass does, and pairs every key renamed onto a prefixed one with it.
void CollisionCheck::find_partners(uint32_t input, const CollisionIndex::Visit& visit) {
  ByteSource* src = sources_[input];
  // The pages passed are dropped from the process as the first pass drops them, so that a
  // second look does not keep the whole mapped input resident.
  std::unique_ptr<MemorySource> again = MemorySource::rereading(*src);
  RecordScanner sc(*again);
  sc.read_header();
  Record r;
  std::vector<KeyRef> keys;
  while (sc.next(r)) {
    if (r.kind != RecordKind::kKey || !partner_dbs_.count({input, sc.current_db()})) continue;
    const App* app = policy_.app_of(DbId{input, sc.current_db()});
    KeyRef ref{input, sc.current_db(), r.key_offset, true};
    KeyDecision d = policy_.decide(app, r.key, r.prefix, left_out_.count(ref.id()) > 0);
    if (d.fate != KeyFate::kWrite || d.name.rule == RenameRule::kAlreadyPrefixed) continue;
    auto [lo, hi] = prefixed_keys_.find(CollisionIndex::hash(r.key));
    for (auto* p = lo; p != hi; ++p) {
      KeyRef kept = prefixed_keys_.ref(*p);
      if (kept.input != input || kept.db != sc.current_db()) continue;
      std::string name = d.name.str();
      if (source_key_of(kept) != name) continue;
      keys = {ref, kept};
      if (kept.key_offset < ref.key_offset) std::swap(keys[0], keys[1]);
      visit(name, keys);
    }
  }
}

}  // namespace rdbrekey
