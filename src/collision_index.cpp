#include "rdbrekey/collision_index.h"

#include <xxhash.h>

#include <algorithm>

namespace rdbrekey {

uint64_t CollisionIndex::hash(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

uint64_t CollisionIndex::second_hash(std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), 0x9e3779b97f4a7c15ULL) & kMaxOffset;
}

std::string_view CollisionIndex::assemble(const RenamedKey& key, std::string& scratch) {
  if (key.count == 1) return key.parts[0];
  scratch.clear();
  for (uint8_t i = 0; i < key.count; ++i) scratch += key.parts[i];
  return scratch;
}

void CollisionIndex::add(uint64_t hash, const KeyRef& ref) {
  push(Entry{hash, (uint64_t{ref.input} << 56) | (ref.db << 40) | ref.key_offset});
}

void CollisionIndex::add_unseekable(uint64_t hash, uint32_t input, uint64_t db, uint64_t second) {
  push(Entry{hash, (uint64_t{input} << 56) | (db << 40) | second});
}

void CollisionIndex::sort() {
  entries_.reserve(entries_.size() + count_);
  for (auto& block : blocks_) {
    entries_.insert(entries_.end(), block.begin(), block.end());
    std::vector<Entry>().swap(block);  // free each block as soon as it is moved
  }
  blocks_.clear();
  std::sort(entries_.begin(), entries_.end());
}

std::pair<const CollisionIndex::Entry*, const CollisionIndex::Entry*> CollisionIndex::find(uint64_t hash) const {
  auto lo = std::lower_bound(entries_.begin(), entries_.end(), hash,
                             [](const Entry& e, uint64_t h) { return e.hash < h; });
  auto hi = lo;
  while (hi != entries_.end() && hi->hash == hash) ++hi;
  return {entries_.data() + (lo - entries_.begin()), entries_.data() + (hi - entries_.begin())};
}

}  // namespace rdbrekey
