// Hash slots: CRC16/XMODEM sliced by 8 (a 4-byte step, then single bytes, for the tail), and the
// hash tag rule of keyHashSlot.
#include "rdbrekey/hash_slot.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

namespace rdbrekey {
namespace {

constexpr uint16_t kPoly = 0x1021;

// Slice-by-8 tables: t[k][b] is the CRC (from 0) of byte b followed by k zero bytes. The CRC is
// linear, so the CRC of 8 bytes is the xor of the CRCs of each byte followed by the zeros after
// it, with the running CRC xored into the first two bytes (the register is not reflected: its
// high byte meets the first byte).
struct Crc16Tables {
  std::array<std::array<uint16_t, 256>, 16> t{};
  constexpr Crc16Tables() {
    for (int b = 0; b < 256; ++b) {
      uint16_t c = static_cast<uint16_t>(b << 8);
      for (int i = 0; i < 8; ++i) c = static_cast<uint16_t>((c & 0x8000) ? (c << 1) ^ kPoly : c << 1);
      t[0][b] = c;
    }
    for (int k = 1; k < 16; ++k) {
      for (int b = 0; b < 256; ++b) {
        const uint16_t prev = t[k - 1][b];
        t[k][b] = static_cast<uint16_t>((prev << 8) ^ t[0][prev >> 8]);
      }
    }
  }
};

constexpr Crc16Tables kTables;

// 8 bytes as a big-endian number: the first byte in the top bits.
inline uint64_t load_big_endian(const unsigned char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// The CRC continued over 8 bytes. Only the first two lookups depend on the running CRC, so the
// other six of one step overlap with the previous step.
inline uint16_t crc16_step8(uint16_t crc, const unsigned char* p) noexcept {
  const uint64_t v = load_big_endian(p);
  const auto& t = kTables.t;
  const uint16_t rest = t[5][(v >> 40) & 0xff] ^ t[4][(v >> 32) & 0xff] ^ t[3][(v >> 24) & 0xff] ^
                        t[2][(v >> 16) & 0xff] ^ t[1][(v >> 8) & 0xff] ^ t[0][v & 0xff];
  return static_cast<uint16_t>(t[7][(v >> 56) ^ (crc >> 8)] ^ t[6][((v >> 48) & 0xff) ^ (crc & 0xff)] ^ rest);
}

// The CRC continued over 4 bytes (the tables of 3..0 zero bytes after), for the tail.
// 16 bytes at once: only the first two lookups depend on the running CRC.
inline uint16_t crc16_step16(uint16_t crc, const unsigned char* p) noexcept {
  const uint64_t hi = load_big_endian(p);
  const uint64_t lo = load_big_endian(p + 8);
  const auto& t = kTables.t;
  const uint16_t rest_hi = t[13][(hi >> 40) & 0xff] ^ t[12][(hi >> 32) & 0xff] ^ t[11][(hi >> 24) & 0xff] ^
                           t[10][(hi >> 16) & 0xff] ^ t[9][(hi >> 8) & 0xff] ^ t[8][hi & 0xff];
  const uint16_t rest_lo = t[7][lo >> 56] ^ t[6][(lo >> 48) & 0xff] ^ t[5][(lo >> 40) & 0xff] ^
                           t[4][(lo >> 32) & 0xff] ^ t[3][(lo >> 24) & 0xff] ^ t[2][(lo >> 16) & 0xff] ^
                           t[1][(lo >> 8) & 0xff] ^ t[0][lo & 0xff];
  return static_cast<uint16_t>(t[15][(hi >> 56) ^ (crc >> 8)] ^ t[14][((hi >> 48) & 0xff) ^ (crc & 0xff)] ^ rest_hi ^
                               rest_lo);
}

inline uint16_t crc16_step2(uint16_t crc, const unsigned char* p) noexcept {
  const auto& t = kTables.t;
  return static_cast<uint16_t>(t[1][p[0] ^ (crc >> 8)] ^ t[0][p[1] ^ (crc & 0xff)]);
}

inline uint16_t crc16_step4(uint16_t crc, const unsigned char* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
  const auto& t = kTables.t;
  const uint16_t rest = t[1][(v >> 8) & 0xff] ^ t[0][v & 0xff];
  return static_cast<uint16_t>(t[3][(v >> 24) ^ (crc >> 8)] ^ t[2][((v >> 16) & 0xff) ^ (crc & 0xff)] ^ rest);
}

// The CRC continued over one byte.
inline uint16_t crc16_step1(uint16_t crc, unsigned char byte) noexcept {
  return static_cast<uint16_t>((crc << 8) ^ kTables.t[0][(crc >> 8) ^ byte]);
}

}  // namespace

uint16_t crc16_xmodem(const void* data, size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  uint16_t crc = 0;
  for (; size >= 8; size -= 8, p += 8) crc = crc16_step8(crc, p);
  if (size >= 4) {
    crc = crc16_step4(crc, p);
    size -= 4;
    p += 4;
  }
  for (; size > 0; --size, ++p) crc = crc16_step1(crc, *p);
  return crc;
}

std::string_view hash_tag_of(std::string_view key) noexcept {
  const char* begin = key.data();
  const size_t size = key.size();
  if (size < 2) return key;
  const auto* open = static_cast<const char*>(std::memchr(begin, '{', size));
  if (open == nullptr) return key;
  const char* tag = open + 1;
  const auto* close = static_cast<const char*>(std::memchr(tag, '}', static_cast<size_t>(begin + size - tag)));
  if (close == nullptr || close == tag) return key;
  return {tag, static_cast<size_t>(close - tag)};
}

namespace {

// Whether any of the 8 bytes of `v` is '{' (the classic "has a zero byte" test on v ^ '{'s).
inline bool has_open_brace(uint64_t v) noexcept {
  const uint64_t x = v ^ 0x7b7b7b7b7b7b7b7bULL;
  return ((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) != 0;
}

// Continues `crc` over the bytes while none is '{'; returns false at the first '{' (crc is then
// not meaningful). Keys without a brace, nearly all of them, are read once.
inline bool crc16_update_unless_brace(uint16_t& crc, const unsigned char* p, size_t size) noexcept {
  for (; size >= 16; size -= 16, p += 16) {
    uint64_t a, b;
    std::memcpy(&a, p, sizeof a);
    std::memcpy(&b, p + 8, sizeof b);
    if (has_open_brace(a) || has_open_brace(b)) return false;
    crc = crc16_step16(crc, p);
  }
  if (size >= 8) {
    uint64_t raw;
    std::memcpy(&raw, p, sizeof raw);
    if (has_open_brace(raw)) return false;
    crc = crc16_step8(crc, p);
    size -= 8;
    p += 8;
  }
  for (; size >= 2; size -= 2, p += 2) {
    if (p[0] == '{' || p[1] == '{') return false;
    crc = crc16_step2(crc, p);
  }
  if (size) {
    if (*p == '{') return false;
    crc = crc16_step1(crc, *p);
  }
  return true;
}

inline uint16_t slot_of_tagged(std::string_view key) noexcept {
  const std::string_view hashed = hash_tag_of(key);
  return static_cast<uint16_t>(crc16_xmodem(hashed.data(), hashed.size()) & (kClusterSlots - 1));
}

}  // namespace

uint16_t key_hash_slot(std::string_view key) noexcept {
  uint16_t crc = 0;
  if (crc16_update_unless_brace(crc, reinterpret_cast<const unsigned char*>(key.data()), key.size()))
    return static_cast<uint16_t>(crc & (kClusterSlots - 1));
  return slot_of_tagged(key);
}

uint16_t key_hash_slot(std::span<const std::string_view> pieces) {
  uint16_t crc = 0;
  bool plain = true;
  for (std::string_view piece : pieces)
    if (!(plain = crc16_update_unless_brace(crc, reinterpret_cast<const unsigned char*>(piece.data()), piece.size())))
      break;
  if (plain) return static_cast<uint16_t>(crc & (kClusterSlots - 1));
  // A brace somewhere: the tag may span pieces, so the name is joined (on the stack when short).
  size_t size = 0;
  for (std::string_view piece : pieces) size += piece.size();
  char small[512];
  std::string large;
  char* out = small;
  if (size > sizeof small) {
    large.resize(size);
    out = large.data();
  }
  size_t at = 0;
  for (std::string_view piece : pieces) {
    std::memcpy(out + at, piece.data(), piece.size());
    at += piece.size();
  }
  return slot_of_tagged({out, size});
}

}  // namespace rdbrekey
