#include "rdbrekey/rdb_encoding.h"

#include <fmt/format.h>
#include <lzf.h>

#include <algorithm>

#include "rdbrekey/error.h"

namespace rdbrekey {

// ---------------------------------------------------------------------------------------------
// Strings

bool canonical_int(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  const bool negative = s[0] == '-';
  size_t i = negative ? 1 : 0;
  if (i == s.size() || s[i] < '1' || s[i] > '9') return false;  // no "-", "+1", "01", "-0"
  uint64_t magnitude = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    auto digit = static_cast<uint64_t>(s[i] - '0');
    if (magnitude > (UINT64_MAX - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  if (negative) {
    if (magnitude > (uint64_t{1} << 63)) return false;
    out = static_cast<int64_t>(0 - magnitude);
  } else {
    if (magnitude > static_cast<uint64_t>(INT64_MAX)) return false;
    out = static_cast<int64_t>(magnitude);
  }
  return true;
}

std::string_view LiblzfCompressor::operator()(std::string_view plain, size_t max_size) {
  // liblzf takes unsigned int sizes; lzf_compress returns 0 when the output does not fit.
  if (max_size == 0 || plain.size() > UINT32_MAX) return {};
  if (buf_.size() < max_size) buf_.resize(max_size);
  unsigned n = lzf_compress(plain.data(), static_cast<unsigned>(plain.size()), buf_.data(),
                            static_cast<unsigned>(std::min<size_t>(max_size, UINT32_MAX)));
  return {reinterpret_cast<const char*>(buf_.data()), n};
}

// ---------------------------------------------------------------------------------------------
// Listpack entries

size_t encode_listpack_int(uint8_t* out, int64_t v) {
  const auto u = static_cast<uint64_t>(v);  // two's complement, cut to the entry's width
  if (v >= 0 && v <= 127) {
    out[0] = static_cast<uint8_t>(v);  // 0xxxxxxx
    return 1;
  }
  if (v >= -4096 && v <= 4095) {
    out[0] = static_cast<uint8_t>(0xC0 | ((u >> 8) & 0x1f));  // 110xxxxx yyyyyyyy
    out[1] = static_cast<uint8_t>(u);
    return 2;
  }
  int width = v >= INT16_MIN && v <= INT16_MAX     ? 2
              : v >= -8388608 && v <= 8388607      ? 3
              : v >= INT32_MIN && v <= INT32_MAX   ? 4
                                                   : 8;
  static constexpr uint8_t kTagOfWidth[9] = {0, 0, 0xF1, 0xF2, 0xF3, 0, 0, 0, 0xF4};
  out[0] = kTagOfWidth[width];
  store_little_endian(out + 1, u, width);
  return 1 + static_cast<size_t>(width);
}

size_t encode_listpack_string_header(uint8_t* out, uint64_t len) {
  if (len < 64) {
    out[0] = static_cast<uint8_t>(0x80 | len);  // 10xxxxxx
    return 1;
  }
  if (len < 4096) {
    out[0] = static_cast<uint8_t>(0xE0 | (len >> 8));  // 1110xxxx yyyyyyyy
    out[1] = static_cast<uint8_t>(len);
    return 2;
  }
  out[0] = 0xF0;
  store_little_endian(out + 1, len, 4);
  return 5;
}

size_t encode_listpack_backlen(uint8_t* out, uint64_t entry_size) {
  size_t n = entry_size <= 127         ? 1
             : entry_size < 16383       ? 2
             : entry_size < 2097151     ? 3
             : entry_size < 268435455   ? 4
                                        : 5;
  // The first byte holds the highest bits; every later byte is marked by its top bit.
  out[0] = static_cast<uint8_t>(entry_size >> (7 * (n - 1)));
  for (size_t i = 1; i < n; ++i) out[i] = static_cast<uint8_t>(((entry_size >> (7 * (n - 1 - i))) & 127) | 128);
  return n;
}

// ---------------------------------------------------------------------------------------------
// ListpackBuilder

void ListpackBuilder::reset() {
  buf_.assign(kListpackHeaderSize, '\0');
  count_ = 0;
  finished_ = false;
}

void ListpackBuilder::end_entry(size_t entry_size) {
  append_encoded<kMaxListpackBacklenSize>(buf_, [=](uint8_t* p) { return encode_listpack_backlen(p, entry_size); });
  ++count_;
}

void ListpackBuilder::add_int(int64_t v) {
  reopen();
  uint8_t entry[kMaxListpackIntSize];
  size_t n = encode_listpack_int(entry, v);
  append_raw(buf_, entry, n);
  end_entry(n);
}

void ListpackBuilder::add_string(std::string_view s) {
  reopen();
  uint8_t header[kMaxListpackStringHeaderSize];
  size_t n = encode_listpack_string_header(header, s.size());
  append_raw(buf_, header, n);
  buf_.append(s);
  end_entry(n + s.size());
}

void ListpackBuilder::add(std::string_view s) {
  int64_t v;
  if (canonical_int(s, v)) {
    add_int(v);
  } else {
    add_string(s);
  }
}

void ListpackBuilder::append_entries(const ListpackBuilder& other) {
  reopen();
  size_t end = other.buf_.size() - (other.finished_ ? 1 : 0);
  buf_.append(other.buf_, kListpackHeaderSize, end - kListpackHeaderSize);
  count_ += other.count_;
}

std::string_view ListpackBuilder::finish() {
  if (finished_) return buf_;
  buf_.push_back(static_cast<char>(0xFF));
  finished_ = true;
  if (buf_.size() > UINT32_MAX)
    throw Error(Errc::kCannotHold, fmt::format("a listpack of {} bytes (the limit is 4 GiB)", buf_.size()));
  auto* header = reinterpret_cast<uint8_t*>(buf_.data());
  store_little_endian(header, buf_.size(), 4);
  store_little_endian(header + 4, count_ < 65535 ? count_ : 65535, 2);
  return buf_;
}

// ---------------------------------------------------------------------------------------------
// Ziplist entries

size_t encode_ziplist_prevlen(uint8_t* out, uint64_t prev_entry_size) {
  if (prev_entry_size < 254) {
    out[0] = static_cast<uint8_t>(prev_entry_size);
    return 1;
  }
  out[0] = 0xFE;
  store_little_endian(out + 1, prev_entry_size, 4);
  return 5;
}

size_t encode_ziplist_int(uint8_t* out, int64_t v) {
  if (v >= 0 && v <= 12) {
    out[0] = static_cast<uint8_t>(0xF1 + v);  // immediate, no data
    return 1;
  }
  int width = v >= INT8_MIN && v <= INT8_MAX       ? 1
              : v >= INT16_MIN && v <= INT16_MAX   ? 2
              : v >= -8388608 && v <= 8388607      ? 3
              : v >= INT32_MIN && v <= INT32_MAX   ? 4
                                                   : 8;
  static constexpr uint8_t kTagOfWidth[9] = {0, 0xFE, 0xC0, 0xF0, 0xD0, 0, 0, 0, 0xE0};
  out[0] = kTagOfWidth[width];
  store_little_endian(out + 1, static_cast<uint64_t>(v), width);
  return 1 + static_cast<size_t>(width);
}

size_t encode_ziplist_string_header(uint8_t* out, uint64_t len) {
  if (len < 64) {
    out[0] = static_cast<uint8_t>(len);  // 00xxxxxx
    return 1;
  }
  if (len < 16384) {
    out[0] = static_cast<uint8_t>(0x40 | (len >> 8));  // 01xxxxxx yyyyyyyy
    out[1] = static_cast<uint8_t>(len);
    return 2;
  }
  out[0] = 0x80;
  store_big_endian(out + 1, len, 4);
  return 5;
}

// ---------------------------------------------------------------------------------------------
// ZiplistBuilder

void ZiplistBuilder::reset() {
  buf_.assign(kZiplistHeaderSize, '\0');
  count_ = 0;
  last_entry_ = 0;
  last_entry_size_ = 0;
  finished_ = false;
}

void ZiplistBuilder::begin_entry() {
  if (finished_) {
    buf_.pop_back();
    finished_ = false;
  }
  last_entry_ = buf_.size();
  const uint64_t prev = last_entry_size_;
  append_encoded<kMaxZiplistPrevlenSize>(buf_, [prev](uint8_t* p) { return encode_ziplist_prevlen(p, prev); });
}

void ZiplistBuilder::end_entry() {
  last_entry_size_ = buf_.size() - last_entry_;
  ++count_;
}

void ZiplistBuilder::add_int(int64_t v) {
  begin_entry();
  append_encoded<kMaxZiplistIntSize>(buf_, [v](uint8_t* p) { return encode_ziplist_int(p, v); });
  end_entry();
}

void ZiplistBuilder::add_string(std::string_view s) {
  begin_entry();
  const uint64_t len = s.size();
  append_encoded<kMaxZiplistStringHeaderSize>(buf_, [len](uint8_t* p) { return encode_ziplist_string_header(p, len); });
  buf_.append(s);
  end_entry();
}

void ZiplistBuilder::add(std::string_view s) {
  int64_t v;
  if (s.size() < 32 && canonical_int(s, v)) {
    add_int(v);
  } else {
    add_string(s);
  }
}

std::string_view ZiplistBuilder::finish() {
  if (finished_) return buf_;
  buf_.push_back(static_cast<char>(0xFF));
  finished_ = true;
  if (buf_.size() > UINT32_MAX)
    throw Error(Errc::kCannotHold, fmt::format("a ziplist of {} bytes (the limit is 4 GiB)", buf_.size()));
  auto* header = reinterpret_cast<uint8_t*>(buf_.data());
  store_little_endian(header, buf_.size(), 4);
  store_little_endian(header + 4, count_ ? last_entry_ : kZiplistHeaderSize, 4);
  store_little_endian(header + 8, count_ < 65535 ? count_ : 65535, 2);
  return buf_;
}

// ---------------------------------------------------------------------------------------------
// Intset

namespace {

// Bytes per value: the smallest of 2, 4, 8 that holds every value.
uint32_t intset_width(std::span<const int64_t> values) {
  uint32_t width = 2;
  for (int64_t v : values) {
    if (v < INT32_MIN || v > INT32_MAX) return 8;
    if (v < INT16_MIN || v > INT16_MAX) width = 4;
  }
  return width;
}

}  // namespace

void build_intset(std::string& out, std::span<const int64_t> values) {
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i - 1] >= values[i])
      throw Error(Errc::kInternal, fmt::format("intset values not sorted and unique at index {}", i));
  if (values.size() > UINT32_MAX)
    throw Error(Errc::kCannotHold, fmt::format("an intset of {} values (the limit is 2^32 - 1)", values.size()));
  const uint32_t width = intset_width(values);
  out.resize(8 + values.size() * width);
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  store_little_endian(p, width, 4);
  store_little_endian(p + 4, values.size(), 4);
  p += 8;
  for (int64_t v : values) {
    store_little_endian(p, static_cast<uint64_t>(v), static_cast<int>(width));
    p += width;
  }
}

}  // namespace rdbrekey
