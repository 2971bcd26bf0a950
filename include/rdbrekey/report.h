// The JSON report of a conversion (`convert --report FILE.json`, also for a dry run; schema:
// docs/report-schema.json): the same
// figures as the printed summary, from the same ConvertResult. Key names are byte strings: each
// byte is one code point (U+0000..U+00FF), so binary bytes appear as \u00XX.
//
// {
//   "schema_version": 1,
//   "inputs": [{"path", "version", "bytes", "checksum_verified", "trailing_bytes"}],
//   "databases": [{"db", "prefix" (null: unmapped), "keys_read", "written", "renamed",
//                  "already_prefixed", "hashtagged", "empty_key", "kept_unrenamed", "with_ttl",
//                  "dropped" (= the three below), "unmapped_dropped", "expired_dropped",
//                  "collision_dropped", "merged_into_guard"}],
//   "totals": {the same counts over every database},
//   "collisions": N, "collisions_left_out": [{"name", "left_out", "kept"}],
//   "guards": [{"key", "value", "kept_existing"}],
//   "output": {"path", "version", "keys", "bytes", "dry_run", "verified"},
//   "aux_kept", "aux_dropped", "functions", "module_aux", "slot_records_dropped",
//   "hints_dropped" (keys whose LRU/LFU hints the output version cannot hold), "seconds"
// }
// Every key read is counted once: keys_read = written + dropped + merged_into_guard, and
// output.keys = totals.written + the number of guards.
#pragma once

#include <string>

#include "rdbrekey/converter.h"

namespace rdbrekey {

std::string report_json(const ConvertOptions& options, const ConvertResult& result);

}  // namespace rdbrekey
