// Hash slots: CRC16/XMODEM by carry-less multiplication where the processor has it (PCLMULQDQ,
// every x86-64 since 2010), else sliced by 16 with tables; and the hash tag rule of keyHashSlot.
#include "rdbrekey/hash_slot.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// The CRC continued over `size` bytes.
uint16_t crc16_continue(uint16_t crc, const unsigned char* p, size_t size) noexcept {
  for (; size >= 8; size -= 8, p += 8) crc = crc16_step8(crc, p);
  if (size >= 4) {
    crc = crc16_step4(crc, p);
    size -= 4;
    p += 4;
  }
  for (; size > 0; --size, ++p) crc = crc16_step1(crc, *p);
  return crc;
}

}  // namespace

uint16_t detail::crc16_xmodem_portable(const void* data, size_t size) noexcept {
  return crc16_continue(0, static_cast<const unsigned char*>(data), size);
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

// The table engine: the running CRC itself is the state.
struct TableCrc {
  uint16_t crc = 0;
  void absorb(const unsigned char* p, size_t size) noexcept { crc = crc16_continue(crc, p, size); }
  bool absorb_unless_brace(const unsigned char* p, size_t size) noexcept { return crc16_update_unless_brace(crc, p, size); }
  uint16_t finish() const noexcept { return crc; }
};

#if defined(__x86_64__)
// The carry-less engine. The CRC of a message M (first byte in the highest terms) is
// M(x)·x^16 mod P(x), P = x^16 + 0x1021, and leading zero bytes do not change it. The state A is
// a polynomial of at most 128 bits congruent to the message so far, kept in a vector register.
// Appending k bytes W (1 <= k <= 16):
//   A <- A·x^8k + W  ≡  A_hi·(x^(8k+64) mod P) + A_lo·(x^8k mod P) + W
// with A = A_hi·x^64 + A_lo: two independent 64x16-bit carry-less products (one instruction
// each, on the two halves of one register) of at most 79 bits. The first bytes of a message just
// become the state. At the end A is folded to 64 bits R the same way (A_hi split in 32-bit
// halves), and CRC = R·x^16 mod P by Barrett reduction (exact over GF(2)):
//   mu = floor(x^80 / P) = x^64 + mu_lo,  q = R + floor(R·mu_lo / x^64),  CRC = (q·0x1021) mod x^16.
// A piece is read head first (its length mod 16), then in blocks of 16: no tables but a few
// constants, nothing to miss in the cache while the conversion streams through it.
constexpr uint32_t x_pow_mod(unsigned n) {
  uint32_t r = 1;
  for (unsigned i = 0; i < n; ++i) {
    r <<= 1;
    if (r & 0x10000) r ^= 0x10000 | kPoly;
  }
  return r;
}

// floor(x^80 / P) by long division, a bit at a time: `rem` holds the 17 leading terms of the
// dividend still to divide. Its x^64 term is dropped (it is the leading 1 of every quotient).
constexpr uint64_t barrett_mu_lo() {
  uint32_t rem = 0x10000 ^ (0x10000 | kPoly);  // degree 80: quotient term x^64
  uint64_t quotient = 0;
  for (int degree = 79; degree >= 16; --degree) {
    rem <<= 1;
    if (rem & 0x10000) {
      rem ^= 0x10000 | kPoly;
      quotient |= uint64_t{1} << (degree - 16);
    }
  }
  return quotient;
}

struct alignas(16) ClmulConstants {
  // shift[k]: {x^8k mod P, x^(8k+64) mod P} as the low and high halves of a register.
  uint64_t shift[17][2]{};
  // head[k] / tail[k]: byte shuffles that put the first k bytes of a 16-byte load taken at the
  // bytes (head) or ending at their end (tail) in big-endian order in the low k bytes, zeros above.
  int8_t head[17][16]{};
  int8_t tail[17][16]{};
  int8_t reverse[16]{};
  uint64_t fold64[2]{};   // {x^64 mod P, x^96 mod P}
  uint64_t barrett[2]{};  // {mu_lo, P without x^16}
  constexpr ClmulConstants() {
    for (unsigned k = 1; k <= 16; ++k) {
      shift[k][0] = x_pow_mod(8 * k);
      shift[k][1] = x_pow_mod(8 * k + 64);
      for (int j = 0; j < 16; ++j) {
        head[k][j] = j < static_cast<int>(k) ? static_cast<int8_t>(static_cast<int>(k) - 1 - j) : int8_t{-128};
        tail[k][j] = j < static_cast<int>(k) ? static_cast<int8_t>(15 - j) : int8_t{-128};
      }
    }
    for (int j = 0; j < 16; ++j) reverse[j] = static_cast<int8_t>(15 - j);
    fold64[0] = x_pow_mod(64);
    fold64[1] = x_pow_mod(96);
    barrett[0] = barrett_mu_lo();
    barrett[1] = kPoly;
  }
};
constexpr ClmulConstants kClmul;

#define RDBREKEY_CLMUL __attribute__((target("pclmul,ssse3,sse4.1")))

RDBREKEY_CLMUL inline __m128i load16(const void* p) noexcept {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
RDBREKEY_CLMUL inline __m128i constant(const void* p) noexcept {
  return _mm_load_si128(static_cast<const __m128i*>(p));
}

// 16 bytes of which the caller uses only some, the others possibly beyond the object (within
// its page): not an access the address sanitizer should judge.
RDBREKEY_CLMUL __attribute__((no_sanitize("address"))) inline __m128i load16_beyond(const unsigned char* p) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// The first k (1..15) bytes at p, big-endian in the low k bytes. Reads 16 bytes within p's page
// (never past it, so never a fault), of which only the k asked for count.
RDBREKEY_CLMUL inline __m128i load_head(const unsigned char* p, size_t k) noexcept {
  if ((reinterpret_cast<uintptr_t>(p) & 4095) <= 4096 - 16)
    return _mm_shuffle_epi8(load16_beyond(p), constant(kClmul.head[k]));
  return _mm_shuffle_epi8(load16_beyond(p + k - 16), constant(kClmul.tail[k]));
}

RDBREKEY_CLMUL inline bool has_open_brace(__m128i v) noexcept {
  return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('{'))) != 0;
}

