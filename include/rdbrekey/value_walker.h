// Walks the framing of one value (and of MODULE_AUX / FUNCTION2 payloads) to find its end,
// without decoding blobs. With a tee set on the source, every byte walked is copied through.
//
// Framing per type (S = RDB string, L = length, D8 = 8 bytes, ID16 = 16-byte raw stream ID):
//   0 string, 9-13/16/17/20/23 blobs        S
//   1 list, 2 set                           L n, n x S
//   3 zset                                  L n, n x (S, string double: u8 len + len bytes | 253..255)
//   4 hash                                  L n, n x (S, S)
//   5 zset2                                 L n, n x (S, D8)
//   7 module                                L module_id, module stream (L opcode, payload)* L 0
//   14 quicklist                            L n, n x S
//   18 quicklist2                           L n, n x (L container 1|2, S)
//   15/19/21/26/27 streams                  see walk_stream() in value_walker.cpp
//   22 (REDIS) hash-metadata-pre-ga         L n, n x (L ttl, S, S)
//   22 (VALKEY) hash2                       L n, n x (S, S, D8 expire)
//   24 hash-metadata                        D8 min_expire, L n, n x (L ttl, S, S)
//   25 hash-listpack-ex                     D8 min_expire, S
//   28 array                                L n (>0), L flag [L idx], n x (L index, L tag, S | D8)
#pragma once

#include <cstdint>

#include "rdbrekey/rdb_input.h"

namespace rdbrekey {

class ValueWalker {
 public:
  explicit ValueWalker(RdbInput& in) : in_(in) {}

  // Walks a value of `type` (already known to be a value type of the input's version).
  void walk_value(uint8_t type);
  // Walks a module value stream up to and including its terminating opcode 0.
  void walk_module_stream(const char* what);
  // The payload after the MODULE_AUX opcode: module id, when-opcode, when, module stream.
  void walk_module_aux();

 private:
  void walk_string_list(const char* what);
  void walk_stream(int stream_version);
  void skip_stream_id16(const char* what) { in_.skip_bytes(16, what); }

  RdbInput& in_;
};

}  // namespace rdbrekey
