// `rdbrekey convert`: sources -> record scanner -> key policy -> collision check -> output
// (docs/architecture.md). The loop and the routing are in converter.cpp (Conversion), the file
// job around it in convert_files.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/byte_source.h"
#include "rdbrekey/cluster_topology.h"
#include "rdbrekey/compression.h"
#include "rdbrekey/key_policy.h"
#include "rdbrekey/output.h"
#include "rdbrekey/progress.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey {

enum class CollisionPolicy { kError, kKeepFirst, kKeepLast };


struct ConvertOptions {
  std::vector<std::string> inputs;           // paths, "-" for stdin
  std::string output;                        // one RDB file; or, with `cluster`:
  // One RDB per primary of this topology (shard_output.h), named by shard_file_names, in
  // output_dir (created when missing), with manifest.json beside them.
  std::optional<ClusterTopology> cluster;
  std::string cluster_source;                // where the topology came from, for the manifest
  std::string output_dir;
  std::map<uint64_t, std::string> apps;      // db -> application name (npm name or prefix), every input
  std::map<DbId, std::string> input_apps;    // (input, db) -> application name, for that input only
  uint32_t aux_from = 0;                     // the input whose AUX fields are kept
  UnmappedPolicy unmapped = UnmappedPolicy::kError;
  std::vector<std::string> hashtags{"bull"};
  CollisionPolicy on_collision = CollisionPolicy::kError;
  uint64_t data_version = 2;                 // 0: no start-up guard
  std::optional<RdbVersion> target;          // nullopt: chosen from the inputs
  std::string target_name;                   // --target (valkey9, redis7.0, ...): for messages
  // Records the output version cannot hold with all their data (value_conversion.h): field-TTL
  // hashes become plain hashes, FUNCTION2 libraries and KEY_META are left out; each counted.
  bool drop_field_ttls = false;
  bool drop_functions = false;
  bool lossy = false;                        // KEY_META metadata may be left out
  // How the output files are compressed; nullopt: by the name (.gz, .lz4, .zst; else none).
  std::optional<Compression> compress;
  bool overwrite = false;
  // Threads at work (--threads): 1 does everything on one; 2 or more add a read-ahead thread per
  // mapped input (maps the next pages, hashes the input's CRC-64), a writer thread (output CRC,
  // write(2)) and sort the collision index that many buckets at a time. 0: the cores available.
  unsigned threads = 0;
  bool dry_run = false;                      // read everything, write nothing
  bool verify_output = false;                // re-read the written file before committing it
  std::optional<int64_t> drop_expired_before;  // drop keys whose expire time (ms) is <= this
  std::function<void(const Progress&)> progress;  // called every 64 Ki records and after each pass
  size_t sample_renames = 0;                 // keep this many example renames per database
  // Also write the summary as JSON here (convert(options) only): never an input or the output,
  // not replaced without `overwrite`, written atomically and committed with the output.
  std::string report;

  KeyPolicyOptions key_policy() const {
    return KeyPolicyOptions{apps, input_apps, hashtags, unmapped, data_version, drop_expired_before};
  }
};

// What became of the keys of one input database. Every key read is counted exactly once:
//   keys_read = written() + dropped() + guard_sources
struct DbStats {
  std::string prefix;             // empty: unmapped
  uint64_t keys_read = 0;
  // Written, by rule:
  uint64_t renamed = 0;           // rule 3: "P:key"
  uint64_t already_prefixed = 0;  // rule 1: unchanged
  uint64_t hashtagged = 0;        // rule 2: "{P:F:<queue>}..."
  uint64_t kept_unmapped = 0;     // unmapped database with --unmapped keep: unrenamed
  uint64_t empty_key = 0;         // of `renamed`: the empty key, renamed to "P:"
  uint64_t with_ttl = 0;          // of the written keys: those with an expire time
  // Not written:
  uint64_t unmapped_dropped = 0;   // unmapped database with --unmapped drop
  uint64_t expired_dropped = 0;    // --drop-expired
  uint64_t collision_dropped = 0;  // --on-collision keep-first/keep-last chose another key
  uint64_t guard_sources = 0;      // named P:data_version in the output: merged into the guard
  std::vector<std::pair<std::string, std::string>> samples;  // (old name, new name)

