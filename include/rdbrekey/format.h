// RDB format constants, with the byte layout documented beside them.
//
// Sources: ../shared/spec/rdb-format.md (read from the Redis and Valkey servers' rdb.h/rdb.c).
//
// File layout
// -----------
//   "REDIS" %04d  |  "VALKEY" %03d        9 ASCII bytes (magic + version)
//   { record }*                          opcodes and key/value records in any order
//   0xFF                                 EOF opcode
//   CRC-64 (8 bytes, little-endian)      RDB >= 5 only; covers magic .. EOF byte; 0 = disabled
//
// Key/value record
// ----------------
//   [0xFC int64-LE ms | 0xFD int32 s] [0xF8 len idle] [0xF9 u8 freq] [0xF3 keymeta (Redis >= 13)]
//   type(u8)  key(RDB string)  value(type-specific framing, see value_walker.h)
//
// Length encoding (first byte)
// ----------------------------
//   00xxxxxx                      6-bit length
//   01xxxxxx b1                   14-bit length, big-endian
//   0x80 + 4 bytes                32-bit length, big-endian
//   0x81 + 8 bytes                64-bit length, big-endian (RDB >= 8)
//   11xxxxxx                      special string encoding (low 6 bits, below)
//
// String encoding ("RDB string")
// ------------------------------
//   len + bytes                   plain
//   0xC0 int8 | 0xC1 int16-LE | 0xC2 int32-LE         integer, read back as decimal text
//   0xC3 len(clen) len(ulen) clen bytes               LZF-compressed
#pragma once

#include <cstdint>

