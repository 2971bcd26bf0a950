// What happens to one key of an input: written under a new name, or left out (and why).
//
// Decided in one place, for the writing pass and for every second look at the data (the
// collision re-scan, the pass that leaves out the losers of a collision), so that every path
// agrees on which keys reach the output and under which names:
//
//   left out by --on-collision keep-first/keep-last  -> kLeftOut
//   expired at the --drop-expired time               -> kExpired
//   database with no application, --unmapped drop    -> kUnmapped   (error: refused later)
//   output name is an application's start-up guard   -> kGuardSource (joins the "set max")
//   otherwise                                        -> kWrite, under the renamed name
//                                                       (unmapped + --unmapped keep: unrenamed)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rdbrekey/key_rules.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey {

enum class UnmappedPolicy { kError, kDrop, kKeep };

// One database of one input (inputs numbered from 0 in command-line order).
struct DbId {
  uint32_t input = 0;
  uint64_t db = 0;
  DbId() = default;
  DbId(uint64_t database) : db(database) {}  // NOLINT: a database of the first (or only) input
  DbId(uint32_t in, uint64_t database) : input(in), db(database) {}
  auto operator<=>(const DbId&) const = default;
};

// One application: its prefix, renaming rules and start-up guard.
struct App {
  size_t index = 0;  // position in KeyPolicy::apps()
  KeyRenamer renamer;
  const std::string& prefix() const { return renamer.prefix(); }
  const std::string& guard_key() const { return renamer.guard_key(); }
};

enum class KeyFate : uint8_t { kWrite, kLeftOut, kExpired, kUnmapped, kGuardSource };

struct KeyDecision {
  KeyFate fate = KeyFate::kWrite;
  RenamedKey name;         // kWrite and kGuardSource: the key's name in the output
  const App* guard = nullptr;  // kGuardSource: whose guard it joins
  bool unrenamed = false;  // kWrite: an unmapped key kept as it is
};

struct KeyPolicyOptions {
  std::map<uint64_t, std::string> apps;  // db -> application name (npm name or prefix), every input
  std::map<DbId, std::string> input_apps;  // (input, db) -> application name, that input only
  std::vector<std::string> hashtags{"bull"};
  UnmappedPolicy unmapped = UnmappedPolicy::kError;
  uint64_t data_version = 2;                   // 0: no start-up guard
  std::optional<int64_t> drop_expired_before;  // expire time (ms) <= this: left out
};

class KeyPolicy {
 public:
  // Throws Error(kBadOption) for a bad application name or hashtag family, or a database mapped
  // both for every input and for one input.
  explicit KeyPolicy(const KeyPolicyOptions& options);
  KeyPolicy(const KeyPolicy&) = delete;  // names point into it
  KeyPolicy& operator=(const KeyPolicy&) = delete;

  // The application of a database of an input, nullptr when unmapped.
  const App* app_of(DbId id) const {
    if (!app_of_input_db_.empty())
      if (auto it = app_of_input_db_.find(id); it != app_of_input_db_.end()) return it->second;
    auto it = app_of_db_.find(id.db);
    return it == app_of_db_.end() ? nullptr : it->second;
  }
  const std::vector<App>& apps() const { return apps_; }
  // Whether any other mapping names the same application as the one of `id`.
  bool shares_app(DbId id) const;
  bool guards() const { return data_version_ != 0; }
  UnmappedPolicy unmapped() const { return unmapped_; }

  // The fate of `key` (with its prefix opcodes) in a database of application `app` (nullptr:
  // unmapped). The name's pieces point into `key` and into this policy.
  KeyDecision decide(const App* app, std::string_view key, const KeyPrefix& prefix, bool left_out) const {
    KeyDecision d;
    if (left_out) {
      d.fate = KeyFate::kLeftOut;
      return d;
    }
    if (prefix.has_expire && drop_expired_ && prefix.expire_ms <= expired_before_) {
      d.fate = KeyFate::kExpired;
      return d;
    }
    if (app) {
      app->renamer.rename(key, d.name);
      if (data_version_ && d.name.rule != RenameRule::kHashtag && app->renamer.becomes_guard(key)) {
        d.fate = KeyFate::kGuardSource;
        d.guard = app;
      }
      return d;
    }
    if (unmapped_ != UnmappedPolicy::kKeep) {
      d.fate = KeyFate::kUnmapped;
      return d;
    }
    d.name = RenamedKey::of(key);
    d.unrenamed = true;
    if (data_version_) {
      if (const App* owner = guard_owner(key)) {
        d.fate = KeyFate::kGuardSource;
        d.guard = owner;
      }
    }
    return d;
  }

 private:
  // The application whose guard key is exactly `name`, if any.
  const App* guard_owner(std::string_view name) const;

  std::vector<App> apps_;
  std::map<uint64_t, const App*> app_of_db_;
  std::map<DbId, const App*> app_of_input_db_;
  std::unordered_map<std::string_view, const App*> guard_owner_;
  std::map<const App*, int> dbs_of_app_;
  UnmappedPolicy unmapped_;
  uint64_t data_version_;
  bool drop_expired_;
  int64_t expired_before_;
};

// The start-up guards' "set max": every key whose output name is P:data_version offers its
// value; the guard is written once per application with the largest number offered, or the
// --data-version value when that is larger (a number as the migrator's Lua reads it: Lua 5.1
// tonumber, i.e. strtod with white space around it allowed).
class GuardMerge {
 public:
  GuardMerge(uint64_t data_version, size_t apps) : data_version_(data_version), best_(apps) {}
  // A source's string value (nullopt: not a string, or too long to be a number).
  void offer(const App& app, const std::optional<std::string>& value);

  struct Guard {
    std::string key;
    std::string value;
    bool kept_existing = false;  // a larger number found in the input was kept
  };
  Guard result(const App& app) const;

 private:
  struct Best {
    std::optional<double> number;
    std::string text;
  };
  uint64_t data_version_;
  std::vector<Best> best_;
};

// A number as Lua 5.1's tonumber reads it; nullopt when it is not one.
std::optional<double> lua_number(const std::string& text);

}  // namespace rdbrekey
