// `rdbrekey verify`: walks a whole RDB file, checking the framing of every record and the CRC-64
// trailer, and counts what it holds.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey {

struct VerifyResult {
  RdbVersion version;
  uint64_t bytes = 0;
  bool checksum_present = false;     // false: RDB < 5, or the producer wrote 0 (disabled)
  uint64_t keys = 0;
  std::map<uint64_t, uint64_t> keys_per_db;
  uint64_t with_ttl = 0;
  uint64_t aux = 0, functions = 0, module_aux = 0;
  uint64_t trailing_bytes = 0;
};

// Throws rdbrekey::Error at the first problem (file, byte offset, record, what was expected).
VerifyResult verify(ByteSource& src);

}  // namespace rdbrekey
