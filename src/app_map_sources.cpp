#include "rdbrekey/app_map_sources.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rdbrekey/error.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/redis_client.h"

namespace rdbrekey {
namespace {

namespace fs = std::filesystem;

// The whole of a small text file; Error(kCannotOpen) naming it and why.
std::string file_text(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::kCannotOpen, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(Errc::kReadFailed, fmt::format("{} {}: read failed", what, path));
  return text.str();
}

std::string_view trimmed(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The packages the online migrator takes as applications: @app/ and lowercase letters and '-'.
bool is_app_package_name(std::string_view name) {
  if (!name.starts_with("@app/") || name.size() == 5) return false;
  return std::all_of(name.begin() + 5, name.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

// --app-filter as the migrator matches it: "@scope/name" exactly, else the part after the last '/'.
bool filter_names(std::string_view filter, std::string_view package) {
  if (filter.starts_with("@")) return filter == package;
  size_t slash = package.rfind('/');
  return package.substr(slash == std::string_view::npos ? 0 : slash + 1) == filter;
}

// Whether a package uses a KV store, as the migrator decides it: ioredis or @open-condo/keystone
// among its dependencies or devDependencies.
bool uses_kv_store(const nlohmann::json& package) {
  for (const char* deps : {"dependencies", "devDependencies"}) {
    auto it = package.find(deps);
    if (it == package.end() || !it->is_object()) continue;
    if (it->contains("ioredis") || it->contains("@open-condo/keystone")) return true;
  }
  return false;
}

// A `db` parameter in the query of a URL (ioredis reads it when the URL has no /DB path).
bool query_names_db(std::string_view url) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = url.substr(q + 1);
  query = query.substr(0, query.find('#'));
  for (size_t start = 0; start <= query.size();) {
    size_t amp = query.find('&', start);
    std::string_view param = query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (param.starts_with("db=") || param == "db") return true;
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return false;
}

std::string lowercase(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// One application of the monorepo with its database, before the checks across applications.
struct FoundApp {
  AppMapEntry entry;
  std::string server;
};

// Reads one apps/<dir>: its entry, or why it gives none (nullopt and `skipped` filled). Returns
// nullopt without filling `skipped` for a package the filters leave out.
std::optional<FoundApp> read_app(const fs::path& dir, const std::string& shown_dir, const std::vector<std::string>& filters,
                                 std::vector<bool>& filter_used, SkippedApp& skipped) {
  skipped = SkippedApp{shown_dir, "", ""};
  fs::path package_path = dir / "package.json";
  std::error_code ec;
  if (!fs::is_regular_file(package_path, ec)) {
    skipped.why = "no package.json";
    return std::nullopt;
  }
  std::string shown_package = shown_dir + "/package.json";
  nlohmann::json package;
  try {
    package = nlohmann::json::parse(file_text(package_path.string(), "--monorepo"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::kBadOption, fmt::format("{}: not valid JSON ({})", shown_package, e.what()));
  }
  auto name_it = package.is_object() ? package.find("name") : package.end();
  if (!package.is_object() || name_it == package.end() || !name_it->is_string()) {
    skipped.why = "no \"name\" in package.json";
    return std::nullopt;
  }
  skipped.name = name_it->get<std::string>();
  if (!is_app_package_name(skipped.name)) {
    skipped.why = "not an application package (the migrator takes @app/ names of lowercase letters and '-')";
    return std::nullopt;
  }
  if (!filters.empty()) {
    bool chosen = false;
    for (size_t i = 0; i < filters.size(); ++i)
      if (filter_names(filters[i], skipped.name)) chosen = filter_used[i] = true;
    if (!chosen) {
      skipped.why.clear();
      return std::nullopt;
    }
  }
  if (!uses_kv_store(package)) {
    skipped.why = "uses no KV store (neither ioredis nor @open-condo/keystone among its dependencies)";
    return std::nullopt;
  }
  fs::path env_path = dir / ".env";
  std::string shown_env = shown_dir + "/.env";
  if (!fs::exists(env_path, ec)) {
    skipped.why = "no .env";
    return std::nullopt;
  }
  std::optional<EnvValue> url = env_value(file_text(env_path.string(), "--monorepo"), "REDIS_URL");
  if (!url || url->value.empty()) {
    skipped.why = fmt::format("no REDIS_URL in {}", shown_env);
    return std::nullopt;
  }
  std::string where = fmt::format("{}:{}", shown_env, url->line);
  RedisUrl parsed = parse_redis_url(url->value, where + ": REDIS_URL");
  if (query_names_db(url->value))
    throw Error(Errc::kBadOption,
                fmt::format("{}: REDIS_URL names its database in the query (db=...): give it as the path "
                            "(redis://HOST:PORT/DB) so that every reader takes the same database",
                            where));
  RedisEndpoint server = parsed.endpoint;
  server.host = lowercase(server.host);
  return FoundApp{AppMapEntry{static_cast<uint64_t>(parsed.db), skipped.name, where}, server.address()};
}

// Refuses REDIS_URLs of more than one server, naming the apps on each.
void check_one_server(const std::vector<FoundApp>& apps) {
  std::map<std::string, std::vector<std::string>> by_server;
  for (const auto& a : apps) by_server[a.server].push_back(fmt::format("{} ({})", a.entry.name, a.entry.source));
  if (by_server.size() <= 1) return;
  std::vector<std::string> parts;
  for (const auto& [server, names] : by_server) parts.push_back(fmt::format("{}: {}", server, fmt::join(names, ", ")));
  throw Error(Errc::kAmbiguousMap,
              fmt::format("the applications' REDIS_URLs name different servers ({}); one backup comes from one "
                          "server: take that server's applications with --app-filter, or give the map with --map",
                          fmt::join(parts, "; ")));
}

}  // namespace

std::optional<EnvValue> env_value(std::string_view text, std::string_view key) {
  std::optional<EnvValue> found;
  size_t pos = 0;
  int line = 1;
  auto skip_blanks = [&] {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  };
  auto to_next_line = [&] {
    while (pos < text.size() && text[pos] != '\n') ++pos;
    if (pos < text.size()) ++pos, ++line;
  };
  while (pos < text.size()) {
    int start_line = line;
    skip_blanks();
    if (text.substr(pos).starts_with("export ") || text.substr(pos).starts_with("export\t")) {
      pos += 7;
      skip_blanks();
    }
    size_t name_start = pos;
    while (pos < text.size() && (std::isalnum(static_cast<unsigned char>(text[pos])) || text[pos] == '_' ||
                                 text[pos] == '.' || text[pos] == '-'))
      ++pos;
    std::string_view name = text.substr(name_start, pos - name_start);
    skip_blanks();
    if (name.empty() || pos >= text.size() || text[pos] != '=') {
      to_next_line();  // a comment, a blank line or a line dotenv ignores
      continue;
    }
    ++pos;
    skip_blanks();
    std::string value;
    bool quoted = false;
    if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'' || text[pos] == '`')) {
      char quote = text[pos];
      size_t close = pos + 1;
      while (close < text.size() && text[close] != quote) close += text[close] == '\\' && close + 1 < text.size() ? 2 : 1;
      if (close < text.size()) {
        std::string_view inner = text.substr(pos + 1, close - pos - 1);
        for (size_t i = 0; i < inner.size(); ++i) {
          if (quote == '"' && inner[i] == '\\' && i + 1 < inner.size() && (inner[i + 1] == 'n' || inner[i + 1] == 'r')) {
            value += inner[i + 1] == 'n' ? '\n' : '\r';
            ++i;
            continue;
          }
          value += inner[i];
        }
        line += static_cast<int>(std::count(inner.begin(), inner.end(), '\n'));
        pos = close + 1;
        quoted = true;
      }
    }
    if (!quoted) {
      size_t end = pos;
      while (end < text.size() && text[end] != '#' && text[end] != '\n' && text[end] != '\r') ++end;
      value = std::string(trimmed(text.substr(pos, end - pos)));
      pos = end;
    }
    to_next_line();
    if (name == key) found = EnvValue{std::move(value), start_line};
  }
  return found;
}

MonorepoMap read_monorepo_map(const std::string& root, const std::vector<std::string>& filters) {
  fs::path apps_dir = fs::path(root) / "apps";
  std::error_code ec;
  if (!fs::is_directory(apps_dir, ec))
    throw Error(Errc::kCannotOpen,
                fmt::format("--monorepo {}: no directory {} (expected a checkout of the monorepo, with apps/<name>/"
                            "package.json and .env)",
                            root, apps_dir.string()));
  std::vector<std::string> dirs;
  for (fs::directory_iterator it(apps_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) dirs.push_back(it->path().filename().string());
  if (ec) throw Error(Errc::kCannotOpen, fmt::format("--monorepo {}: {}", apps_dir.string(), ec.message()));
  std::sort(dirs.begin(), dirs.end());

  MonorepoMap result;
  std::vector<FoundApp> found;
  std::vector<bool> filter_used(filters.size(), false);
  std::vector<std::string> all_packages;
  for (const std::string& d : dirs) {
    SkippedApp skipped;
    std::string shown_dir = (apps_dir / d).string();
    std::optional<FoundApp> app = read_app(apps_dir / d, shown_dir, filters, filter_used, skipped);
    if (!skipped.name.empty()) all_packages.push_back(skipped.name);
    if (app) found.push_back(std::move(*app));
    else if (!skipped.why.empty()) result.skipped.push_back(std::move(skipped));
  }
  for (size_t i = 0; i < filters.size(); ++i)
    if (!filter_used[i])
      throw Error(Errc::kBadOption, fmt::format("--app-filter {}: no application of {} is named so (found: {})",
                                                filters[i], apps_dir.string(),
                                                all_packages.empty() ? "none" : fmt::format("{}", fmt::join(all_packages, ", "))));
  if (found.empty()) {
    std::vector<std::string> why;
    for (const auto& s : result.skipped) why.push_back(fmt::format("{}: {}", s.dir, s.why));
    throw Error(Errc::kBadOption, fmt::format("--monorepo {}: no application with a REDIS_URL{}", root,
                                              why.empty() ? "" : fmt::format(" ({})", fmt::join(why, "; "))));
  }
  check_one_server(found);
  std::vector<AppMapEntry> entries;
  for (const auto& a : found) entries.push_back(a.entry);
  std::map<uint64_t, std::string> merged = merge_app_maps(entries);
  for (const auto& [db, name] : merged)
    for (const auto& a : found)
      if (a.entry.db == db && a.entry.name == name) {
        result.entries.push_back(a.entry);
        break;
      }
  result.server = found.front().server;
  return result;
}

std::vector<AppMapEntry> read_map_file(const std::string& path) {
  std::string text = file_text(path, "--map");
  std::vector<AppMapEntry> entries;
  std::istringstream lines(text);
  std::string raw;
  for (int n = 1; std::getline(lines, raw); ++n) {
    std::string_view line = raw;
    line = trimmed(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::string where = fmt::format("{}:{}", path, n);
    size_t eq = line.find('=');
    std::string_view db = eq == std::string_view::npos ? line : trimmed(line.substr(0, eq));
    std::string_view name = eq == std::string_view::npos ? std::string_view() : trimmed(line.substr(eq + 1));
    if (eq == std::string_view::npos || db.empty() || db.size() > 9 ||
        db.find_first_not_of("0123456789") != std::string_view::npos || name.empty())
      throw Error(Errc::kBadOption,
                  fmt::format("{}: \"{}\": expected DB=NAME, e.g. 0=@app/condo (a database number, '=', an npm "
                              "package name or a prefix)",
                              where, line));
    try {
      app_prefix_from_name(name);
    } catch (const Error& e) {
      throw Error(e.code(), fmt::format("{}: {}", where, e.what()));
    }
    entries.push_back(AppMapEntry{std::stoull(std::string(db)), std::string(name), where});
  }
  return entries;
}

std::map<uint64_t, std::string> merge_app_maps(const std::vector<AppMapEntry>& entries) {
  std::map<uint64_t, const AppMapEntry*> first;
  std::map<uint64_t, std::string> merged;
  for (const AppMapEntry& e : entries) {
    std::string prefix = app_prefix_from_name(e.name);
    auto [it, fresh] = first.emplace(e.db, &e);
    if (fresh) {
      merged.emplace(e.db, e.name);
      continue;
    }
    const AppMapEntry& earlier = *it->second;
    if (app_prefix_from_name(earlier.name) != prefix)
      throw Error(Errc::kAmbiguousMap,
                  fmt::format("database {} is mapped to two applications: {} ({}) and {} ({}); a conversion cannot "
                              "tell their keys apart: map it once",
                              e.db, earlier.name, earlier.source, e.name, e.source));
  }
  return merged;
}

}  // namespace rdbrekey
