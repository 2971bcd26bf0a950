// Finding keys that renaming makes equal (a server refuses an RDB with a duplicate key).
//
// Only keys that will be written take part (KeyPolicy decides, the same way on every pass).
// Renaming is one-to-one within one database of one application, except against keys that are
// already under the prefix (rule 1): "x" -> "P:x" meets a kept "P:x", "bull:q:r" ->
// "{P:bull:q}:r" meets a kept "{P:bull:q}:r". Different prefixes never meet ("P:" / "{P:" with
// no ':' or '{' in P). So:
//  - with one input that can be read again, one database per application and no
//    --unmapped keep, only the keys that are already prefixed are remembered (16 bytes each;
//    nothing at all when there are none), and a database that has some is read a second time,
//    through the same KeyPolicy, to look for the keys renamed onto them;
//  - otherwise (several inputs, several databases of one application, --unmapped keep, an input
//    read once) every written key is remembered: 16 bytes per key.
// Candidates are confirmed by reading both names again; keys of an input read once are compared
// by two hashes (CollisionIndex).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/collision_index.h"
#include "rdbrekey/key_policy.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey {

// Keys chosen to be left out (KeyRef::id()), by --on-collision keep-first/keep-last.
using LeftOutKeys = std::unordered_set<uint64_t>;

class CollisionCheck {
 public:
  // `threads`: how many threads sort the index at the end (ConvertOptions::threads, resolved).
  CollisionCheck(const KeyPolicy& policy, const std::vector<ByteSource*>& sources, const LeftOutKeys& left_out,
                 unsigned threads = 1);

  // Whether every written key of database `id` is remembered (otherwise only prefixed ones).
  bool remembers_all(DbId id) const { return everything_ || policy_.shares_app(id); }

  // A key that will be written under `name` (decision kWrite) from the database `ref.db` of
  // input `ref.input`; `remember_all` is remembers_all of the database (asked once per database).
  void add(const KeyRef& ref, const App* app, std::string_view source_key, const RenamedKey& name,
           bool remember_all) {
    if (remember_all) add_to_all(ref, name);
    else if (name.rule == RenameRule::kAlreadyPrefixed) add_prefixed(ref, *app, source_key);
  }

  // After every input was read (versions[i] of input i): calls visit(name, keys) for every
  // output name that two or more written keys share, keys in input order.
  void find(const std::vector<RdbVersion>& versions, const CollisionIndex::Visit& visit);

  // "db 0 key "x" (in.rdb, byte 12)", or "a key of db 0 in <stdin>" for an input read once.
  std::string describe(const KeyRef& ref) const;
  // The key's name in its input, read again (seekable keys only).
  std::string source_key_of(const KeyRef& ref) const;

 private:
  void add_to_all(const KeyRef& ref, const RenamedKey& name);
  void add_prefixed(const KeyRef& ref, const App& app, std::string_view source_key);
  std::string output_name_of(const KeyRef& ref) const;
  void find_partners(uint32_t input, const CollisionIndex::Visit& visit);

  const KeyPolicy& policy_;
  const std::vector<ByteSource*>& sources_;
  const LeftOutKeys& left_out_;
  std::vector<RdbVersion> versions_;
  bool everything_ = false;
  CollisionIndex all_keys_;       // every written key of the databases that need it
  CollisionIndex prefixed_keys_;  // keys already under their prefix, by the name of their partner
  std::set<std::pair<uint32_t, uint64_t>> partner_dbs_;  // (input, db) holding prefixed keys
  std::string scratch_;
  unsigned threads_;
};

}  // namespace rdbrekey
