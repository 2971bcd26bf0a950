#include "rdbrekey/collision_index.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

struct Found {
  std::string name;
  std::vector<KeyRef> keys;
};

// An index over names held in a table (offset = position in it).
struct Table {
  std::vector<std::string> names;
  CollisionIndex index;
  void add(uint32_t input, uint64_t db, const std::string& name) {
    names.push_back(name);
    index.add(CollisionIndex::hash(name), KeyRef{input, db, names.size() - 1, true});
  }
  void add_pipe(uint32_t input, uint64_t db, const std::string& name) {
    index.add_unseekable(CollisionIndex::hash(name), CollisionIndex::second_hash(name), input, db);
  }
  std::vector<Found> shared(unsigned threads = 1) {
    std::vector<Found> out;
    index.for_each_shared_name([&](const KeyRef& r) { return names.at(r.key_offset); },
                               [&](const std::string& n, std::vector<KeyRef>& k) { out.push_back({n, k}); }, threads);
    return out;
  }
};

TEST(CollisionIndex, GroupsEqualNamesInInputOrder) {
  Table t;
  t.add(1, 0, "condo:x");
  t.add(0, 5, "condo:x");
  t.add(0, 0, "condo:y");
  t.add(2, 70000, "condo:x");
  t.add(0, 0, "condo:z");
  std::vector<Found> f = t.shared();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].name, "condo:x");
  ASSERT_EQ(f[0].keys.size(), 3u);
  EXPECT_EQ(f[0].keys[0].input, 0u);
  EXPECT_EQ(f[0].keys[0].db, 5u);
  EXPECT_EQ(f[0].keys[1].input, 1u);
  EXPECT_EQ(f[0].keys[2].db, 70000u);  // database numbers beyond 16 bits
}

TEST(CollisionIndex, PipesCompareByTwoHashesWithEveryInput) {
  Table t;
  t.add(0, 0, "condo:x");
  t.add_pipe(1, 0, "condo:x");
  t.add_pipe(1, 0, "condo:only-pipe");
  t.add_pipe(2, 3, "condo:only-pipe");
  t.add(0, 0, "condo:other");
  std::vector<Found> f = t.shared();
  ASSERT_EQ(f.size(), 2u);
  for (const Found& g : f) {
    ASSERT_EQ(g.keys.size(), 2u);
    if (g.name.empty()) {  // only pipes hold it: the name is not known
      EXPECT_FALSE(g.keys[0].seekable);
      EXPECT_FALSE(g.keys[1].seekable);
    } else {
      EXPECT_EQ(g.name, "condo:x");
      EXPECT_TRUE(g.keys[0].seekable);
      EXPECT_FALSE(g.keys[1].seekable);
    }
  }
}

// Equal 64-bit hashes with different names are not reported (the names decide).
TEST(CollisionIndex, EqualHashesDifferentNames) {
  std::vector<std::string> names = {"a", "b", "c"};
  CollisionIndex index;
  for (uint64_t i = 0; i < names.size(); ++i) index.add(42, KeyRef{0, 0, i, true});
  int groups = 0;
  index.for_each_shared_name([&](const KeyRef& r) { return names[r.key_offset]; },
                             [&](const std::string&, std::vector<KeyRef>&) { ++groups; });
  EXPECT_EQ(groups, 0);
}

// Enough names for the sort to go bucket by bucket on several threads: the same groups, in the
// same order, whatever the number of threads, and find() sees every entry.
TEST(CollisionIndex, ParallelSortFindsTheSameGroups) {
  std::vector<std::vector<Found>> results;
  for (unsigned threads : {1u, 2u, 5u}) {
    Table t;
    for (int i = 0; i < 200000; ++i) {
      t.add(0, static_cast<uint64_t>(i % 3), "k:" + std::to_string(i));
      if (i % 997 == 0) t.add(1, 0, "k:" + std::to_string(i));      // shared with input 0
      if (i % 4999 == 0) t.add_pipe(2, 0, "k:" + std::to_string(i));  // and with a pipe
    }
    ASSERT_EQ(t.index.size(), t.names.size() + 41);
    results.push_back(t.shared(threads));
    ASSERT_EQ(results.back().size(), 201u + 41u - 1u);  // 0 is in both
    for (const Found& f : results.back()) {
      int i = std::stoi(f.name.substr(2));
      EXPECT_EQ(f.keys.size(), 1u + (i % 997 == 0) + (i % 4999 == 0)) << f.name;
      EXPECT_EQ(f.keys[0].input, 0u);
      EXPECT_EQ(f.keys.back().input, i % 4999 == 0 ? 2u : 1u);
    }
    for (size_t n = 0; n < t.names.size(); n += 1009) {
      auto [lo, hi] = t.index.find(CollisionIndex::hash(t.names[n]));
      bool seen = false;
      for (auto* e = lo; e != hi; ++e) seen |= t.index.ref(*e).key_offset == n;
      EXPECT_TRUE(seen) << t.names[n];
    }
  }
  for (size_t r = 1; r < results.size(); ++r) {
    ASSERT_EQ(results[r].size(), results[0].size());
    for (size_t i = 0; i < results[0].size(); ++i) {
      EXPECT_EQ(results[r][i].name, results[0][i].name);
      EXPECT_EQ(results[r][i].keys, results[0][i].keys);
    }
  }
}

TEST(CollisionIndex, Limits) {
  CollisionIndex index;
  EXPECT_THROW(index.add(1, KeyRef{0, 0, CollisionIndex::kMaxOffset + 1, true}), Error);
  EXPECT_THROW(index.add(1, KeyRef{256, 0, 0, true}), Error);
  for (uint64_t db = 0; db < CollisionIndex::kMaxDbs; ++db) index.add(db, KeyRef{0, db * 7, 0, true});
  try {
    index.add(1, KeyRef{0, 1ull << 40, 0, true});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBeyondLimits);
  }
  EXPECT_EQ(index.size(), CollisionIndex::kMaxDbs);
}

}  // namespace
}  // namespace rdbrekey
