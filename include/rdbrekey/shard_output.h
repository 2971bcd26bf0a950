// One RDB file per cluster primary (an Output, output.h).
//
// A cluster node loads only its own dump.rdb, in db 0, and treats keys of slots it does not own
// as foreign (Valkey 8 deletes them at start-up). So every key goes to the file of the primary
// that owns its hash slot (hash_slot.h), computed on the new name byte for byte as written; the
// start-up guards are routed the same way. Function libraries, module AUX records and AUX
// fields go to every file. Each file is a complete RDB (RdbFileOutput) with its own RESIZEDB
// counts; the files are committed all together or not at all.
//
// While routing it counts what the manifest reports: keys per slot, keys and keys with a TTL
// and the CRC-64 per file, each application's keys per file (by the prefix of the name as
// written: "P:..." or "{P:..."), where each guard went, and for every Bull-style queue (a
// hashtag family's keys, "{P:F:Q}..." or an unbraced "P:F:Q:...") the slots and files its keys
// went to.
//
// Memory: the sinks' buffers, 16,384 counters, one entry per queue, a table of 512 slot parts
// (1 KiB) per application prefix, and one function library or module AUX record at a time
// (held while it is copied to every file).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "rdbrekey/cluster_topology.h"
#include "rdbrekey/hash_slot.h"
#include "rdbrekey/output.h"
#include "rdbrekey/rdb_output.h"

namespace rdbrekey {

// The file name for each primary of a topology, in its order: "shard-2-10.0.0.7-6379.rdb" (k from
// 1, the address when known), "shard-2-<id prefix>.rdb" (only an id), "shard-2-of-3.rdb" (a
// topology of N primaries).
std::vector<std::string> shard_file_names(const ClusterTopology& topology);

// Queues of a hashtag family ("bull"): where their keys went.
class QueueTally {
 public:
  explicit QueueTally(std::vector<std::string> families) : families_(std::move(families)) {}
  QueueTally(const QueueTally&) = delete;  // it holds pointers into its own map
  QueueTally& operator=(const QueueTally&) = delete;

  struct Queue {
    uint64_t keys = 0;
    bool hashtagged = false;    // its keys carry the hashtag {P:F:Q}
    std::set<uint16_t> slots;   // where its keys went (one, unless keys are outside the hashtag)
    std::set<uint32_t> files;
  };
  // A key named `name` (as written) went to `slot` in file `file`; counted when it belongs to a
  // queue (by the name's shape).
  void observe(std::string_view name, uint16_t slot, uint32_t file);
  // The same for a key of a hashtagged queue already known: its group is `head` + `queue`
  // ("P:F:" + Q).
  void observe_tagged(std::string_view head, std::string_view queue, uint16_t slot, uint32_t file);
  // By queue name "P:F:Q".
  const std::map<std::string, Queue, std::less<>>& queues() const { return queues_; }

 private:
  // Counts a key of the queue named `head` + `queue` ("P:F:" + Q).
  void count(std::string_view head, std::string_view queue, bool braced, uint16_t slot, uint32_t file);

  using Entry = std::pair<const std::string, Queue>;
  std::vector<std::string> families_;
  std::map<std::string, Queue, std::less<>> queues_;
  // The same queues by name, found by hashing (a dump lists keys in its server's hash order:
  // the keys of many queues come mixed); the names are the map's own keys.
  std::unordered_map<std::string_view, Entry*> index_;
  // Before that, the queue last seen in a slot like this key's (a queue's tagged keys share
  // its slot): found again without hashing its name.
  std::array<Entry*, 256> by_slot_{};
  std::string joined_;
};

// Keys per file of each application prefix, by the name as written.
class AppTally {
 public:
  AppTally(const std::vector<std::string>& prefixes, size_t files);
  // Keys come database by database: a renamed key's first piece is most often the very piece
  // (the renamer's "P:" or "{P:F:") of the key before, whose row of counters is at hand.
  [[gnu::always_inline]] void observe(const RenamedKey& name, uint32_t file) {
    if (name.rule != RenameRule::kAlreadyPrefixed && name.parts[0].data() == last_piece_) [[likely]] {
      ++last_row_[file];
      return;
    }
    observe_other(name, file);
  }
  const std::vector<std::string>& prefixes() const { return prefixes_; }
  uint64_t keys(size_t app, size_t file) const { return keys_[app * files_ + file]; }

