#include "rdbrekey/crc64.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rdbrekey {
namespace {

constexpr uint64_t kPolyReflected = 0x95ac9329ac4bc9b5ULL;

// Slice-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct Tables {
  std::array<std::array<uint64_t, 256>, 8> t{};
  constexpr Tables() {
    for (int b = 0; b < 256; ++b) {
      uint64_t c = static_cast<uint64_t>(b);
      for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
      t[0][b] = c;
    }
    for (int b = 0; b < 256; ++b) {
      uint64_t c = t[0][b];
      for (int k = 1; k < 8; ++k) {
        c = t[0][c & 0xff] ^ (c >> 8);
        t[k][b] = c;
      }
    }
  }
};

constexpr Tables kTables;

// GF(2) polynomial arithmetic modulo the reflected polynomial, for crc64_combine.
uint64_t gf2_multiply(uint64_t a, uint64_t b) noexcept {
  // Reflected representation: bit 63 is x^0. Multiply a*b mod P.
  uint64_t product = 0;
  for (int i = 0; i < 64; ++i) {
    if (b & (1ULL << 63)) product ^= a;
    b <<= 1;
    a = (a & 1) ? (a >> 1) ^ kPolyReflected : a >> 1;
  }
  return product;
}

// x^(8*n) mod P in the reflected representation.
uint64_t x_pow_8n(uint64_t n) noexcept {
  uint64_t result = 1ULL << 63;           // x^0
  uint64_t square = 1ULL << (63 - 8);     // x^8
  while (n) {
    if (n & 1) result = gf2_multiply(result, square);
    square = gf2_multiply(square, square);
    n >>= 1;
  }
  return result;
}

// One slice-by-8 step: the CRC continued over 8 bytes.
inline uint64_t step8(uint64_t crc, const unsigned char* p) noexcept {
  const auto& t = kTables.t;
  uint64_t v;
  std::memcpy(&v, p, 8);  // little-endian hosts only (x86-64, aarch64)
  v ^= crc;
  return t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
         t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
}

uint64_t crc64_serial(uint64_t crc, const unsigned char* p, size_t size) noexcept {
  const auto& t = kTables.t;
  for (; size >= 8; p += 8, size -= 8) crc = step8(crc, p);
  while (size--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

// x^n mod P, reflected (bit 63 is x^0).
uint64_t x_pow(unsigned n) noexcept {
  uint64_t a = 1ULL << 63;
  while (n--) a = (a & 1) ? (a >> 1) ^ kPolyReflected : a >> 1;
  return a;
}

#if defined(__x86_64__)
// Carry-less multiplication folding (PCLMULQDQ), for CPUs that have it.
//
// A 16-byte block loaded little-endian is a polynomial of degree < 128 whose first byte holds
// the highest degrees: its low 64-bit word is H (degrees 127..64), the high word L (63..0).
// Moving an accumulator A = H*x^64 + L forward over D bits: A*x^D = H*x^(D+64) + L*x^D, taken
// mod P as clmul(H, x^(D+63) mod P) ^ clmul(L, x^(D-1) mod P) — one less in each exponent
// because the product of two reflected 64-bit values lands one bit short in 128 bits.
// At the end A is congruent to the message mod P, so the CRC is the CRC of A's 16 bytes.
struct FoldConstants {
  __m128i by512, by384, by256, by128;
  FoldConstants() {
    auto pair = [](unsigned d) {
      return _mm_set_epi64x(static_cast<long long>(x_pow(d - 1)), static_cast<long long>(x_pow(d + 63)));
    };
    by512 = pair(512);
    by384 = pair(384);
    by256 = pair(256);
    by128 = pair(128);
  }
};

__attribute__((target("pclmul,sse2"))) inline __m128i fold(__m128i a, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00), _mm_clmulepi64_si128(a, k, 0x11));
}

__attribute__((target("pclmul,sse2"))) uint64_t crc64_pclmul(uint64_t crc, const unsigned char* p, size_t size) {
  static const FoldConstants k;
  auto load = [](const unsigned char* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  __m128i a0 = _mm_xor_si128(load(p), _mm_cvtsi64_si128(static_cast<long long>(crc)));
  __m128i a1 = load(p + 16), a2 = load(p + 32), a3 = load(p + 48);
  p += 64;
  size -= 64;
  for (; size >= 64; p += 64, size -= 64) {
    a0 = _mm_xor_si128(fold(a0, k.by512), load(p));
    a1 = _mm_xor_si128(fold(a1, k.by512), load(p + 16));
    a2 = _mm_xor_si128(fold(a2, k.by512), load(p + 32));
    a3 = _mm_xor_si128(fold(a3, k.by512), load(p + 48));
  }
  __m128i a = _mm_xor_si128(_mm_xor_si128(fold(a0, k.by384), fold(a1, k.by256)), _mm_xor_si128(fold(a2, k.by128), a3));
  for (; size >= 16; p += 16, size -= 16) a = _mm_xor_si128(fold(a, k.by128), load(p));
  // A is congruent to the message so far: its CRC is the CRC of A's 16 bytes.
  unsigned char folded[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(folded), a);
  return crc64_serial(step8(step8(0, folded), folded + 8), p, size);
}

const bool kHavePclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif

// Large inputs are hashed as four interleaved stripes (independent dependency chains keep the
// table lookups of all four in flight), then joined with crc64_combine's multiplication.
constexpr size_t kStripe = 8192;
}  // namespace

uint64_t crc64(uint64_t crc, const void* data, size_t size) noexcept {
#if defined(__x86_64__)
  if (kHavePclmul && size >= 128) return crc64_pclmul(crc, static_cast<const unsigned char*>(data), size);
#endif
  return crc64_portable(crc, data, size);
}

bool crc64_pclmul_compiled() noexcept {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

bool crc64_uses_pclmul() noexcept {
#if defined(__x86_64__)
  return kHavePclmul;
#else
  return false;
#endif
}

uint64_t crc64_portable(uint64_t crc, const void* data, size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size >= 4 * kStripe) {
    static const uint64_t shift = x_pow_8n(kStripe);
    do {
      uint64_t c0 = crc, c1 = 0, c2 = 0, c3 = 0;
      for (size_t i = 0; i < kStripe; i += 8) {
        c0 = step8(c0, p + i);
        c1 = step8(c1, p + kStripe + i);
        c2 = step8(c2, p + 2 * kStripe + i);
        c3 = step8(c3, p + 3 * kStripe + i);
      }
      crc = gf2_multiply(c0, shift) ^ c1;
      crc = gf2_multiply(crc, shift) ^ c2;
      crc = gf2_multiply(crc, shift) ^ c3;
      p += 4 * kStripe;
      size -= 4 * kStripe;
    } while (size >= 4 * kStripe);
  }
  return crc64_serial(crc, p, size);
}

uint64_t crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t size_b) noexcept {
  if (size_b == 0) return crc_a;
  return gf2_multiply(crc_a, x_pow_8n(size_b)) ^ crc_b;
}

}  // namespace rdbrekey
