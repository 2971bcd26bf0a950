#include "rdbrekey/collision_index.h"

#include <sys/mman.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <system_error>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "rdbrekey/error.h"

namespace rdbrekey {

uint64_t CollisionIndex::hash(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

uint64_t CollisionIndex::second_hash(std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), 0x9e3779b97f4a7c15ULL) & kMaxOffset;
}

template <class T>
T* CollisionIndex::MappedAllocator<T>::allocate(size_t n) {
  void* p = ::mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<T*>(p);
}

template <class T>
void CollisionIndex::MappedAllocator<T>::deallocate(T* p, size_t n) noexcept {
  ::munmap(p, n * sizeof(T));
}

template struct CollisionIndex::MappedAllocator<CollisionIndex::Entry>;

uint64_t CollisionIndex::dense_db(uint64_t db) {
  if (db == last_db_) return last_dense_;
  auto it = dense_.find(db);
  if (it == dense_.end()) {
    if (dbs_.size() == kMaxDbs)
      throw Error(Errc::kBeyondLimits,
                  fmt::format("database {}: the collision check handles at most {} distinct databases", db, kMaxDbs));
    it = dense_.emplace(db, dbs_.size()).first;
    dbs_.push_back(db);
  }
  last_db_ = db;
  last_dense_ = it->second;
  return last_dense_;
}

void CollisionIndex::add(uint64_t hash, const KeyRef& ref) {
  if (ref.input > kMaxInputs) throw Error(Errc::kTooMany, fmt::format("at most {} inputs", kMaxInputs));
  if (ref.key_offset > kMaxOffset)
    throw Error(Errc::kBeyondLimits, "the collision check handles inputs up to 1 TiB");
  push(Entry{hash, (uint64_t{ref.input} << 56) | (dense_db(ref.db) << 40) | ref.key_offset});
}

void CollisionIndex::add_unseekable(uint64_t hash, uint64_t second, uint32_t input, uint64_t db) {
  if (input > kMaxInputs) throw Error(Errc::kTooMany, fmt::format("at most {} inputs", kMaxInputs));
  unseekable_[input] = true;
  push(Entry{hash, (uint64_t{input} << 56) | (dense_db(db) << 40) | (second & kMaxOffset)});
}

KeyRef CollisionIndex::ref(const Entry& e) const {
  KeyRef r;
  r.input = static_cast<uint32_t>(e.packed >> 56);
  r.db = dbs_[(e.packed >> 40) & 0xffff];
  r.seekable = !unseekable_[r.input];
  r.key_offset = r.seekable ? (e.packed & kMaxOffset) : 0;
  return r;
}

void CollisionIndex::sort(unsigned threads) {
  if (pending_ == 0) return;  // sorted already
  const bool merge = !entries_.empty();  // entries added after an earlier sort (not done today)
  // Gathered bucket after bucket (in hash order), each block freed as soon as it is moved.
  std::vector<size_t> starts;
  starts.reserve(kBuckets + 1);
  entries_.reserve(entries_.size() + pending_);
  if (!merge) {
    // One large array, written once: with huge pages where the system allows them for the
    // asking (transparent_hugepage=madvise), a 2 MiB fault instead of 512 small ones.
    auto begin = reinterpret_cast<uintptr_t>(entries_.data()), end = begin + entries_.capacity() * sizeof(Entry);
    uintptr_t aligned = (begin + (2u << 20) - 1) & ~uintptr_t{(2u << 20) - 1};
    if (end > aligned + (2u << 20)) ::madvise(reinterpret_cast<void*>(aligned), (end - aligned) & ~uintptr_t{(2u << 20) - 1}, MADV_HUGEPAGE);
  }
  for (Bucket& b : buckets_) {
    starts.push_back(entries_.size());
    for (auto& block : b.blocks) {
      entries_.insert(entries_.end(), block.begin(), block.end());
      Block().swap(block);
    }
    b = Bucket{};
  }
  starts.push_back(entries_.size());
  pending_ = 0;
  if (merge) {
    std::sort(entries_.begin(), entries_.end());
    return;
  }
  // Each bucket sorted alone (the buckets are already in order by their hashes' top bits), by
  // this thread and up to threads - 1 others, each taking the next bucket not yet taken.
  std::atomic<size_t> next{0};
  auto sort_buckets = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < kBuckets;)
      std::sort(entries_.begin() + static_cast<std::ptrdiff_t>(starts[i]),
                entries_.begin() + static_cast<std::ptrdiff_t>(starts[i + 1]));
  };
  std::vector<std::thread> helpers;
  if (entries_.size() >= (size_t{1} << 16)) {
    try {
      for (unsigned t = 1; t < std::min(threads, 64u); ++t) helpers.emplace_back(sort_buckets);
    } catch (const std::system_error&) {
      // No more threads to be had: the ones there are (this one at least) do all the buckets.
    }
  }
  sort_buckets();
  for (auto& h : helpers) h.join();
}

