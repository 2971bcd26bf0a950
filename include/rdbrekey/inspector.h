// `rdbrekey inspect`: what a file holds and what converting it would do, without writing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey {

struct InspectOptions {
  std::map<uint64_t, std::string> apps;   // db -> application (optional: renaming counts)
  std::vector<std::string> hashtags{"bull"};
  int64_t now_ms = 0;                     // "already expired" means expire time <= now_ms
  size_t largest = 10;                    // how many of the largest keys to list
};

struct InspectDb {
  uint64_t keys = 0;
  std::map<std::string, uint64_t> by_type;  // type name (the encoding: "hash-listpack") -> keys
  uint64_t with_ttl = 0;
  uint64_t expired = 0;
  uint64_t value_bytes = 0;
  std::string prefix;                        // empty: no --app for it
  uint64_t renamed = 0, already_prefixed = 0, hashtagged = 0;
  std::set<std::string> queues;              // hashtag families' queue names ("bull:tasks"), capped
};

struct LargeKey {
  uint64_t bytes;
  uint64_t db;
  std::string key;
  std::string type;
};

struct ServerVerdict {
  std::string server;  // "Redis 7.0", "Valkey 9.0", ...
  bool loads = false;
  std::string why;     // when it does not
};

// What `convert --target NAME` would do with the file.
struct TargetStep {
  std::string what;     // "hash-listpack -> hash", "function libraries", ...
  uint64_t records = 0;
  bool lossless = true;
  std::string needs;    // the option it needs ("--drop-field-ttls"); "no conversion" when impossible
};
struct TargetVerdict {
  std::string target;   // "valkey9"
  RdbVersion writes;
  bool loads_as_is = false;  // that server loads the file as it is
  bool convertible = true;   // convert --target succeeds (with the options named in `steps`)
  std::vector<TargetStep> steps;  // the records rewritten or left out; empty: copied as they are
};

struct InspectResult {
  RdbVersion version;
  uint64_t bytes = 0;
  bool checksum_present = false;
  std::map<std::string, std::string> aux;   // producer info (redis-ver, valkey-ver, ctime, ...)
  std::map<uint64_t, InspectDb> dbs;
  uint64_t functions = 0, module_aux = 0, module_values = 0, slot_records = 0;
  std::vector<LargeKey> largest;             // biggest values first
  std::vector<ServerVerdict> servers;
  std::map<uint8_t, uint64_t> types;  // keys by value type code (all databases)
  uint64_t key_meta = 0;              // keys with KEY_META
  std::vector<TargetVerdict> targets; // one per --target name
};

InspectResult inspect(ByteSource& src, const InspectOptions& options);

// `inspect --json` (schema: docs/report-schema.json): {"schema_version": 1, "file", "version", "bytes", "checksum" ("verified" or null), "aux": {..},
// "databases": [{"db", "keys", "types": {name: keys}, "with_ttl", "expired", "value_bytes",
// "prefix", "renamed", "already_prefixed", "hashtagged", "queues": [..]}], "functions",
// "module_aux", "module_values", "largest": [{"db", "key", "type", "bytes"}],
// "servers": [{"server", "loads", "note"}], "targets": [{"target", "version", "loads_as_is",
// "convertible", "steps": [{"what", "records", "lossless", "needs"}]}]}. Byte strings: one code point per byte.
std::string inspect_json(const std::string& file, const InspectResult& result);

}  // namespace rdbrekey