namespace rdbrekey::rdb {

inline constexpr int kMagicSize = 9;
inline constexpr int kCrcSize = 8;

// Opcodes: bytes that stand where a value type is expected.
enum Opcode : uint8_t {
  kOpSlotImport = 243,     // Valkey >= 80 (VALKEY magic): S job_name, L n, n x (L start, L end)
  kOpKeyMeta = 243,        // Redis >= 13 (REDIS magic): L n, n x (4-byte class spec, module stream)
  kOpSlotInfo = 244,       // Redis >= 12: L slot, L slot_size, L expires_slot_size (hint)
  kOpFunction2 = 245,      // RDB >= 10: S library source code
  kOpFunctionPreGa = 246,  // Redis 7.0-rc1/rc2 only; rejected by every released server
  kOpModuleAux = 247,      // RDB >= 9: L module_id, L when_opcode(2), L when, module stream
  kOpIdle = 248,           // RDB >= 9: L idle seconds (LRU hint for the next key)
  kOpFreq = 249,           // RDB >= 9: u8 LFU counter (hint for the next key)
  kOpAux = 250,            // RDB >= 7: S key, S value
  kOpResizeDb = 251,       // RDB >= 7: L db_size, L expires_size (hint)
  kOpExpireTimeMs = 252,   // RDB >= 3: int64 ms, little-endian (host order before RDB 9)
  kOpExpireTime = 253,     // RDB 1+: int32 seconds, host order (obsolete since 2.6)
  kOpSelectDb = 254,       // L db
  kOpEof = 255,            // then CRC-64 when RDB >= 5
};

// Value types.
enum ValueType : uint8_t {
  kTypeString = 0,            // S
  kTypeList = 1,              // L n, n x S
  kTypeSet = 2,               // L n, n x S
  kTypeZset = 3,              // L n, n x (S member, string double)
  kTypeHash = 4,              // L n, n x (S field, S value)
  kTypeZset2 = 5,             // RDB >= 8: L n, n x (S member, 8-byte LE double)
  kTypeModulePreGa = 6,       // 4.0-rc only: not skippable, rejected
  kTypeModule2 = 7,           // RDB >= 8: L module_id, module stream ending in opcode 0
  kTypeHashZipmap = 9,        // RDB >= 2: blob
  kTypeListZiplist = 10,      // RDB >= 2: blob
  kTypeSetIntset = 11,        // RDB >= 2: blob
  kTypeZsetZiplist = 12,      // RDB >= 2: blob
  kTypeHashZiplist = 13,      // RDB >= 4: blob
  kTypeListQuicklist = 14,    // RDB >= 7: L n, n x S (ziplist blobs)
  kTypeStreamListpacks = 15,  // RDB >= 9: stream v1
  kTypeHashListpack = 16,     // RDB >= 10: blob
  kTypeZsetListpack = 17,     // RDB >= 10: blob
  kTypeListQuicklist2 = 18,   // RDB >= 10: L n, n x (L container, S data)
  kTypeStreamListpacks2 = 19, // RDB >= 10: stream v2
  kTypeSetListpack = 20,      // RDB >= 11: blob
  kTypeStreamListpacks3 = 21, // RDB >= 11: stream v3
  // Type 22 means two different things depending on the file's magic:
  kTypeHashMetadataPreGa = 22, // REDIS magic, RDB 12 (7.4-RC): L n, n x (L abs_ttl, S, S)
  kTypeValkeyHash2 = 22,       // VALKEY magic, RDB >= 80: L n, n x (S, S, int64-LE expire)
  kTypeHashListpackExPreGa = 23, // REDIS magic, RDB 12 (7.4-RC): blob
  kTypeHashMetadata = 24,      // REDIS magic, RDB >= 12: int64 minExpire, L n, n x (L ttl, S, S)
  kTypeHashListpackEx = 25,    // REDIS magic, RDB >= 12: int64 minExpire, blob
  kTypeStreamListpacks4 = 26,  // REDIS magic, RDB >= 13: stream v4 (IDMP trailer)
  kTypeStreamListpacks5 = 27,  // REDIS magic, RDB >= 14: stream v5 (per-group NACK zone)
  kTypeArray = 28,             // REDIS magic, RDB >= 14: sparse array
};

// Length-encoding prefixes (two top bits of the first byte).
inline constexpr uint8_t kLen6Bit = 0;
inline constexpr uint8_t kLen14Bit = 1;
inline constexpr uint8_t kLen32Or64 = 2;
inline constexpr uint8_t kLenEncoded = 3;
inline constexpr uint8_t kLen32 = 0x80;
inline constexpr uint8_t kLen64 = 0x81;

// Special string encodings (low 6 bits after 11xxxxxx).
inline constexpr uint8_t kEncInt8 = 0;
inline constexpr uint8_t kEncInt16 = 1;
inline constexpr uint8_t kEncInt32 = 2;
inline constexpr uint8_t kEncLzf = 3;

// String-double special lengths (type 3 scores).
inline constexpr uint8_t kDoubleNan = 253;
inline constexpr uint8_t kDoublePosInf = 254;
inline constexpr uint8_t kDoubleNegInf = 255;

// Module value stream opcodes (MODULE_2 values, MODULE_AUX, KEY_META payloads).
inline constexpr uint64_t kModuleOpEof = 0;
inline constexpr uint64_t kModuleOpSint = 1;
inline constexpr uint64_t kModuleOpUint = 2;
inline constexpr uint64_t kModuleOpFloat = 3;
inline constexpr uint64_t kModuleOpDouble = 4;
inline constexpr uint64_t kModuleOpString = 5;

// QUICKLIST_2 node containers.
inline constexpr uint64_t kQuicklistNodePlain = 1;
inline constexpr uint64_t kQuicklistNodePacked = 2;

// Stream node keys are raw 16-byte big-endian stream IDs wrapped in an RDB string.
inline constexpr int kStreamIdSize = 16;

// ARRAY (28) element tags.
inline constexpr uint64_t kArrayTagSds = 0;
inline constexpr uint64_t kArrayTagInt = 1;
inline constexpr uint64_t kArrayTagFloat = 2;
inline constexpr uint64_t kArrayTagSmallStr = 3;

}  // namespace rdbrekey::rdb
