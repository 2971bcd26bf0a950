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
// Memory: the sinks' buffers, 16,384 counters, one entry per queue, and one function library
// or module AUX record at a time (held while it is copied to every file).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

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
  QueueTally(const QueueTally&) = delete;  // it holds an iterator into its own map
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

  std::vector<std::string> families_;
  std::map<std::string, Queue, std::less<>> queues_;
  std::string joined_;
  // The queue of the previous key, and where that key went (a queue's keys come in a row).
  std::map<std::string, Queue, std::less<>>::iterator last_ = queues_.end();
  uint16_t last_slot_ = 0;
  uint32_t last_file_ = 0;
};

// Keys per file of each application prefix, by the name as written.
class AppTally {
 public:
  AppTally(const std::vector<std::string>& prefixes, size_t files);
  void observe(const RenamedKey& name, uint32_t file) {
    int app = name.rule == RenameRule::kAlreadyPrefixed ? app_of_name(name.parts[0]) : app_of_piece(name.parts[0]);
    if (app >= 0) ++keys_[static_cast<size_t>(app) * files_ + file];
  }
  const std::vector<std::string>& prefixes() const { return prefixes_; }
  uint64_t keys(size_t app, size_t file) const { return keys_[app * files_ + file]; }

 private:
  // A renamed key's first piece is owned by its application's renamer ("P:", "{P:F:"): a few
  // pointers known so far say whose it is.
  int app_of_piece(std::string_view piece) {
    if (piece.data() != last_piece_) {  // keys come database by database: mostly the last one
      last_app_ = app_of_new_piece(piece);
      last_piece_ = piece.data();
    }
    return last_app_;
  }
  int app_of_new_piece(std::string_view piece) {
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
  std::vector<uint64_t> keys_;
  std::vector<std::pair<const char*, int>> pieces_;
  const char* last_piece_ = nullptr;
  int last_app_ = -1;
};

// Which file owns a slot. A topology is a few runs of consecutive slots (one per primary after
// `--cluster create`, a few more after resharding): up to 16 runs, the owner is found by
// counting the run starts at or below the slot, comparisons that do not wait on each other, in
// one cache line that stays hot. More runs use a table of 16,384 entries (which the data
// streaming through the cache evicts between keys).
class SlotOwners {
 public:
  explicit SlotOwners(const std::vector<uint16_t>& owner);
  [[gnu::always_inline]] uint32_t operator()(uint16_t slot) const {
    if (!table_.empty()) return table_[slot];
    unsigned run = 0;
    for (unsigned i = 0; i < starts_count_; ++i) run += starts_[i] <= slot;
    return run_owner_[run];
  }

 private:
  static constexpr unsigned kRuns = 16;
  // starts_[i]: first slot of run i + 1.
  alignas(64) uint16_t starts_[kRuns - 1]{};
  unsigned starts_count_ = 0;
  uint16_t run_owner_[kRuns]{};
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
  [[gnu::always_inline]] void key(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name,
                                  Payload& value) override {
    // Renamed keys ("P:" + key, most of them) are hashed on their pieces; a queue's key
    // "{P:F:" + Q + "}" + rest on its tag "P:F:" + Q (when Q holds no '}'); the others are
    // joined once, for the slot and for the queue tally alike.
    uint16_t slot;
    std::string_view whole;
    std::string_view tag[2];  // a queue's tag, when set
    if (name.rule == RenameRule::kPrefixed) {
      slot = key_hash_slot(std::span<const std::string_view>(name.parts, name.count));
    } else if (name.rule == RenameRule::kHashtag && !name.parts[1].empty() &&
               __builtin_memchr(name.parts[1].data(), '}', name.parts[1].size()) == nullptr) {
      tag[0] = name.parts[0].substr(1);
      tag[1] = name.parts[1];
      slot = hash_slot_of_tag(tag);
    } else {
      whole = assembled(name);
      slot = key_hash_slot(whole);
    }
    uint32_t file = owner_(slot);
    // The counters (128 KiB) are not in the cache when a key comes: fetched now, counted after.
    uint64_t* count = &keys_per_slot_[slot];
    __builtin_prefetch(count, 1);
    if (!tag[1].empty())
      queues_.observe_tagged(tag[0], tag[1], slot, file);
    else if (name.rule != RenameRule::kPrefixed)
      queues_.observe(whole, slot, file);
    apps_.observe(name, file);
    files_[file]->key(prefix, type, name, value);
    ++*count;
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
  const std::vector<uint64_t>& keys_per_slot() const { return keys_per_slot_; }
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
  // Copies a record that every file holds.
  void to_every_file(Payload& payload, void (RdbFileOutput::*write)(Payload&));

  std::vector<std::unique_ptr<RdbFileOutput>> files_;
  SlotOwners owner_;
  std::vector<uint64_t> keys_per_slot_;
  QueueTally queues_;
  AppTally apps_;
  std::vector<Placement> string_keys_;
  std::string scratch_;
  size_t committed_ = 0;
};

}  // namespace rdbrekey
