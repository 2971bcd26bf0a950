#include "rdbrekey/key_rules.h"

#include <fmt/format.h>

#include "rdbrekey/error.h"

namespace rdbrekey {

std::string app_prefix_from_name(std::string_view name) {
  std::string_view base = name;
  if (auto slash = base.rfind('/'); slash != std::string_view::npos) base = base.substr(slash + 1);
  std::string prefix;
  prefix.reserve(base.size());
  for (char c : base) {
    if (c == '-') c = '_';
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    prefix += c;
  }
  if (prefix.empty())
    throw Error(ExitCode::kUsage, fmt::format("application name \"{}\" gives an empty key prefix", name));
  for (char c : prefix) {
    if (c == ':' || c == '{' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '@')
      throw Error(ExitCode::kUsage,
                  fmt::format("application name \"{}\" gives the key prefix \"{}\", which may not contain "
                              "':', '{{', '}}', '@' or white space",
                              name, prefix));
  }
  return prefix;
}

KeyRenamer::KeyRenamer(std::string prefix, std::vector<std::string> hashtag_families)
    : prefix_(std::move(prefix)),
      colon_prefix_(prefix_ + ":"),
      brace_prefix_("{" + prefix_ + ":"),
      guard_key_(prefix_ + ":data_version") {
  for (auto& f : hashtag_families) families_.push_back(Family{f + ":", brace_prefix_ + f + ":"});
}

RenamedKey KeyRenamer::rename_hashtag(std::string_view key, const Family& f) const {
  // "F:<queue>[:<rest>]" -> "{P:F:<queue>}[:<rest>]"
  RenamedKey out;
  out.rule = RenameRule::kHashtag;
  std::string_view rest = key.substr(f.match.size());
  size_t colon = rest.find(':');
  out.add(f.open);
  out.add(rest.substr(0, colon));
  out.add("}");
  if (colon != std::string_view::npos) out.add(rest.substr(colon));
  return out;
}

std::string RenamedKey::str() const {
  std::string s;
  s.reserve(size);
  for (uint8_t i = 0; i < count; ++i) s += parts[i];
  return s;
}

RenameRule KeyRenamer::rename(std::string_view key, std::string& out) const {
  RenamedKey k = rename(key);
  out = k.str();
  return k.rule;
}

}  // namespace rdbrekey
