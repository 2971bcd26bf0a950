// Where the database -> application map comes from besides `--app DB=NAME`:
//
//   --monorepo PATH   a checkout of the open-condo monorepo, read as the online migrator reads it:
//                     every PATH/apps/<dir>/package.json whose "name" is an @app/ package that
//                     uses a KV store (ioredis or @open-condo/keystone among its dependencies),
//                     and the database index of the REDIS_URL in that app's .env
//                     (redis://user:pass@host:6379/6 -> db 6; no path -> db 0).
//   --map FILE        one DB=NAME per line; '#' starts a comment; blank lines are ignored.
//
// Every source gives entries (db, name, where it was read). merge_app_maps() joins them: the same
// database named twice for the same application (the same key prefix) is one entry; named for two
// applications it is refused, naming both places: an operator is never surprised by which one won.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdbrekey {

// One database -> application entry, and where it was read ("apps/condo/.env:3",
// "runbook.map:4", "--app 0=@app/condo").
struct AppMapEntry {
  uint64_t db = 0;
  std::string name;  // npm package name or plain prefix
  std::string source;
};

// An application directory of the monorepo that gives no entry, and why.
struct SkippedApp {
  std::string dir;   // "apps/web"
  std::string name;  // its package name, when it has one
  std::string why;   // "no REDIS_URL in apps/web/.env"
};

struct MonorepoMap {
  std::vector<AppMapEntry> entries;  // sorted by database
  std::vector<SkippedApp> skipped;   // sorted by directory
  std::string server;                // HOST:PORT of every entry's REDIS_URL
};

// Reads the application map of the monorepo checked out at `root`. `filters` (--app-filter)
// keep only the apps they name: "@app/condo" names that package exactly, "condo" the package
// whose name ends in /condo; a filter that names no app is an error.
//
// Throws Error(kCannotOpen) when root/apps cannot be read; Error(kBadOption) for a package.json
// that is not JSON, a REDIS_URL that is not a redis:// or rediss:// URL (file:line, the password
// never repeated), a filter naming no app, or no app with a REDIS_URL at all;
// Error(kAmbiguousMap) for two applications on one database or REDIS_URLs naming different
// servers (one backup comes from one server), naming the apps.
MonorepoMap read_monorepo_map(const std::string& root, const std::vector<std::string>& filters);

// Reads a mapping file: one DB=NAME per line, '#' comments, blank lines, white space around the
// parts ignored. Throws Error(kCannotOpen) when it cannot be read, Error(kBadOption) with
// file:line for a bad line (a database given twice is left to merge_app_maps).
std::vector<AppMapEntry> read_map_file(const std::string& path);

// A value of a .env file as Node's dotenv reads it: KEY=VALUE lines, optionally after "export ";
// single, double or backtick quotes (a quoted value may span lines; "\n" in double quotes is a
// newline); an unquoted value ends at '#' and is trimmed; a later line replaces an earlier one.
struct EnvValue {
  std::string value;
  int line = 0;  // where the value starts (from 1)
};
std::optional<EnvValue> env_value(std::string_view env_text, std::string_view key);

// Joins the entries of every source into the map KeyPolicyOptions::apps takes. Throws
// Error(kAmbiguousMap) when one database is named for applications with different prefixes,
// naming both sources; Error(kBadOption) for an application name that gives no valid prefix.
std::map<uint64_t, std::string> merge_app_maps(const std::vector<AppMapEntry>& entries);

}  // namespace rdbrekey
