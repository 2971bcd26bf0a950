#include "rdbrekey/shard_output.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

// A host name or address as part of a file name: letters, digits, '.', '-'; anything else '_'.
std::string file_name_part(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) c = '_';
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

std::vector<std::string> shard_file_names(const ClusterTopology& topology) {
  std::vector<std::string> names;
  size_t n = topology.primaries.size();
  for (size_t k = 0; k < n; ++k) {
    const ClusterPrimary& p = topology.primaries[k];
    if (!p.host.empty() && p.port > 0)
      names.push_back(fmt::format("shard-{}-{}-{}.rdb", k + 1, file_name_part(p.host), p.port));
    else if (!p.id.empty())
      names.push_back(fmt::format("shard-{}-{}.rdb", k + 1, file_name_part(p.id.substr(0, 12))));
    else
      names.push_back(fmt::format("shard-{}-of-{}.rdb", k + 1, n));
  }
  return names;
}

// "{P:F:Q}rest" (hashtagged) or "P:F:Q:rest", F one of the families, P and Q not empty.
void QueueTally::observe(std::string_view name, uint16_t slot, uint32_t file) {
  bool braced = !name.empty() && name[0] == '{';
  std::string_view body = name;
  if (braced) {
    size_t close = name.find('}', 1);
    if (close == std::string_view::npos) return;
    body = name.substr(1, close - 1);
  }
  size_t colon = body.find(':');
  if (colon == 0 || colon == std::string_view::npos) return;
  std::string_view after = body.substr(colon + 1);
  for (const std::string& f : families_) {
    if (after.size() <= f.size() + 1 || !starts_with(after, f) || after[f.size()] != ':') continue;
    std::string_view queue = after.substr(f.size() + 1);
    if (!braced) {
      size_t end = queue.find(':');
      if (end == std::string_view::npos) return;  // "P:F:Q" with no rest: not a queue key
      queue = queue.substr(0, end);
    }
    if (queue.empty()) return;
    count(body.substr(0, colon + 1 + f.size() + 1), queue, braced, slot, file);
    return;
  }
}

void QueueTally::observe_tagged(std::string_view head, std::string_view queue, uint16_t slot, uint32_t file) {
  count(head, queue, true, slot, file);
}

namespace {

// Whether n bytes at a and b are the same; short ones (names of queues) without a call.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return std::memcmp(a, b, n) == 0;
}

}  // namespace

void QueueTally::count(std::string_view head, std::string_view queue, bool braced, uint16_t slot, uint32_t file) {
  const size_t size = head.size() + queue.size();
  Entry*& cached = by_slot_[slot % by_slot_.size()];
  if (cached == nullptr || cached->first.size() != size || !same_bytes(cached->first.data(), head.data(), head.size()) ||
      !same_bytes(cached->first.data() + head.size(), queue.data(), queue.size())) {
    char small[256];
    std::string_view name;
    if (size <= sizeof small) {
      std::memcpy(small, head.data(), head.size());
      std::memcpy(small + head.size(), queue.data(), queue.size());
      name = {small, size};
    } else {
      name = joined_.assign(head).append(queue);
    }
    auto found = index_.find(name);
    if (found == index_.end()) {
      Entry& entry = *queues_.emplace(std::string(name), Queue{}).first;
      found = index_.emplace(entry.first, &entry).first;
    }
    cached = found->second;
  }
  Queue& q = cached->second;
  ++q.keys;
  q.hashtagged |= braced;
  // Nearly always the one slot and file the queue has: not looked up again.
  if (q.slots.size() != 1 || *q.slots.begin() != slot) q.slots.insert(slot);
  if (q.files.size() != 1 || *q.files.begin() != file) q.files.insert(file);
}

AppTally::AppTally(const std::vector<std::string>& prefixes, size_t files) : files_(files) {
  for (const std::string& p : prefixes)
    if (index_.emplace(p, static_cast<int>(prefixes_.size())).second) prefixes_.push_back(p);
  keys_.assign((prefixes_.size() + 1) * files_, 0);
}

void AppTally::observe_other(const RenamedKey& name, uint32_t file) {
  if (name.rule == RenameRule::kAlreadyPrefixed) {
    ++row(app_of_name(name.parts[0]))[file];
    return;
  }
  const char* piece = name.parts[0].data();
  uint64_t* counts = piece == other_piece_ ? other_row_ : row(app_of_piece(name.parts[0]));
  other_piece_ = last_piece_;
  other_row_ = last_row_;
  last_piece_ = piece;
  last_row_ = counts;
  ++counts[file];
}

// "P:..." or "{P:...": the application P, when it is one of the prefixes.
int AppTally::app_of_name(std::string_view name) const {
  if (!name.empty() && name[0] == '{') name.remove_prefix(1);
  size_t colon = name.find(':');
  if (colon == std::string_view::npos) return -1;
  auto it = index_.find(name.substr(0, colon));
  return it == index_.end() ? -1 : it->second;
}

SlotOwners::SlotOwners(const std::vector<uint16_t>& owner) {
  if (owner.size() != kClusterSlots) throw Error(Errc::kInternal, "SlotOwners: an owner per slot expected");
  std::fill(std::begin(starts_), std::end(starts_), uint16_t{kClusterSlots});
  unsigned starts = 0;
  run_owner_[0] = owner[0];
  for (size_t slot = 1; slot < owner.size(); ++slot) {
    if (owner[slot] == owner[slot - 1]) continue;
    if (starts == kRuns) {
      table_ = owner;
      return;
    }
    starts_[starts++] = static_cast<uint16_t>(slot);
    run_owner_[starts] = owner[slot];
  }
}