struct ClmulCrc {
  __m128i a = _mm_setzero_si128();
  bool empty = true;

  RDBREKEY_CLMUL [[gnu::always_inline]] void append(__m128i w, size_t k) noexcept {
    if (empty) {
      a = w;
      empty = false;
      return;
    }
    const __m128i c = constant(kClmul.shift[k]);
    a = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(a, c, 0x00), _mm_clmulepi64_si128(a, c, 0x11)), w);
  }
  // Bytes of a message; no brace test.
  RDBREKEY_CLMUL [[gnu::always_inline]] void absorb(const unsigned char* p, size_t size) noexcept {
    const size_t head = size & 15;
    if (head) {
      append(size >= 16 ? _mm_shuffle_epi8(load16(p), constant(kClmul.head[head])) : load_head(p, head), head);
      p += head;
      size -= head;
    }
    const __m128i reverse = constant(kClmul.reverse);
    for (; size; size -= 16, p += 16) append(_mm_shuffle_epi8(load16(p), reverse), 16);
  }
  // The same, stopping with false at a '{' (the state is then not meaningful). The bytes a short
  // load reads beyond the piece are shuffled out (zeros) before the test.
  RDBREKEY_CLMUL [[gnu::always_inline]] bool absorb_unless_brace(const unsigned char* p, size_t size) noexcept {
    const size_t head = size & 15;
    if (head) {
      const __m128i w = size >= 16 ? _mm_shuffle_epi8(load16(p), constant(kClmul.head[head])) : load_head(p, head);
      if (has_open_brace(w)) return false;
      append(w, head);
      p += head;
      size -= head;
    }
    const __m128i reverse = constant(kClmul.reverse);
    for (; size; size -= 16, p += 16) {
      const __m128i raw = load16(p);
      if (has_open_brace(raw)) return false;
      append(_mm_shuffle_epi8(raw, reverse), 16);
    }
    return true;
  }
  RDBREKEY_CLMUL [[gnu::always_inline]] uint16_t finish() const noexcept {
    if (empty) return 0;
    // A = A_hh·x^96 + A_hl·x^64 + A_lo  ≡  A_hh·(x^96 mod P) + A_hl·(x^64 mod P) + A_lo: 64 bits.
    const __m128i halves = _mm_unpackhi_epi32(a, _mm_setzero_si128());  // {A_hl, A_hh}
    const __m128i f = constant(kClmul.fold64);
    const __m128i r = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(halves, f, 0x00), _mm_clmulepi64_si128(halves, f, 0x11)),
                                    _mm_move_epi64(a));
    const __m128i b = constant(kClmul.barrett);
    const __m128i q = _mm_xor_si128(r, _mm_srli_si128(_mm_clmulepi64_si128(r, b, 0x00), 8));
    return static_cast<uint16_t>(_mm_cvtsi128_si32(_mm_clmulepi64_si128(q, b, 0x10)));
  }
};

const bool kHaveClmul =
    __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
#endif

inline uint16_t slot_of_tagged(std::string_view key) noexcept {
  const std::string_view hashed = hash_tag_of(key);
  return static_cast<uint16_t>(crc16_xmodem(hashed.data(), hashed.size()) & (kClusterSlots - 1));
}

// The slot of a name, whole or in pieces, with an engine (TableCrc, ClmulCrc). A macro rather
// than a template: the carry-less engine inlines only into functions compiled for PCLMULQDQ.
#define RDBREKEY_SLOT_OF_KEY(Crc, key)                                                          \
  do {                                                                                          \
    Crc crc;                                                                                    \
    if (crc.absorb_unless_brace(reinterpret_cast<const unsigned char*>((key).data()), (key).size())) \
      return static_cast<uint16_t>(crc.finish() & (kClusterSlots - 1));                        \
    return slot_of_tagged(key);                                                                 \
  } while (0)
