// CRC-64 of the RDB trailer: the "Jones" polynomial 0xad93d23594c935a9, reflected in and out,
// initial value 0, no final xor. Check value: crc64(0, "123456789") == 0xe9c6d914c4b8d9ca.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rdbrekey {

// Continues `crc` over `size` bytes at `data`; start a new checksum with crc = 0.
uint64_t crc64(uint64_t crc, const void* data, size_t size) noexcept;

// The same without carry-less multiplication instructions (the fallback on CPUs without
// PCLMULQDQ; exposed for tests and benchmarks).
uint64_t crc64_portable(uint64_t crc, const void* data, size_t size) noexcept;

// Whether the carry-less multiplication path (PCLMULQDQ) is compiled in (x86-64 builds), and
// whether crc64() uses it on this CPU (it needs PCLMULQDQ and SSE4.1; decided once at start-up).
bool crc64_pclmul_compiled() noexcept;
bool crc64_uses_pclmul() noexcept;

// The CRC of A followed by B, given crc(A), crc(B) and B's length: lets a checksum of a copied
// range be reused instead of hashing the same bytes twice.
uint64_t crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t size_b) noexcept;

}  // namespace rdbrekey
