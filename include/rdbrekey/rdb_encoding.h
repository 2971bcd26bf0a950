// The RDB encoding core: every primitive a writer of RDB files needs, encoded in one place.
//
// Used by the RDB writer (src/rdb_writer.cpp), the generator (tools/rdbgen_lib.cpp) and the
// tests' RdbBuilder. Reading is elsewhere (rdb_input.h, value_walker.h); see format.h for the
// constants and ../shared/spec/rdb-format.md (§3, §5.1) for the sources.
//
// Two layers:
//   encode_*(uint8_t* out, ...)  writes one primitive into a small caller buffer (its maximum
//                                size is a kMax*Size constant) and returns the bytes written;
//   append_*(out, ...)           appends it to a ByteOutput: a ByteSink (in place, through
//                                reserve/commit) or a std::string (tests), with the same code.
// Builders (listpack, ziplist, intset) make the in-memory serializations that RDB stores as a
// "blob" (one RDB string).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/format.h"

namespace rdbrekey {

// ---------------------------------------------------------------------------------------------
// Outputs and fixed-width integers

// Where append_* functions write: a ByteSink (any subclass) or a std::string.
template <class T>
concept ByteOutput = std::derived_from<T, ByteSink> || std::same_as<T, std::string>;

inline void append_raw(ByteSink& sink, const void* data, size_t size) { sink.write(data, size); }
inline void append_raw(std::string& out, const void* data, size_t size) {
  out.append(static_cast<const char*>(data), size);
}
inline void append_byte(ByteSink& sink, uint8_t b) { sink.put(b); }
inline void append_byte(std::string& out, uint8_t b) { out.push_back(static_cast<char>(b)); }

// Runs `encode(uint8_t* buf) -> size_t`, which writes at most kMax bytes, into the output:
// straight into a sink's buffer, or through a stack buffer into a string.
template <size_t kMax, class Encode>
inline void append_encoded(ByteSink& sink, Encode&& encode) {
  static_assert(kMax <= 64, "ByteSink::reserve guarantees 64 bytes");
  uint8_t* p = sink.reserve(kMax);
  sink.commit(encode(p));
}
template <size_t kMax, class Encode>
inline void append_encoded(std::string& out, Encode&& encode) {
  uint8_t buf[kMax];
  size_t n = encode(buf);
  out.append(reinterpret_cast<const char*>(buf), n);
}

// The low `width` bytes of v, least significant first / most significant first.
inline void store_little_endian(uint8_t* out, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void store_big_endian(uint8_t* out, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out[i] = static_cast<uint8_t>(v >> (8 * (width - 1 - i)));
}

// ---------------------------------------------------------------------------------------------
// Lengths (spec §3.1)
//
//   00xxxxxx                  0 .. 63                 1 byte
//   01xxxxxx yyyyyyyy         64 .. 16383             2 bytes, 14 bits big-endian
//   0x80 b3 b2 b1 b0          16384 .. 2^32-1         5 bytes, 32 bits big-endian
//   0x81 b7 .. b0             2^32 ..                 9 bytes, 64 bits big-endian (RDB >= 8)
//
// Servers always write the shortest form. The fixed-width forms also hold small numbers: the
// writer uses them for a RESIZEDB hint that it patches in place once the counts are known.

inline constexpr size_t kMaxLengthSize = 9;

// 0x81 + 8 bytes when `wide`, else 0x80 + 4 bytes (`len` must then fit 32 bits).
inline size_t encode_fixed_length(uint8_t* out, uint64_t len, bool wide) {
  const int bytes = wide ? 8 : 4;
  out[0] = wide ? rdb::kLen64 : rdb::kLen32;
  store_big_endian(out + 1, len, bytes);
  return 1 + static_cast<size_t>(bytes);
}

// The shortest form of `len` (room for kMaxLengthSize bytes); returns its size.
inline size_t encode_length(uint8_t* out, uint64_t len) {
  if (len < (1u << 6)) {
    out[0] = static_cast<uint8_t>(len);
    return 1;
  }
  if (len < (1u << 14)) {
    out[0] = static_cast<uint8_t>(0x40 | (len >> 8));
    out[1] = static_cast<uint8_t>(len);
    return 2;
  }
  return encode_fixed_length(out, len, len > 0xffffffffULL);
}

template <ByteOutput Out>
void append_length(Out& out, uint64_t len) {
  append_encoded<kMaxLengthSize>(out, [len](uint8_t* p) { return encode_length(p, len); });
}

// ---------------------------------------------------------------------------------------------
// Strings (spec §3.2)
//
//   plain      len(n) + n bytes
//   integer    0xC0 int8 | 0xC1 int16-LE | 0xC2 int32-LE    read back as its decimal text
//   LZF        0xC3 len(clen) len(ulen) + clen bytes of LZF data (liblzf's format)
//
// rdbSaveRawString (what a server writes for every key and string value):
//   1. text of at most 11 bytes that is a canonical decimal int32 -> integer (smallest width)
//   2. else, with rdbcompression yes and more than 20 bytes: LZF when the compressed data is
//      at most n - 4 bytes
//   3. else plain

// Redis' string2ll (and listpack's lpStringToInt64): whether `s` is the canonical decimal text
// of an int64 (no '+', no leading zeros, no "-0", no spaces, at most 20 bytes).
bool canonical_int(std::string_view s, int64_t& out);

// rdbTryIntegerEncoding: whether `s` is stored as an integer string, and which.
inline constexpr size_t kMaxIntEncodedText = 11;  // "-2147483648"
inline bool int_encodable(std::string_view s, int32_t& out) {
  int64_t v;
  if (s.size() > kMaxIntEncodedText || !canonical_int(s, v) || v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<int32_t>(v);
  return true;
}

inline constexpr size_t kMaxIntStringSize = 5;

// 0xC0 + 1 byte, 0xC1 + 2 bytes LE or 0xC2 + 4 bytes LE: the smallest that holds `v`.
inline size_t encode_int_string(uint8_t* out, int32_t v) {
  const auto u = static_cast<uint64_t>(static_cast<int64_t>(v));
  int width = v >= INT8_MIN && v <= INT8_MAX ? 1 : v >= INT16_MIN && v <= INT16_MAX ? 2 : 4;
  uint8_t enc = width == 1 ? rdb::kEncInt8 : width == 2 ? rdb::kEncInt16 : rdb::kEncInt32;
  out[0] = static_cast<uint8_t>((rdb::kLenEncoded << 6) | enc);
  store_little_endian(out + 1, u, width);
  return 1 + static_cast<size_t>(width);
}

template <ByteOutput Out>
void append_int_string(Out& out, int32_t v) {
  append_encoded<kMaxIntStringSize>(out, [v](uint8_t* p) { return encode_int_string(p, v); });
}

template <ByteOutput Out>
void append_plain_string(Out& out, std::string_view s) {
  append_length(out, s.size());
  append_raw(out, s.data(), s.size());
}

inline constexpr size_t kMaxLzfHeaderSize = 1 + 2 * kMaxLengthSize;

// 0xC3 len(compressed_size) len(plain_size); the compressed bytes follow.
inline size_t encode_lzf_header(uint8_t* out, uint64_t compressed_size, uint64_t plain_size) {
  out[0] = static_cast<uint8_t>((rdb::kLenEncoded << 6) | rdb::kEncLzf);
  size_t n = 1 + encode_length(out + 1, compressed_size);
  return n + encode_length(out + n, plain_size);
}

// An LZF string of `plain_size` bytes whose LZF data is `compressed`.
template <ByteOutput Out>
void append_lzf_string(Out& out, std::string_view compressed, uint64_t plain_size) {
  append_encoded<kMaxLzfHeaderSize>(
      out, [&](uint8_t* p) { return encode_lzf_header(p, compressed.size(), plain_size); });
  append_raw(out, compressed.data(), compressed.size());
}

// LZF is only tried on strings longer than 20 bytes, and kept when it saves at least 4.
inline constexpr size_t kLzfMinPlainSize = 21;
inline constexpr size_t kLzfMinSaving = 4;

enum class StringEncoding : uint8_t { kInt, kLzf, kPlain };

// A compressor for append_string: `compress(plain, max_size)` returns LZF data of at most
// max_size bytes (valid until its next call), or an empty view when it does not fit.
template <class C>
concept LzfCompress = requires(C c, std::string_view s, size_t max) {
  { c(s, max) } -> std::convertible_to<std::string_view>;
};

// An RDB string encoded as rdbSaveRawString does with rdbcompression yes; returns the form.
template <ByteOutput Out, LzfCompress Compress>
StringEncoding append_string(Out& out, std::string_view s, Compress&& compress) {
  int32_t v;
  if (int_encodable(s, v)) {
    append_int_string(out, v);
    return StringEncoding::kInt;
  }
  if (s.size() >= kLzfMinPlainSize) {
    std::string_view packed = compress(s, s.size() - kLzfMinSaving);
    if (!packed.empty()) {
      append_lzf_string(out, packed, s.size());
      return StringEncoding::kLzf;
    }
  }
  append_plain_string(out, s);
  return StringEncoding::kPlain;
}

// The same with rdbcompression no: integer or plain.
template <ByteOutput Out>
StringEncoding append_string(Out& out, std::string_view s) {
  return append_string(out, s, [](std::string_view, size_t) { return std::string_view(); });
}

// liblzf's lzf_compress (what Redis itself uses) as a compressor for append_string.
class LiblzfCompressor {
 public:
  std::string_view operator()(std::string_view plain, size_t max_size);

 private:
  std::vector<uint8_t> buf_;
};

// ---------------------------------------------------------------------------------------------
// Numbers and IDs inside values (spec §3.3 - §3.5)
//
//   binary double    8 bytes IEEE-754 binary64, little-endian    (ZSET_2 scores, module DOUBLE)
//   int64 / time     8 bytes little-endian                       (EXPIRETIME_MS, stream times)
//   stream ID        16 bytes: ms u64 big-endian, seq u64 big-endian (PELs, node keys)

inline size_t encode_le64(uint8_t* out, uint64_t v) {
  store_little_endian(out, v, 8);
  return 8;
}
inline size_t encode_binary_double(uint8_t* out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return encode_le64(out, bits);
}
inline size_t encode_stream_id(uint8_t* out, uint64_t ms, uint64_t seq) {
  store_big_endian(out, ms, 8);
  store_big_endian(out + 8, seq, 8);
  return rdb::kStreamIdSize;
}

template <ByteOutput Out>
void append_le64(Out& out, uint64_t v) {
  append_encoded<8>(out, [v](uint8_t* p) { return encode_le64(p, v); });
}
template <ByteOutput Out>
void append_binary_double(Out& out, double d) {
  append_encoded<8>(out, [d](uint8_t* p) { return encode_binary_double(p, d); });
}
template <ByteOutput Out>
void append_stream_id(Out& out, uint64_t ms, uint64_t seq) {
  append_encoded<rdb::kStreamIdSize>(out, [=](uint8_t* p) { return encode_stream_id(p, ms, seq); });
}

// ---------------------------------------------------------------------------------------------
// Listpack (Redis listpack.c; spec §5.1)
//
//   u32 total_bytes LE | u16 count LE (65535: count unknown, walk it) | entry* | 0xFF
//   entry = encoding [+ data] + backlen
//
//   encoding                                   holds
//   0xxxxxxx                                   uint 0 .. 127
//   110xxxxx yyyyyyyy                          int -4096 .. 4095 (13-bit two's complement)
//   0xF1 + 2 LE | 0xF2 + 3 LE | 0xF3 + 4 LE | 0xF4 + 8 LE    int16 / int24 / int32 / int64
//   10xxxxxx + data                            string of 0 .. 63 bytes
//   1110xxxx yyyyyyyy + data                   string of 64 .. 4095 bytes (12-bit length, BE)
//   0xF0 + 4 LE + data                         string of 4096 .. bytes
//
//   backlen = size of encoding + data, 7 bits per byte, read right to left from the entry's
//   end: the last byte holds the lowest 7 bits, every byte but the first has its top bit set
//   (1 byte up to 127, 2 below 16383, 3 below 2097151, 4 below 268435455, else 5).

inline constexpr size_t kMaxListpackIntSize = 9;
inline constexpr size_t kMaxListpackStringHeaderSize = 5;
inline constexpr size_t kMaxListpackBacklenSize = 5;
inline constexpr size_t kListpackHeaderSize = 6;

size_t encode_listpack_int(uint8_t* out, int64_t v);
size_t encode_listpack_string_header(uint8_t* out, uint64_t len);
size_t encode_listpack_backlen(uint8_t* out, uint64_t entry_size);

// Builds one listpack: add entries, then finish() for the bytes.
class ListpackBuilder {
 public:
  ListpackBuilder() { reset(); }
  void reset();

  // As lpAppend: text that is a canonical integer (canonical_int) is stored as an integer.
  void add(std::string_view s);
  void add_int(int64_t v);
  // Always a string entry, even for "12".
  void add_string(std::string_view s);
  // Appends the entries of `other` (its header and terminator are not copied).
  void append_entries(const ListpackBuilder& other);

  uint32_t count() const { return count_; }
  // The size of the finished listpack (header + entries + terminator).
  size_t bytes() const { return buf_.size() + (finished_ ? 0 : 1); }
  // Terminates the listpack and fills in its header. The view is valid until the next change;
  // adding more entries afterwards continues the same listpack.
  std::string_view finish();

 private:
  void reopen() {
    if (finished_) {
      buf_.pop_back();
      finished_ = false;
    }
  }
  // Writes the backlen of the entry just written (encoding + data of `entry_size` bytes).
  void end_entry(size_t entry_size);

  std::string buf_;
  uint32_t count_ = 0;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------
// Ziplist (Redis ziplist.c, RDB < 10 blobs of types 10, 12, 13 and quicklist 14 nodes; §5.1)
//
//   u32 zlbytes LE | u32 zltail LE (offset of the last entry; 10 when empty)
//   u16 zllen LE (65535: count unknown) | entry* | 0xFF
//   entry = prevlen + encoding [+ data]
//
//   prevlen: the size of the previous entry (0 for the first): 1 byte when < 254, else
//            0xFE + 4 bytes LE
//   encoding                          holds
//   00xxxxxx + data                   string of 0 .. 63 bytes
//   01xxxxxx yyyyyyyy + data          string of 64 .. 16383 bytes (14-bit length, BE)
//   0x80 + 4 BE + data                string of 16384 .. bytes
//   0xF1 .. 0xFD                      int 0 .. 12 (value + 1 in the low nibble)
//   0xFE + 1 | 0xC0 + 2 LE | 0xF0 + 3 LE | 0xD0 + 4 LE | 0xE0 + 8 LE   int8/16/24/32/64
//
// Text of fewer than 32 bytes that string2ll accepts is stored as an integer (zipTryEncoding).

inline constexpr size_t kZiplistHeaderSize = 10;
inline constexpr size_t kMaxZiplistPrevlenSize = 5;
inline constexpr size_t kMaxZiplistIntSize = 9;
inline constexpr size_t kMaxZiplistStringHeaderSize = 5;

size_t encode_ziplist_prevlen(uint8_t* out, uint64_t prev_entry_size);
size_t encode_ziplist_int(uint8_t* out, int64_t v);
size_t encode_ziplist_string_header(uint8_t* out, uint64_t len);

// Builds one ziplist, entries appended at the tail (as ziplistPush(..., ZIPLIST_TAIL)).
class ZiplistBuilder {
 public:
  ZiplistBuilder() { reset(); }
  void reset();

  // As ziplistPush: text that zipTryEncoding accepts is stored as an integer.
  void add(std::string_view s);
  void add_int(int64_t v);
  // Always a string entry.
  void add_string(std::string_view s);

  uint32_t count() const { return count_; }
  size_t bytes() const { return buf_.size() + (finished_ ? 0 : 1); }
  // Terminates the ziplist and fills in its header; valid until the next change.
  std::string_view finish();

 private:
  // Writes the new entry's prevlen; the entry's body follows, then end_entry().
  void begin_entry();
  void end_entry();

  std::string buf_;
  uint32_t count_ = 0;
  size_t last_entry_ = 0;       // offset of the last entry (valid when count_ > 0)
  size_t last_entry_size_ = 0;  // its size, the next entry's prevlen
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------
// Intset (Redis intset.h; spec §5.1)
//
//   u32 encoding LE (2, 4 or 8: bytes per value, the smallest that holds every value)
//   u32 length LE | length x value (that many bytes, LE), sorted ascending, unique

// Replaces `out` with the intset of `values`, which must be sorted ascending and unique
// (Error kInternal otherwise).
void build_intset(std::string& out, std::span<const int64_t> values);

}  // namespace rdbrekey