std::pair<const CollisionIndex::Entry*, const CollisionIndex::Entry*> CollisionIndex::find(uint64_t hash) const {
  auto lo = std::lower_bound(entries_.begin(), entries_.end(), hash,
                             [](const Entry& e, uint64_t h) { return e.hash < h; });
  auto hi = lo;
  while (hi != entries_.end() && hi->hash == hash) ++hi;
  return {entries_.data() + (lo - entries_.begin()), entries_.data() + (hi - entries_.begin())};
}

namespace {

// One entry of a run of equal hashes, with what it is compared by.
struct Candidate {
  uint64_t second;   // second hash: stored (unseekable) or computed from the name
  std::string name;  // seekable keys only
  KeyRef ref;
};

bool in_input_order(const KeyRef& a, const KeyRef& b) {
  return std::tie(a.input, a.key_offset) < std::tie(b.input, b.key_offset);
}

}  // namespace

void CollisionIndex::for_each_shared_name(const NameOf& name_of, const Visit& visit, unsigned threads) {
  sort(threads);
  std::vector<Candidate> run;
  std::vector<KeyRef> keys;
  for (size_t i = 0; i < entries_.size();) {
    size_t j = i + 1;
    while (j < entries_.size() && entries_[j].hash == entries_[i].hash) ++j;
    if (j - i > 1) {
      run.clear();
      for (size_t k = i; k < j; ++k) {
        KeyRef r = ref(entries_[k]);
        if (r.seekable) {
          std::string name = name_of(r);
          uint64_t second = second_hash(name);
          run.push_back(Candidate{second, std::move(name), r});
        } else {
          run.push_back(Candidate{second_of(entries_[k]), {}, r});
        }
      }
      std::sort(run.begin(), run.end(), [](const Candidate& a, const Candidate& b) {
        return std::tie(a.second, a.name) < std::tie(b.second, b.name);
      });
      // Equal second hashes: one name (104 bits) where an unseekable key is among them; among
      // seekable keys only, the names themselves decide.
      for (size_t a = 0; a < run.size();) {
        size_t b = a + 1;
        while (b < run.size() && run[b].second == run[a].second) ++b;
        bool all_seekable = true;
        for (size_t k = a; k < b; ++k) all_seekable &= run[k].ref.seekable;
        for (size_t s = a; s < b;) {
          size_t e = all_seekable ? s + 1 : b;
          while (e < b && run[e].name == run[s].name) ++e;
          if (e - s > 1) {
            keys.clear();
            std::string name;
            for (size_t k = s; k < e; ++k) {
              keys.push_back(run[k].ref);
              if (name.empty() && run[k].ref.seekable) name = run[k].name;
            }
            std::sort(keys.begin(), keys.end(), in_input_order);
            visit(name, keys);
          }
          s = e;
        }
        a = b;
      }
    }
    i = j;
  }
}

}  // namespace rdbrekey
