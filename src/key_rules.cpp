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
    : prefix_(std::move(prefix)), colon_prefix_(prefix_ + ":"), brace_prefix_("{" + prefix_ + ":") {
  for (auto& f : hashtag_families) families_.push_back(f + ":");
}

RenameRule KeyRenamer::rename(std::string_view key, std::string& out) const {
  if (key.starts_with(colon_prefix_) || key.starts_with(brace_prefix_)) {
    out.assign(key);
    return RenameRule::kAlreadyPrefixed;
  }
  for (const std::string& family : families_) {
    if (!key.starts_with(family)) continue;
    std::string_view rest = key.substr(family.size());
    size_t colon = rest.find(':');
    std::string_view queue = rest.substr(0, colon);
    out.clear();
    out.reserve(key.size() + prefix_.size() + 4);
    out += '{';
    out += colon_prefix_;
    out += family;
    out += queue;
    out += '}';
    if (colon != std::string_view::npos) out += rest.substr(colon);
    return RenameRule::kHashtag;
  }
  out.clear();
  out.reserve(colon_prefix_.size() + key.size());
  out += colon_prefix_;
  out += key;
  return RenameRule::kPrefixed;
}

}  // namespace rdbrekey
