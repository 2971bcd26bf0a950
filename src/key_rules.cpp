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
    throw Error(Errc::kBadOption, fmt::format("application name \"{}\" gives an empty key prefix", name));
  for (char c : prefix) {
    if (c == ':' || c == '{' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '@')
      throw Error(Errc::kBadOption,
                  fmt::format("application name \"{}\" gives the key prefix \"{}\", which may not contain "
                              "':', '{{', '}}', '@' or white space",
                              name, prefix));
  }
  return prefix;
}

void check_hashtag_families(const std::vector<std::string>& families) {
  for (const auto& f : families) {
    if (f.empty() || f.find_first_of(":{} \t\r\n") != std::string::npos)
      throw Error(Errc::kBadOption,
                  fmt::format("--hashtag \"{}\": a key family name must be non-empty and hold no ':', '{{', '}}' "
                              "or white space",
                              f));
  }
}

KeyRenamer::KeyRenamer(std::string prefix, std::vector<std::string> hashtag_families)
    : prefix_(std::move(prefix)),
      colon_prefix_(prefix_ + ":"),
      brace_prefix_("{" + prefix_ + ":"),
      guard_key_(prefix_ + ":data_version") {
  check_hashtag_families(hashtag_families);
  for (auto& f : hashtag_families) families_.push_back(Family{f + ":", brace_prefix_ + f + ":"});
}

void KeyRenamer::rename_hashtag(std::string_view key, const Family& f, RenamedKey& out) const {
  // "F:<queue>[:<rest>]" -> "{P:F:<queue>}[:<rest>]"
  out.rule = RenameRule::kHashtag;
  std::string_view rest = key.substr(f.match.size());
  size_t colon = rest.find(':');
  out.add(f.open);
  out.add(rest.substr(0, colon));
  out.add("}");
  if (colon != std::string_view::npos) out.add(rest.substr(colon));
}

bool KeyRenamer::preimage(std::string_view kept, std::string& out) const {
  out.clear();
  if (has_prefix(kept, colon_prefix_)) {
    out.assign(kept.substr(colon_prefix_.size()));
  } else {
    for (const Family& f : families_) {
      if (!has_prefix(kept, f.open)) continue;
      // "{P:F:<queue>}[:<rest>]" <- "F:<queue>[:<rest>]"
      std::string_view rest = kept.substr(f.open.size());
      size_t colon = rest.find(':');
      std::string_view head = rest.substr(0, colon);
      if (head.empty() || head.back() != '}') continue;
      out.assign(f.match);
      out.append(head.substr(0, head.size() - 1));
      if (colon != std::string_view::npos) out.append(rest.substr(colon));
      break;
    }
    if (out.empty()) return false;
  }
  RenamedKey back = rename(out);
  return back.rule != RenameRule::kAlreadyPrefixed && back.str() == kept;
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