 private:
  void observe_other(const RenamedKey& name, uint32_t file);
  // The row of counters of an application (-1: none, a row that is never read).
  uint64_t* row(int app) {
    return keys_.data() + (app >= 0 ? static_cast<size_t>(app) : prefixes_.size()) * files_;
  }
  // A first piece seen before says whose it is; a new one is looked up by name.
  int app_of_piece(std::string_view piece) {
    for (const auto& [data, app] : pieces_)
      if (data == piece.data()) return app;
    int app = app_of_name(piece);
    if (pieces_.size() < 64) pieces_.emplace_back(piece.data(), app);
    return app;
  }
  int app_of_name(std::string_view name) const;

  std::vector<std::string> prefixes_;
  std::map<std::string, int, std::less<>> index_;
  size_t files_;
  std::vector<uint64_t> keys_;  // a row of files_ counters per application, and one for none
  std::vector<std::pair<const char*, int>> pieces_;
  const char* last_piece_ = nullptr;
  uint64_t* last_row_ = nullptr;
  // The piece before the last one (a queue's keys come among the others of their database).
  const char* other_piece_ = nullptr;
  uint64_t* other_row_ = nullptr;
};

// Which file owns a slot. A topology is a few runs of consecutive slots (one per primary after
// `--cluster create`, a few more after resharding): up to 17 runs, the owner is found from the
// 16 run starts compared with the slot at once (two vector compares, in one cache line that
// stays hot). More runs use a table of 16,384 entries (which the data streaming through the
// cache evicts between keys).
class SlotOwners {
 public:
  explicit SlotOwners(const std::vector<uint16_t>& owner);
  [[gnu::always_inline]] uint32_t operator()(uint16_t slot) const {
    if (!table_.empty()) return table_[slot];
#if defined(__SSE2__)
    // The starts are ascending: those past the slot are the last ones, and the first of them
    // is the run's number (16-bit signed compares: slots and starts are at most 16384).
    const __m128i at = _mm_set1_epi16(static_cast<int16_t>(slot));
    const __m128i low = _mm_load_si128(reinterpret_cast<const __m128i*>(starts_));
    const __m128i high = _mm_load_si128(reinterpret_cast<const __m128i*>(starts_ + 8));
    const auto past = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_packs_epi16(_mm_cmpgt_epi16(low, at), _mm_cmpgt_epi16(high, at))));
    const unsigned run = static_cast<unsigned>(__builtin_ctz(past | 0x10000u));
#else
    unsigned run = 0;
    for (unsigned i = 0; i < kRuns; ++i) run += starts_[i] <= slot;
#endif
    return run_owner_[run];
  }

 private:
  static constexpr unsigned kRuns = 16;
  // starts_[i]: first slot of run i + 1; the starts not used are past every slot.
  alignas(16) uint16_t starts_[kRuns];
  uint16_t run_owner_[kRuns + 1]{};
  std::vector<uint16_t> table_;
};

class ShardedOutput final : public Output {
 public:
  // sinks[i] receives the file of topology.primaries[i]. `families`: the hashtag families whose
  // queues are tallied; `prefixes`: the applications whose keys are counted per file.
  ShardedOutput(const ClusterTopology& topology, const std::vector<ByteSink*>& sinks,
                std::vector<std::string> families, const std::vector<std::string>& prefixes = {});

