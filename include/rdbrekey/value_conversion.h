// Values the output version cannot hold as they are, rewritten into a form it can: decided per
// value type from the one capability table (rdb_version.h), done per value only for those
// types. Every other value is copied byte for byte (and never decoded).
//
//   from (input)                              to (output)                       lossless
//   16 hash-listpack        (RDB >= 10)       4  hash                            yes
//   17 zset-listpack        (RDB >= 10)       5  zset2 (binary scores, RDB >= 8) yes
//   18 list-quicklist2      (RDB >= 10)       1  list                            yes
//   20 set-listpack         (RDB >= 11)       2  set                             yes
//   Redis 22-25 field-TTL hashes              Valkey 22 HASH_2 (VALKEY080)       yes
//   Valkey 22 HASH_2                          Redis 24 hash-metadata (RDB >= 12) yes
//                                             (4 hash when no field has a TTL)
//   any field-TTL hash, --drop-field-ttls     4  hash (each TTL dropped, counted) no
//   streams 19/21/26/27                       the newest stream form the output holds (15 in
//                                             RDB 9, 19 in 10, 21 in 11 and VALKEY080, 26 in 13):
//                                             v2 -> v1 drops first/max-deleted id, entries-added
//                                             and groups' entries-read (6.2 has none of them);
//                                             v3 -> v2 consumers' active-time (7.0 has none);
//                                             v4 -> v3 the IDMP state, v5 -> v4 the groups' NACK
//                                             lists: only when empty, else with --lossy (counted)
//
// The plain forms are the universal fallbacks (spec §8): every server loads them and converts
// them to its own compact encoding as it loads. A converted value is held in memory while it is
// rewritten (about twice its size): the documented per-key cost of a conversion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rdbrekey/rdb_input.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey {

enum class ValueConversion : uint8_t {
  kNone,             // the output holds the type: copied as is
  kListpackToPlain,  // 16/17/18/20 -> 4/5/1/2
  kToValkeyHash2,    // Redis 22..25 -> Valkey HASH_2
  kToHashMetadata,   // Valkey HASH_2 -> Redis 24 (or 4)
  kDropFieldTtls,    // a field-TTL hash -> 4, its TTLs dropped
  kStreamDown,       // a stream -> an older stream form
  kImpossible,       // no conversion: the value is refused (or, for field TTLs, needs the flag)
};

// How a value of `type` read from a file of version `in` goes into a file of version `out`.
// `drop_field_ttls`: field-TTL hashes that the output cannot hold with their TTLs become plain
// hashes (otherwise kImpossible).
ValueConversion conversion_for(uint8_t type, RdbVersion in, RdbVersion out, bool drop_field_ttls);

// Whether a value of `type` (of version `in`) is a hash with field TTLs.
bool is_field_ttl_hash(uint8_t type, RdbVersion in);

// The type a conversion writes (for HASH_2 -> Redis: 24, or 4 when no field has a TTL).
uint8_t converted_type(uint8_t type, ValueConversion how, RdbVersion out);

// "hash-listpack -> hash", for the report; `out_type` as written under `out`.
std::string conversion_name(uint8_t type, RdbVersion in, uint8_t out_type, RdbVersion out);

struct ConvertedValue {
  uint8_t type = 0;              // the type written
  uint64_t field_ttls_dropped = 0;
  bool stream_state_dropped = false;  // IDMP or NACK data left out (--lossy)
};

// Reads the payload of a value of `type` from `in` (positioned just after the key) and appends
// the payload of the converted value to `out` (cleared first). Damaged data is an Error with
// the input's location (kBadFraming).
// `to`: the output's version; `lossy`: state it has no place for may be left out (else
// kCannotHold).
ConvertedValue convert_value(RdbInput& in, uint8_t type, ValueConversion how, RdbVersion to, bool lossy,
                             std::string& out);

// The entries of a listpack blob, as text (integers in decimal), in order; throws a kBadFraming
// Error naming `what` when the blob is not a well-formed listpack.
void listpack_entries(std::string_view blob, std::vector<std::string>& out, const char* what);

}  // namespace rdbrekey
