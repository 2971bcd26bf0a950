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

enum class RenameRule : uint8_t {
  kAlreadyPrefixed,  // rule 1: unchanged
  kHashtag,          // rule 2: "{P:F:<queue>}..."
  kPrefixed,         // rule 3: "P:key"
};

class KeyRenamer {
 public:
  KeyRenamer(std::string prefix, std::vector<std::string> hashtag_families);

  const std::string& prefix() const { return prefix_; }
  // Writes the new name of `key` into `out` (its previous content is replaced).
  RenameRule rename(std::string_view key, std::string& out) const;
  // The start-up guard's key, "P:data_version".
  std::string guard_key() const { return prefix_ + ":data_version"; }

 private:
  std::string prefix_;
  std::string colon_prefix_;  // "P:"
  std::string brace_prefix_;  // "{P:"
  std::vector<std::string> families_;  // "F:" each
};

}  // namespace rdbrekey
