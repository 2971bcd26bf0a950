// Finding keys that renaming makes equal (a server refuses an RDB with a duplicate key).
//
// Renaming is injective within one database of one application, except against keys that are
// already under the prefix (rule 1): "x" -> "P:x" meets a kept "P:x", "bull:q:r" ->
// "{P:bull:q}:r" meets a kept "{P:bull:q}:r". Different prefixes never meet ("P:" / "{P:" with
// no ':' or '{' in P). So:
//  - with one input, one database per application and no --unmapped keep, only the keys that
//    are already prefixed are remembered (16 bytes each; nothing at all when there are none),
//    and a database that has some is read a second time to look for their partners;
//  - otherwise (several inputs, several databases per application, --unmapped keep, an input
//    that is not a regular file) every output key is remembered: 16 bytes per key.
// Every candidate found by hash is confirmed by comparing the names themselves (read again
// from the input), so no collision is reported falsely; for inputs that cannot be read again
// (pipes), a second 40-bit hash stands in for the comparison.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rdbrekey/key_rules.h"

namespace rdbrekey {

// Where a key is: input index, database, byte offset of its key string.
struct KeyRef {
  uint32_t input = 0;
  uint64_t db = 0;
  uint64_t key_offset = 0;
};

class CollisionIndex {
 public:
  static constexpr uint64_t kMaxDb = 0xffff;
  static constexpr uint64_t kMaxOffset = (uint64_t{1} << 40) - 1;
  static constexpr uint32_t kMaxInputs = 0xff;

  static uint64_t hash(std::string_view name);
  static uint64_t second_hash(std::string_view name);  // 40 bits, for inputs not read again
  // Assembles `key` into `scratch` and returns it.
  static std::string_view assemble(const RenamedKey& key, std::string& scratch);

  void add(uint64_t hash, const KeyRef& ref);
  // For entries of inputs that cannot be read again: the second hash replaces the offset.
  void add_unseekable(uint64_t hash, uint32_t input, uint64_t db, uint64_t second);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Sorts; then calls f(first, last) for each run of two or more entries with equal hashes.
  struct Entry {
    uint64_t hash;
    uint64_t packed;  // input:8 | db:16 | offset or second hash:40
    KeyRef ref() const { return KeyRef{static_cast<uint32_t>(packed >> 56), (packed >> 40) & kMaxDb, packed & kMaxOffset}; }
    bool operator<(const Entry& o) const { return hash < o.hash || (hash == o.hash && packed < o.packed); }
  };
  // Gathers the entries into one array of exactly size() entries and sorts it: memory stays at
  // 16 bytes per entry plus one block (no doubling of a growing vector).
  void sort();
  const std::vector<Entry>& entries() const { return entries_; }
  // Entries whose hash equals `hash` (after sort()).
  std::pair<const Entry*, const Entry*> find(uint64_t hash) const;

 private:
  static constexpr size_t kBlock = 1 << 16;  // entries per block while adding (1 MiB)
  void push(const Entry& e) {
    if (blocks_.empty() || blocks_.back().size() == kBlock) {
      blocks_.emplace_back();
      blocks_.back().reserve(kBlock);
    }
    blocks_.back().push_back(e);
    ++count_;
  }
  std::vector<std::vector<Entry>> blocks_;
  std::vector<Entry> entries_;  // after sort()
  size_t count_ = 0;
};

}  // namespace rdbrekey
