// The open-condo 3.x key renaming rules (../shared/spec/migrator-rules.md).
//
//   prefix of an application: npm name without scope, '-' -> '_', lowercased
//       "@app/resident-app" -> "resident_app"
//   rename a key of application prefix P (first match wins):
//     1. starts with "P:" or "{P:"            unchanged (already namespaced)
//     2. starts with "F:" for a hashtag family F (default "bull"):
//        "F:<queue>[:<rest>]"                 -> "{P:F:<queue>}[:<rest>]"
//     3. anything else, the empty key too     -> "P:" + key
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rdbrekey {

// The prefix of an application named by an npm package name or a plain prefix. Throws
// Error(kUsage) when the result is empty or holds ':', '{', '}' or white space.
std::string app_prefix_from_name(std::string_view name);

// Throws Error(kUsage) unless every hashtag family name is non-empty and holds no ':', '{',
// '}' or white space (the same check for every command that takes --hashtag).
void check_hashtag_families(const std::vector<std::string>& families);

enum class RenameRule : uint8_t {
  kAlreadyPrefixed,  // rule 1: unchanged
  kHashtag,          // rule 2: "{P:F:<queue>}..."
  kPrefixed,         // rule 3: "P:key"
};

// Whether `key` starts with `prefix` (the first byte decides most keys without a call).
inline bool has_prefix(std::string_view key, std::string_view prefix) {
  return key.size() >= prefix.size() && (prefix.empty() || key[0] == prefix[0]) &&
         __builtin_memcmp(key.data(), prefix.data(), prefix.size()) == 0;
}

// A new key name as up to four pieces (views into the old key and the renamer's own strings),
// so that it can be written out without being assembled first.
struct RenamedKey {
  // Only parts[0..count) are ever read: the pieces are left uninitialized (a union member), so
  // that making a name, once per key, does not clear 64 bytes.
  RenamedKey() noexcept {}  // NOLINT: parts stay uninitialized on purpose
  RenameRule rule = RenameRule::kAlreadyPrefixed;
  uint8_t count = 0;
  size_t size = 0;
  union {
    std::string_view parts[4];
  };
  void add(std::string_view part) {
    parts[count++] = part;
    size += part.size();
  }
  std::string str() const;
  // A name kept as it is.
  static RenamedKey of(std::string_view whole) {
    RenamedKey k;
    k.add(whole);
    return k;
  }
};

class KeyRenamer {
 public:
  // Throws Error(kUsage) for a bad hashtag family (check_hashtag_families).
  KeyRenamer(std::string prefix, std::vector<std::string> hashtag_families);

  const std::string& prefix() const { return prefix_; }
  // The new name of `key`, as pieces valid while `key` and this renamer live.
  RenamedKey rename(std::string_view key) const {
    RenamedKey out;
    rename(key, out);
    return out;
  }
  // The same, into `out` (empty): a name written in place is read back piece by piece, where a
  // returned one is copied whole right after its pieces were stored (a stalled load per key).
  void rename(std::string_view key, RenamedKey& out) const {
    if (has_prefix(key, colon_prefix_) || has_prefix(key, brace_prefix_)) {
      out.rule = RenameRule::kAlreadyPrefixed;
      out.add(key);
      return;
    }
    for (const Family& f : families_) {
      if (has_prefix(key, f.match)) {
        rename_hashtag(key, f, out);
        return;
      }
    }
    out.rule = RenameRule::kPrefixed;
    out.add(colon_prefix_);
    out.add(key);
  }
  // The same, assembled into `out` (its previous content is replaced).
  RenameRule rename(std::string_view key, std::string& out) const;
  // The source key that this renamer would turn into `kept` (a key already under the prefix),
  // if there is one: "P:x" <- "x", "{P:bull:q}:r" <- "bull:q:r".
  bool preimage(std::string_view kept, std::string& out) const;
  // Whether `key` is renamed to the start-up guard P:data_version.
  bool becomes_guard(std::string_view key) const {
    constexpr std::string_view kName = "data_version";
    return (key.size() == kName.size() && __builtin_memcmp(key.data(), kName.data(), kName.size()) == 0) ||
           (key.size() == guard_key_.size() && __builtin_memcmp(key.data(), guard_key_.data(), key.size()) == 0);
  }
  // The start-up guard's key, "P:data_version".
  const std::string& guard_key() const { return guard_key_; }

 private:
  struct Family {
    std::string match;  // "F:"
    std::string open;   // "{P:F:"
  };
  void rename_hashtag(std::string_view key, const Family& f, RenamedKey& out) const;

  std::string prefix_;
  std::string colon_prefix_;  // "P:"
  std::string brace_prefix_;  // "{P:"
  std::string guard_key_;     // "P:data_version"
  std::vector<Family> families_;
};

}  // namespace rdbrekey
