#include "rdbrekey/key_policy.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "rdbrekey/error.h"

namespace rdbrekey {

KeyPolicy::KeyPolicy(const KeyPolicyOptions& opt)
    : unmapped_(opt.unmapped),
      data_version_(opt.data_version),
      drop_expired_(opt.drop_expired_before.has_value()),
      expired_before_(opt.drop_expired_before.value_or(0)) {
  check_hashtag_families(opt.hashtags);
  // One App per prefix (two databases may belong to one application); the vector is filled
  // once, so the pointers below stay valid.
  std::map<std::string, size_t> by_prefix;
  std::vector<std::string> prefixes;
  auto index_of = [&](const std::string& name) {
    std::string prefix = app_prefix_from_name(name);
    auto [it, added] = by_prefix.emplace(prefix, prefixes.size());
    if (added) prefixes.push_back(prefix);
    return it->second;
  };
  std::map<uint64_t, size_t> index_of_db;
  std::map<DbId, size_t> index_of_input_db;
  for (const auto& [db, name] : opt.apps) index_of_db[db] = index_of(name);
  for (const auto& [id, name] : opt.input_apps) {
    if (opt.apps.count(id.db))
      throw Error(Errc::kBadOption,
                  fmt::format("database {} is mapped for every input and again for input {}: map it one way", id.db,
                              id.input + 1));
    index_of_input_db[id] = index_of(name);
  }
  apps_.reserve(prefixes.size());
  for (size_t i = 0; i < prefixes.size(); ++i) apps_.push_back(App{i, KeyRenamer(prefixes[i], opt.hashtags)});
  for (const auto& [db, i] : index_of_db) {
    app_of_db_[db] = &apps_[i];
    ++dbs_of_app_[&apps_[i]];
  }
  for (const auto& [id, i] : index_of_input_db) {
    app_of_input_db_[id] = &apps_[i];
    ++dbs_of_app_[&apps_[i]];
  }
  for (const App& a : apps_) guard_owner_.emplace(a.guard_key(), &a);
}

bool KeyPolicy::shares_app(DbId id) const {
  const App* app = app_of(id);
  return app && dbs_of_app_.at(app) > 1;
}

const App* KeyPolicy::guard_owner(std::string_view name) const {
  constexpr std::string_view kSuffix = ":data_version";
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) return nullptr;
  auto it = guard_owner_.find(name);
  return it == guard_owner_.end() ? nullptr : it->second;
}

std::optional<double> lua_number(const std::string& s) {
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r' || *end == '\f' || *end == '\v') ++end;
  if (end != begin + s.size()) return std::nullopt;  // trailing garbage, or an embedded NUL
  return v;
}

void GuardMerge::offer(const App& app, const std::optional<std::string>& value) {
  if (!value) return;
  std::optional<double> n = lua_number(*value);
  Best& b = best_[app.index];
  if (n && !std::isnan(*n) && (!b.number || *n > *b.number)) {  // NaN is never larger
    b.number = n;
    b.text = *value;
  }
}

GuardMerge::Guard GuardMerge::result(const App& app) const {
  const Best& b = best_[app.index];
  if (b.number && *b.number > static_cast<double>(data_version_)) return Guard{app.guard_key(), b.text, true};
  return Guard{app.guard_key(), std::to_string(data_version_), false};
}

}  // namespace rdbrekey