ShardedOutput::ShardedOutput(const ClusterTopology& topology, const std::vector<ByteSink*>& sinks,
                             std::vector<std::string> families, const std::vector<std::string>& prefixes)
    : owner_(topology.owner),
      keys_per_slot_(kClusterSlots, 0),
      queues_(std::move(families)),
      apps_(prefixes, sinks.size()) {
  if (sinks.size() != topology.primaries.size())
    throw Error(Errc::kInternal, "ShardedOutput: one sink per primary expected");
  for (ByteSink* sink : sinks) files_.push_back(std::make_unique<RdbFileOutput>(*sink));
  scratch_.reserve(256);
}

const PrefixSlots& ShardedOutput::prefix_slots(std::string_view prefix) {
  auto known = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const KnownPrefix& k) { return k.bytes == prefix; });
  if (known == prefixes_.end()) {
    prefixes_.push_back(KnownPrefix{std::string(prefix), std::make_unique<PrefixSlots>(prefix)});
    known = prefixes_.end() - 1;
  }
  return *known->slots;
}

void ShardedOutput::key_other(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name, Payload& value) {
  // Renamed keys ("P:" + key) take the prefix's part by the key's length and the key's CRC from
  // source_key() (and the next ones with this prefix take key()'s way), else are hashed on
  // their pieces; a queue's key "{P:F:" + Q + "}" + rest on its tag "P:F:" + Q (when Q holds no
  // '}'); the others are joined once, for the slot and for the queue tally alike.
  uint16_t slot;
  std::string_view whole;
  std::string_view tag[2];  // a queue's tag, when set
  if (name.rule == RenameRule::kPrefixed) {
    const PrefixSlots& by_length = prefix_slots(name.parts[0]);
    if (by_length.usable()) {
      fast_prefix_ = name.parts[0].data();
      fast_slots_ = &by_length;
    }
    if (by_length.covers(source_.size()) && renames_source_key(name))
      slot = by_length.slot(source_crc_, source_.size());
    else
      slot = key_hash_slot(std::span<const std::string_view>(name.parts, name.count));
  } else if (name.rule == RenameRule::kHashtag && !name.parts[1].empty() &&
             std::memchr(name.parts[1].data(), '}', name.parts[1].size()) == nullptr) {
    tag[0] = name.parts[0].substr(1);
    tag[1] = name.parts[1];
    slot = hash_slot_of_tag(tag);
  } else {
    whole = assembled(name);
    slot = key_hash_slot(whole);
  }
  source_ = {};
  const uint32_t file = owner_(slot);
  if (!tag[1].empty())
    queues_.observe_tagged(tag[0], tag[1], slot, file);
  else if (name.rule != RenameRule::kPrefixed)
    queues_.observe(whole, slot, file);
  count_slot(slot);
  apps_.observe(name, file);
  files_[file]->key(prefix, type, name, value);
}

void ShardedOutput::begin(RdbVersion version) {
  for (auto& f : files_) f->begin(version);
}

void ShardedOutput::aux(std::string_view field, std::string_view value) {
  for (auto& f : files_) f->aux(field, value);
}

void ShardedOutput::to_every_file(Payload& payload, void (RdbFileOutput::*write)(Payload&)) {
  MemorySink held;
  payload.copy_to(held);
  held.prepare();
  std::string_view bytes(reinterpret_cast<const char*>(held.data().data()), held.data().size());
  for (auto& f : files_) {
    Payload copy(bytes);
    ((*f).*write)(copy);
  }
}

void ShardedOutput::function(Payload& payload) { to_every_file(payload, &RdbFileOutput::function); }
void ShardedOutput::module_aux(Payload& payload) { to_every_file(payload, &RdbFileOutput::module_aux); }

void ShardedOutput::string_key(std::string_view name, std::string_view value) {
  uint16_t slot = key_hash_slot(name);
  uint32_t file = owner_(slot);
  count_slot(slot);
  string_keys_.push_back(Placement{std::string(name), slot, file});
  files_[file]->string_key(name, value);
}

void ShardedOutput::end() {
  for (auto& f : files_) f->end();
}

uint64_t ShardedOutput::keys_written() const {
  uint64_t n = 0;
  for (const auto& f : files_) n += f->keys_written();
  return n;
}

uint64_t ShardedOutput::bytes_written() const {
  uint64_t n = 0;
  for (const auto& f : files_) n += f->bytes_written();
  return n;
}

// Every file handed to the disk first, then each made durable: the disk writes their last
// bytes together.
void ShardedOutput::prepare() {
  for (auto& f : files_) f->deliver();
  for (auto& f : files_) f->prepare();
}

// All files or none: a failure after some were committed withdraws those again.
void ShardedOutput::commit() {
  committed_ = 0;
  try {
    for (auto& f : files_) {
      f->commit();
      ++committed_;
    }
  } catch (...) {
    uncommit();
    throw;
  }
}

void ShardedOutput::uncommit() noexcept {
  for (size_t i = 0; i < committed_; ++i) files_[i]->uncommit();
  committed_ = 0;
}

void ShardedOutput::cancel() noexcept {
  for (auto& f : files_) f->cancel();
}

}  // namespace rdbrekey