  void begin(RdbVersion version) override;
  void aux(std::string_view field, std::string_view value) override;
  void function(Payload& payload) override;
  void module_aux(Payload& payload) override;
  // The source key of the record whose key() comes next, before the rules name it. Its CRC16
  // is computed now, from the key alone: the prefix's part of a renamed name's CRC comes from a
  // table by the key's length (PrefixSlots), so the prefix is not hashed again for every key.
  [[gnu::always_inline]] void source_key(std::string_view key) {
    source_ = key;
    source_crc_ = crc16_unless_brace(key);
  }
  // Most keys are renamed "P:" + key, P the prefix of the key before: the slot is the key's CRC
  // (source_key) and the prefix's part for its length. Every other name takes key_other(). (P is
  // known by its address, as AppTally knows it: the renamers outlive the output.)
  [[gnu::always_inline]] void key(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name,
                                  Payload& value) override {
    if (name.rule != RenameRule::kPrefixed || name.parts[0].data() != fast_prefix_ || !renames_source_key(name) ||
        source_.size() >= PrefixSlots::kLengths) [[unlikely]] {
      key_other(prefix, type, name, value);
      return;
    }
    const uint16_t slot = fast_slots_->slot(source_crc_, source_.size());
    source_ = {};  // good for the one key() after source_key()
    const uint32_t file = owner_(slot);
    count_slot(slot);
    apps_.observe(name, file);
    files_[file]->key(prefix, type, name, value);
  }
  void string_key(std::string_view name, std::string_view value) override;
  void end() override;

  bool discardable() const override { return true; }
  uint64_t keys_written() const override;
  uint64_t bytes_written() const override;
  void prepare() override;
  void commit() override;
  void uncommit() noexcept override;
  void cancel() noexcept override;

  size_t files() const { return files_.size(); }
  const RdbFileOutput& file(size_t i) const { return *files_[i]; }
  // Keys written to each slot (16,384 entries).
  const std::vector<uint64_t>& keys_per_slot() const {
    count_pending_slots();
    return keys_per_slot_;
  }
  const QueueTally& queues() const { return queues_; }
  const AppTally& apps() const { return apps_; }
  // The keys made by the tool (start-up guards): where each went.
  struct Placement {
    std::string key;
    uint16_t slot = 0;
    uint32_t file = 0;
  };
  const std::vector<Placement>& placed_string_keys() const { return string_keys_; }

 private:
  std::string_view assembled(const RenamedKey& name) {
    if (name.count == 1) return name.parts[0];
    scratch_.clear();
    for (uint8_t i = 0; i < name.count; ++i) scratch_.append(name.parts[i]);
    return scratch_;
  }
  // Whether `name` is a prefix and the key given to source_key(), whose CRC is known (no '{').
  bool renames_source_key(const RenamedKey& name) const {
    return name.count == 2 && name.parts[1].data() == source_.data() && name.parts[1].size() == source_.size() &&
           source_crc_ != kHasOpenBrace;
  }
  // Any key but those key() routes itself: its slot from its name (as pieces, its hash tag, or
  // joined), counted for its queue.
  [[gnu::noinline]] void key_other(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name, Payload& value);
  // The slots of names under `prefix` (a renamer's "P:", the same bytes for a whole database),
  // made once; key() then takes them for as long as the names come with those bytes.
  const PrefixSlots& prefix_slots(std::string_view prefix);
  // Keys are counted per slot a batch at a time: the 16,384 counters are out of the cache
  // while the conversion streams through it, and a batch's increments overlap.
  [[gnu::always_inline]] void count_slot(uint16_t slot) {
    pending_slots_[pending_++] = slot;
    if (pending_ == kPendingSlots) [[unlikely]]
      count_pending_slots();
  }
  void count_pending_slots() const {
    for (unsigned i = 0; i < pending_; ++i) ++keys_per_slot_[pending_slots_[i]];
    pending_ = 0;
  }
  // Copies a record that every file holds.
  void to_every_file(Payload& payload, void (RdbFileOutput::*write)(Payload&));

  std::vector<std::unique_ptr<RdbFileOutput>> files_;
  SlotOwners owner_;
  mutable std::vector<uint64_t> keys_per_slot_;
  static constexpr unsigned kPendingSlots = 4096;
  mutable uint16_t pending_slots_[kPendingSlots];
  mutable unsigned pending_ = 0;
  QueueTally queues_;
  AppTally apps_;
  std::vector<Placement> string_keys_;
  std::string scratch_;
  size_t committed_ = 0;
  std::string_view source_;
  uint32_t source_crc_ = kHasOpenBrace;
  struct KnownPrefix {
    std::string bytes;
    std::unique_ptr<PrefixSlots> slots;
  };
  std::vector<KnownPrefix> prefixes_;
  const char* fast_prefix_ = nullptr;  // key()'s prefix (its bytes, where the renamer keeps them)
  const PrefixSlots* fast_slots_ = nullptr;
};

}  // namespace rdbrekey
