// The manifest written beside the files of a cluster conversion (manifest.json): which file is
// for which primary, what each holds, and where each application's guard and each queue went.
//
//   { "schema_version": 1,
//     "topology": {"source": "nodes.txt", "format": "cluster-nodes", "primaries": 3},
//     "output_version": "REDIS0011", "keys": 1234, "keys_with_ttl": 56, "aux_from": "a.rdb",
//     "files": [ {"file": "shard-1-10.0.0.1-6379.rdb", "node_id": "...", "address": "10.0.0.1:6379",
//                 "slots": [[0, 5460]], "keys": 400, "keys_with_ttl": 30, "bytes": 12345,
//                 "crc64": "0123456789abcdef", "keys_per_slot": {"17": 3, "866": 1}} ],
//     "applications": [ {"prefix": "condo", "keys": 700, "keys_per_file": {"shard-1-...rdb": 240, ...},
//                        "guard": {"key": "condo:data_version", "slot": 1234, "file": "...", "node_id": "..."}} ],
//     "queues": [ {"name": "condo:bull:emails", "application": "condo", "family": "bull",
//                  "queue": "emails", "keys": 5, "hashtagged": true, "slots": [7175],
//                  "files": ["shard-2-..."], "one_slot": true} ],
//     "queues_split_across_slots": [] }
//
// "file" names are relative to the manifest's directory; "crc64" is the file's CRC-64 trailer.
// An application's "keys" are the keys written under its prefix ("P:..." or "{P:..."), its
// guard not counted.
#pragma once

#include <string>
#include <vector>

#include "rdbrekey/converter.h"
#include "rdbrekey/shard_output.h"

namespace rdbrekey {

// `names`: the file name of each primary (shard_file_names).
std::string manifest_json(const ConvertOptions& options, const ConvertResult& result, const ShardedOutput& out,
                          const std::vector<std::string>& names);

}  // namespace rdbrekey
