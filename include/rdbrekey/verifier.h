// `rdbrekey verify`: walks a whole RDB file, checking the framing of every record and the CRC-64
// trailer, and (by default) that no database holds one key name twice, as a server requires.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey {

struct VerifyOptions {
  // Also refuse a file with a duplicate key (a server aborts loading it). Costs 16 bytes per
  // key while verifying; names are confirmed by reading them again (by two hashes for a pipe).
  bool check_duplicates = true;
};

struct VerifyResult {
  RdbVersion version;
  uint64_t bytes = 0;
  bool checksum_present = false;     // false: RDB < 5, or the producer wrote 0 (disabled)
  uint64_t keys = 0;
  std::map<uint64_t, uint64_t> keys_per_db;
  uint64_t with_ttl = 0;
  uint64_t aux = 0, functions = 0, module_aux = 0;
  uint64_t trailing_bytes = 0;
  bool trailing_exact = true;  // false: a pipe, of which only what was buffered is counted
  bool duplicates_checked = false;
};

// Throws rdbrekey::Error at the first problem (file, byte offset, record, what was expected);
// a duplicate key is kCorrupt.
VerifyResult verify(ByteSource& src, const VerifyOptions& options = {});

}  // namespace rdbrekey
