// A compact index of key names (16 bytes a key) for finding names that two keys share.
//
// An entry is a 64-bit hash of the name and where the key is: its input, its database and the
// byte offset of its key string, from which the name can be read again to confirm a candidate,
// so that nothing is reported falsely. For an input that cannot be read again (a pipe), a
// second, independent 40-bit hash of the name takes the offset's place: such a key is compared
// with the others by both hashes (104 bits), whichever input the others come from.
//
//   packed = input:8 | database (dense id):16 | offset or second hash:40
//
// Databases get dense ids in the order they are first seen, so any database number works (up
// to 65,536 distinct databases in one index).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rdbrekey {

// Where a key is: input index, database, byte offset of its key string.
struct KeyRef {
  uint32_t input = 0;
  uint64_t db = 0;
  uint64_t key_offset = 0;
  bool seekable = true;  // false: an input read once (a pipe); key_offset is then unknown (0)
  // One number per key of a conversion (input and offset; the offset implies the database).
  uint64_t id() const { return (uint64_t{input} << 40) | key_offset; }
  friend bool operator==(const KeyRef&, const KeyRef&) = default;
};

class CollisionIndex {
 public:
  static constexpr uint64_t kMaxOffset = (uint64_t{1} << 40) - 1;
  static constexpr uint32_t kMaxInputs = 0xff;
  static constexpr size_t kMaxDbs = 1 << 16;

  static uint64_t hash(std::string_view name);
  static uint64_t second_hash(std::string_view name);  // 40 bits, independent of hash()

  // A key whose name can be read again at ref.key_offset (< 1 TiB). Throws Error(kUnsupported)
  // past kMaxDbs distinct databases or past kMaxInputs.
  void add(uint64_t hash, const KeyRef& ref);
  // A key of an input that is read once: its name's second hash replaces the offset.
  void add_unseekable(uint64_t hash, uint64_t second_hash, uint32_t input, uint64_t db);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  struct Entry {
    uint64_t hash;
    uint64_t packed;
    bool operator<(const Entry& o) const { return hash < o.hash || (hash == o.hash && packed < o.packed); }
  };
  // Gathers the entries into one array of exactly size() entries and sorts it, `threads` buckets
  // at a time: memory stays at 16 bytes per entry plus the last block of each bucket while adding
  // (no doubling of a growing vector).
  void sort(unsigned threads = 1);
  // After sort(): the entries whose hash is `hash`.
  std::pair<const Entry*, const Entry*> find(uint64_t hash) const;
  KeyRef ref(const Entry& e) const;
  // For unseekable entries: the second hash.
  static uint64_t second_of(const Entry& e) { return e.packed & kMaxOffset; }

  // Sorts, then calls visit(name, keys) for every name that two or more entries share, keys
  // in input order (input, then offset). `name_of(ref)` reads a seekable key's name again;
  // `name` is empty when only unseekable keys have it.
  using NameOf = std::function<std::string(const KeyRef&)>;
  using Visit = std::function<void(const std::string& name, std::vector<KeyRef>& keys)>;
  void for_each_shared_name(const NameOf& name_of, const Visit& visit, unsigned threads = 1);

 private:
  // While adding, entries go to one of kBuckets buckets by the top bits of their hash, so that
  // sort() gathers them bucket after bucket and sorts each bucket alone (cache-sized pieces, on
  // several threads) instead of the whole array at once. A bucket grows in blocks, each as large
  // as the bucket already is, from kFirstBlock up to kBlock entries: at most one partly filled
  // block per bucket (kBuckets * kBlock * 16 bytes = 16 MiB at worst).
  static constexpr int kBucketBits = 8;
  static constexpr size_t kBuckets = size_t{1} << kBucketBits;
  static constexpr size_t kFirstBlock = 256;
  static constexpr size_t kBlock = 4096;
  // Blocks come straight from mmap and go straight back with munmap: gathering them into one
  // array frees each as it is moved, so that the index never holds its entries twice (freed
  // to malloc, small blocks would stay in the process).
  template <class T>
  struct MappedAllocator {
    using value_type = T;
    MappedAllocator() = default;
    template <class U>
    MappedAllocator(const MappedAllocator<U>&) {}
    T* allocate(size_t n);
    void deallocate(T* p, size_t n) noexcept;
    friend bool operator==(const MappedAllocator&, const MappedAllocator&) { return true; }
  };
  using Block = std::vector<Entry, MappedAllocator<Entry>>;
  struct Bucket {
    std::vector<Block> blocks;
    size_t count = 0;
  };
  uint64_t dense_db(uint64_t db);
  void push(const Entry& e) {
    Bucket& b = buckets_[e.hash >> (64 - kBucketBits)];
    if (b.blocks.empty() || b.blocks.back().size() == b.blocks.back().capacity()) {
      b.blocks.emplace_back();
      b.blocks.back().reserve(std::clamp(b.count, kFirstBlock, kBlock));
    }
    b.blocks.back().push_back(e);
    ++b.count;
    ++count_;
    ++pending_;
  }
  std::vector<Bucket> buckets_ = std::vector<Bucket>(kBuckets);
  size_t pending_ = 0;  // entries in buckets_, not yet in entries_
  std::vector<Entry> entries_;  // after sort()
  size_t count_ = 0;
  std::vector<uint64_t> dbs_;             // dense id -> database
  std::map<uint64_t, uint64_t> dense_;    // database -> dense id
  uint64_t last_db_ = ~uint64_t{0}, last_dense_ = 0;
  std::vector<bool> unseekable_ = std::vector<bool>(kMaxInputs + 1);
};

}  // namespace rdbrekey