  uint64_t written() const { return renamed + already_prefixed + hashtagged + kept_unmapped; }
  uint64_t dropped() const { return unmapped_dropped + expired_dropped + collision_dropped; }
};

struct InputSummary {
  std::string path;
  RdbVersion version;
  uint64_t bytes = 0;
  bool checksum_verified = false;
  uint64_t trailing_bytes = 0;
  bool trailing_exact = true;  // false: a pipe, of which only what was buffered is counted
};

using GuardSummary = GuardMerge::Guard;

struct ConvertResult {
  std::vector<InputSummary> inputs;
  std::map<DbId, DbStats> dbs;  // by input and database
  std::vector<GuardSummary> guards;
  RdbVersion output_version;
  uint64_t keys_written = 0;
  uint64_t output_bytes = 0;
  Codec output_codec = Codec::kNone;     // how the output file(s) were compressed
  uint64_t output_compressed_bytes = 0;  // their size on disk (0 when not compressed)
  uint64_t aux_kept = 0, aux_dropped = 0;
  uint64_t functions = 0, module_aux = 0;
  uint64_t slot_records_dropped = 0;
  uint64_t hints_dropped = 0;  // keys whose LRU/LFU hints the output version cannot hold
  // Values rewritten into a form the output holds, by conversion ("set-listpack -> set").
  std::map<std::string, uint64_t> conversions;
  uint64_t field_ttls_dropped = 0, keys_with_field_ttls_dropped = 0;  // --drop-field-ttls
  uint64_t functions_dropped = 0;                                     // --drop-functions
  uint64_t key_meta_dropped = 0;                                      // --lossy
  uint64_t streams_state_dropped = 0;  // --lossy: streams whose IDMP state or NACK lists were left out
  uint64_t collisions = 0;  // keys that share their output name with an earlier key
  // With --on-collision keep-first/keep-last: each key left out, and the one kept in its place.
  struct CollisionDrop {
    std::string name;     // the output name both had
    std::string dropped;  // "db 0 key "x" (in.rdb, byte 12)"
    std::string kept;
  };
  std::vector<CollisionDrop> collision_drops;
  std::string collision_report;  // --dry-run with --on-collision error: the collisions found
  bool output_verified = false;
  double seconds = 0;

  // With a cluster topology: each file written, in the topology's order.
  struct ShardFile {
    std::string path;
    std::string node_id, address;  // as the topology names the primary (may be empty)
    std::string slots;             // "0-5460,5462"
    uint64_t keys = 0, keys_with_ttl = 0, bytes = 0;
    uint64_t checksum = 0;         // the file's CRC-64 trailer
  };
  std::vector<ShardFile> shards;
  // Queues of a hashtag family whose keys landed in more than one slot (keys already prefixed
  // without the hashtag): a multi-key script over them fails with CROSSSLOT.
  std::vector<std::string> split_queues;

  // Sums over every database (the one source of the summary's and the report's totals).
  DbStats totals() const;
};

// The output version chosen for these input versions when none is given: the input's version
// up to REDIS0011, REDIS0011 for newer Redis files, VALKEY080 when any input is VALKEY.
RdbVersion default_output_version(const std::vector<RdbVersion>& inputs);

// ConvertOptions::threads made definite: 0 becomes the cores this process may run on.
unsigned resolve_threads(unsigned requested);

// Runs the conversion of files (options.inputs to options.output, and the report); throws
// rdbrekey::Error. The output and the report exist only on success (convert_files.cpp).
ConvertResult convert(const ConvertOptions& options);

// The conversion of opened sources into an output, which is left for the caller to commit
// (prepare/commit) or cancel. Throws rdbrekey::Error (kInputChanged when an input was rewritten
// while it was read).
ConvertResult convert(const ConvertOptions& options, std::vector<ByteSource*> sources, Output& out);

// Throws Error(kInputChanged) when any source is no longer what it was when opened.
void check_inputs_unchanged(const std::vector<ByteSource*>& sources);

// The same on already opened sources and sink (tests and benchmarks; `options.inputs`,
// `output` and `report` are not used): the sink is finalized on success and cancelled on
// failure.
ConvertResult convert(const ConvertOptions& options, std::vector<ByteSource*> sources, ByteSink& sink);

}  // namespace rdbrekey
