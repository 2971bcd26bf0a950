// `rdbrekey restore`: the conversion of `convert`, sent to a live server or cluster instead of a
// file (restore_output.h). The same inputs, mapping, renaming, collision and capability rules;
// the target's release decides what it can hold and the DUMP footer's version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rdbrekey/converter.h"
#include "rdbrekey/redis_client.h"
#include "rdbrekey/restore_output.h"

namespace rdbrekey {

struct RestoreOptions {
  ConvertOptions convert;            // inputs, -a mapping, policies, report, progress (no output)
  std::string to;                    // redis://[USER[:PASSWORD]@]HOST:PORT[/DB]
  std::optional<std::string> password;  // overrides the URL's (from the environment or a file)
  TlsOptions tls;                    // for rediss://
  std::optional<bool> cluster;       // nullopt: asked of the target (INFO cluster)
  ExistingPolicy existing = ExistingPolicy::kError;
  size_t window_bytes = size_t{4} << 20;
  unsigned connections = 1;          // per primary
  int timeout_ms = 60000;
  bool dry_run = false;              // connect, read versions and topology, check the input; send nothing
  // Progress is saved in this file (JSON, replaced atomically about once a second); when it
  // exists, the restore it describes is continued: same inputs, options and target, or refused.
  std::string resume_file;
};

// What the target is, as read before the first command.
struct TargetInfo {
  std::string server;          // "Redis 7.0.15", "Valkey 8.0.1"
  std::string name;            // its --target name ("redis7.0", "valkey8"); empty when none
  RdbVersion holds;            // the records it loads, as an RDB version (the capability table's)
  uint16_t payload_version = 11;  // the DUMP footer it accepts
  uint64_t max_bulk = 0;       // proto-max-bulk-len
  bool cluster = false;
};

// From the INFO server text of a target: its release and what it loads. Throws Error(kTargetRefused)
// when no version can be read.
TargetInfo target_from_info(const std::string& info_server);

struct RestoreResult {
  ConvertResult convert;
  TargetInfo target;
  std::vector<NodeTally> nodes;   // per primary (and any node that redirected)
  uint64_t expired_at_send = 0;   // expired between the start and their turn: not sent
  uint64_t module_aux_not_restored = 0;
  uint64_t aux_not_restored = 0;
  std::string count_check;        // empty: every primary's DBSIZE grew by what it acknowledged
  bool slots_moved = false;       // ... only the total is checked: slots moved during the restore
  std::string topology_source;    // cluster: "CLUSTER SHARDS", or "CLUSTER SLOTS (why not SHARDS)"
  uint64_t settled_earlier = 0;   // records not sent: an interrupted run settled them (--resume)
  bool resumed = false;
  RestoreProgress progress;       // where the restore stands (all runs)
};

// Throws rdbrekey::Error. With options.dry_run nothing is sent but the probes.
RestoreResult restore(const RestoreOptions& options);

// The --report JSON of a restore: convert's report plus a "restore" object.
std::string restore_report_json(const RestoreOptions& options, const RestoreResult& result);

}  // namespace rdbrekey
