// Redis Cluster hash slots: which of the 16384 slots a key belongs to.
//
// The slot of a key is CRC16/XMODEM of the key (or of its hash tag) masked to 14 bits. The hash
// tag is the part between the first '{' and the first '}' after it, when that part is not empty:
//   "foo"                     -> crc16("foo") & 0x3FFF = 12182
//   "{condo:bull:queue}:rest" -> crc16("condo:bull:queue") & 0x3FFF (every key of the queue
//                                lands on one slot, so multi-key scripts over them work)
//   "foo{}{bar}"              -> the first "{}" is empty: the whole key is hashed
//   "foo{{bar}}zap"           -> the tag is "{bar"
// This is the same computation as the servers' keyHashSlot (Redis, Valkey).
//
// It runs once per key of a conversion: the CRC is computed by carry-less multiplication where
// the processor has it (no tables to miss in the cache), else sliced by 16; the brace test rides
// along with the CRC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace rdbrekey {

// The number of hash slots of a Redis/Valkey cluster (slots 0..16383).
constexpr int kClusterSlots = 16384;

// CRC16/XMODEM: polynomial 0x1021, initial value 0, not reflected, no final xor.
// Check value: crc16_xmodem("123456789", 9) == 0x31C3.
uint16_t crc16_xmodem(const void* data, size_t size) noexcept;

// The cluster slot (0..16383) of a key, hash tags included. Keys without '{' (nearly all) are
// read once: the brace test rides along with the CRC.
uint16_t key_hash_slot(std::string_view key) noexcept;
// The same for a name given as pieces (the bytes of the pieces in order, e.g. "P:" and the
// source key), without joining them unless a brace is among them.
uint16_t key_hash_slot(std::span<const std::string_view> pieces);

// The slot of a hash tag already found, given in pieces: CRC16 of their bytes, no brace rules
// ("{P:bull:" + queue + "}": the tag is "P:bull:" + queue when the queue holds no '}').
uint16_t hash_slot_of_tag(std::span<const std::string_view> pieces) noexcept;

// CRC16/XMODEM of a key, or kHasOpenBrace when it holds a '{' (its slot may then be a hash
// tag's). Read once, as key_hash_slot reads it.
constexpr uint32_t kHasOpenBrace = 0x10000;
uint32_t crc16_unless_brace(std::string_view key) noexcept;

// The slots of names made of one prefix P and a key K ("P:" + key, the renaming of most keys),
// from the key's CRC alone. CRC16/XMODEM is linear (initial value 0, no final xor) and leading
// zeros leave it unchanged, so crc16(P K) = crc16(P followed by |K| zero bytes) ^ crc16(K): the
// prefix's part depends only on the key's length, and is kept for lengths up to kLengths. The
// CRC of the key can so be computed before its new name is known, off the path of its write.
// Valid for names without a '{' (neither P nor K holds one; otherwise the tag rule applies).
class PrefixSlots {
 public:
  static constexpr size_t kLengths = 512;
  explicit PrefixSlots(std::string_view prefix) noexcept;
  // Whether slot() holds for a key of `key_size` bytes: P holds no '{', and the length is kept.
  bool usable() const noexcept { return usable_; }
  bool covers(size_t key_size) const noexcept { return usable_ && key_size < kLengths; }
  // The slot of P K, given crc16(K) (not kHasOpenBrace).
  uint16_t slot(uint32_t key_crc, size_t key_size) const noexcept {
    return static_cast<uint16_t>((key_crc ^ part_[key_size]) & (kClusterSlots - 1));
  }

 private:
  bool usable_ = false;  // P holds no '{'
  uint16_t part_[kLengths];
};

// The bytes of a key that decide its slot: the hash tag when there is a non-empty one, else the
// whole key (exposed for messages and tests).
std::string_view hash_tag_of(std::string_view key) noexcept;

// The two CRC engines, exposed for tests: both must agree with the definition everywhere.
namespace detail {
uint16_t crc16_xmodem_portable(const void* data, size_t size) noexcept;  // tables, any processor
bool crc16_clmul_available() noexcept;
uint16_t crc16_xmodem_clmul(const void* data, size_t size) noexcept;  // the portable one without PCLMULQDQ
uint16_t key_hash_slot_portable(std::span<const std::string_view> pieces);
uint16_t hash_slot_of_tag_portable(std::span<const std::string_view> pieces) noexcept;
}  // namespace detail

}  // namespace rdbrekey