#define RDBREKEY_SLOT_OF_PIECES(Crc, pieces)                                                      \
  do {                                                                                            \
    Crc crc;                                                                                      \
    for (std::string_view piece : (pieces))                                                       \
      if (!crc.absorb_unless_brace(reinterpret_cast<const unsigned char*>(piece.data()), piece.size())) \
        return slot_of_joined(pieces);                                                            \
    return static_cast<uint16_t>(crc.finish() & (kClusterSlots - 1));                            \
  } while (0)

uint16_t slot_of_joined(std::span<const std::string_view> pieces);

uint16_t slot_portable(std::string_view key) noexcept { RDBREKEY_SLOT_OF_KEY(TableCrc, key); }
uint16_t slot_portable(std::span<const std::string_view> pieces) { RDBREKEY_SLOT_OF_PIECES(TableCrc, pieces); }

// A brace somewhere: the tag may span pieces, so the name is joined (on the stack when short).
uint16_t slot_of_joined(std::span<const std::string_view> pieces) {
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

#if defined(__x86_64__)
RDBREKEY_CLMUL uint16_t crc16_clmul(const void* data, size_t size) noexcept {
  ClmulCrc crc;
  crc.absorb(static_cast<const unsigned char*>(data), size);
  return crc.finish();
}
RDBREKEY_CLMUL uint16_t slot_clmul(std::string_view key) noexcept { RDBREKEY_SLOT_OF_KEY(ClmulCrc, key); }
RDBREKEY_CLMUL uint16_t slot_clmul(std::span<const std::string_view> pieces) { RDBREKEY_SLOT_OF_PIECES(ClmulCrc, pieces); }
RDBREKEY_CLMUL uint32_t crc_unless_brace_clmul(std::string_view key) noexcept {
  ClmulCrc crc;
  if (!crc.absorb_unless_brace(reinterpret_cast<const unsigned char*>(key.data()), key.size())) return kHasOpenBrace;
  return crc.finish();
}
RDBREKEY_CLMUL uint16_t tag_slot_clmul(std::span<const std::string_view> pieces) noexcept {
  ClmulCrc crc;
  for (std::string_view piece : pieces) crc.absorb(reinterpret_cast<const unsigned char*>(piece.data()), piece.size());
  return static_cast<uint16_t>(crc.finish() & (kClusterSlots - 1));
}
#endif

}  // namespace

bool detail::crc16_clmul_available() noexcept {
#if defined(__x86_64__)
  return kHaveClmul;
#else
  return false;
#endif
}

uint16_t detail::crc16_xmodem_clmul(const void* data, size_t size) noexcept {
#if defined(__x86_64__)
  if (kHaveClmul) return crc16_clmul(data, size);
#endif
  return crc16_xmodem_portable(data, size);
}

uint16_t detail::key_hash_slot_portable(std::span<const std::string_view> pieces) {
  return slot_portable(pieces);
}

uint16_t crc16_xmodem(const void* data, size_t size) noexcept { return detail::crc16_xmodem_clmul(data, size); }

uint16_t key_hash_slot(std::string_view key) noexcept {
#if defined(__x86_64__)
  if (kHaveClmul) return slot_clmul(key);
#endif
  return slot_portable(key);
}

uint16_t key_hash_slot(std::span<const std::string_view> pieces) {
#if defined(__x86_64__)
  if (kHaveClmul) return slot_clmul(pieces);
#endif
  return slot_portable(pieces);
}

uint32_t crc16_unless_brace(std::string_view key) noexcept {
#if defined(__x86_64__)
  if (kHaveClmul) return crc_unless_brace_clmul(key);
#endif
  TableCrc crc;
  if (!crc.absorb_unless_brace(reinterpret_cast<const unsigned char*>(key.data()), key.size())) return kHasOpenBrace;
  return crc.finish();
}

PrefixSlots::PrefixSlots(std::string_view prefix) noexcept {
  usable_ = std::memchr(prefix.data(), '{', prefix.size()) == nullptr;
  uint16_t crc = crc16_continue(0, reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size());
  for (size_t n = 0; n < kLengths; ++n) {
    part_[n] = crc;
    crc = crc16_step1(crc, 0);  // one more zero byte after the prefix
  }
}

uint16_t hash_slot_of_tag(std::span<const std::string_view> pieces) noexcept {
#if defined(__x86_64__)
  if (kHaveClmul) return tag_slot_clmul(pieces);
#endif
  return detail::hash_slot_of_tag_portable(pieces);
}

uint16_t detail::hash_slot_of_tag_portable(std::span<const std::string_view> pieces) noexcept {
  TableCrc crc;
  for (std::string_view piece : pieces) crc.absorb(reinterpret_cast<const unsigned char*>(piece.data()), piece.size());
  return static_cast<uint16_t>(crc.finish() & (kClusterSlots - 1));
}

}  // namespace rdbrekey
