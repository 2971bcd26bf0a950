#include "rdbrekey/rdb_input.h"

#include <lzf.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "rdbrekey/format.h"

namespace rdbrekey {

std::string RdbInput::context() const {
  if (ctx_type_ >= 0)
    return fmt::format("key {} in db {}, type {}, record at byte {}", quote_bytes(ctx_key_.data(), ctx_key_.size()),
                       ctx_db_, type_name(static_cast<uint8_t>(ctx_type_), version_), ctx_offset_);
  return fmt::format("{} at byte {}", ctx_what_, ctx_offset_);
}

void RdbInput::fail(Errc code, const std::string& what) const {
  throw_at(code, Location{src_.name(), src_.offset(), context()}, what);
}

void RdbInput::truncated(const char* what, uint64_t need) const {
  std::string size = src_.size_hint() ? fmt::format(" (the file is {} bytes)", src_.size_hint()) : "";
  fail(Errc::kTruncated,
       fmt::format("truncated input: the file ends while reading {} ({} more byte{} expected){}", what, need,
                   need == 1 ? "" : "s", size));
}

bool RdbInput::read_len_or_encoding(uint64_t& len, uint8_t& encoding, const char* what) {
  if (!src_.ensure(1)) truncated(what, 1);
  uint8_t b = *src_.pos();
  if ((b >> 6) == rdb::kLenEncoded) {
    src_.advance(1);
    encoding = b & 0x3f;
    return true;
  }
  len = read_len(what);
  return false;
}

uint64_t RdbInput::read_len_slow(const char* what) {
  if (!src_.ensure(1)) truncated(what, 1);
  uint8_t b = *src_.pos();
  switch (b >> 6) {
    case rdb::kLen6Bit:
      src_.advance(1);
      return b & 0x3f;
    case rdb::kLen14Bit: {
      if (!src_.ensure(2)) truncated(what, 2 - src_.available());
      uint64_t v = (uint64_t{b & 0x3fu} << 8) | src_.pos()[1];
      src_.advance(2);
      return v;
    }
    case rdb::kLenEncoded:
      fail(Errc::kBadFraming,
           fmt::format("bad length encoding 0x{:02x} in {}: expected a length, found a string-encoding byte", b, what));
    default:
      break;
  }
  if (b == rdb::kLen32) {
    if (!src_.ensure(5)) truncated(what, 5 - src_.available());
    const uint8_t* p = src_.pos() + 1;
    uint64_t v = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
    src_.advance(5);
    return v;
  }
  if (b == rdb::kLen64) {
    ++len64_seen_;
    if (!src_.ensure(9)) truncated(what, 9 - src_.available());
    const uint8_t* p = src_.pos() + 1;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    src_.advance(9);
    return v;
  }
  fail(Errc::kBadFraming, fmt::format("unknown length encoding 0x{:02x} in {}", b, what));
}

void RdbInput::skip_bytes_slow(uint64_t n, const char* what) {
  if (src_.size_hint() && n > src_.size_hint() - std::min(src_.size_hint(), src_.offset()))
    truncated(what, n - (src_.size_hint() - src_.offset()));
  uint64_t start = src_.offset();
  if (!src_.skip(n)) truncated(what, n - (src_.offset() - start));
}

void RdbInput::read_bytes(void* out, size_t n, const char* what) {
  if (n <= ByteSource::kMaxEnsure) {
    if (!src_.ensure(n)) truncated(what, n - src_.available());
    std::memcpy(out, src_.pos(), n);
    src_.advance(n);
    return;
  }
  std::string tmp;
  if (!src_.read_into(tmp, n)) truncated(what, n - tmp.size());
  std::memcpy(out, tmp.data(), n);
}

void RdbInput::skip_string_slow(const char* what) {
  uint64_t len;
  uint8_t enc;
  if (!read_len_or_encoding(len, enc, what)) {
    skip_bytes(len, what);
    return;
  }
  switch (enc) {
    case rdb::kEncInt8: skip_bytes(1, what); return;
    case rdb::kEncInt16: skip_bytes(2, what); return;
    case rdb::kEncInt32: skip_bytes(4, what); return;
    case rdb::kEncLzf: {
      uint64_t clen = read_len(what);
      uint64_t ulen = read_len(what);
      if (clen == 0 || ulen == 0)
        fail(Errc::kBadFraming, fmt::format("LZF string in {} with a zero length", what));
      skip_bytes(clen, what);
      return;
    }
    default:
      fail(Errc::kBadFraming, fmt::format("unknown string encoding 0x{:02x} in {}", 0xC0 | enc, what));
  }
}

void RdbInput::read_string(std::string& out, const char* what) {
  // Fast path: a short plain string wholly in the buffer (most keys).
  if (src_.available() >= 2 + 64) {
    const uint8_t* p = src_.pos();
    if (p[0] < 0x40) {
      out.assign(reinterpret_cast<const char*>(p + 1), p[0]);
      src_.advance(1 + p[0]);
      return;
    }
  }
  out.clear();
  uint64_t len;
  uint8_t enc;
  if (!read_len_or_encoding(len, enc, what)) {
    if (len > kMaxDecodedString)
      fail(Errc::kBadFraming, fmt::format("{} is {} bytes long, more than the {} a server accepts", what, len,
                                           kMaxDecodedString));
    if (src_.size_hint() && len > src_.size_hint() - std::min(src_.size_hint(), src_.offset()))
      truncated(what, len - (src_.size_hint() - src_.offset()));
    if (!src_.read_into(out, len)) truncated(what, len - out.size());
    return;
  }
  int64_t v;
  switch (enc) {
    case rdb::kEncInt8: {
      int8_t x;
      read_bytes(&x, 1, what);
      v = x;
      break;
    }
    case rdb::kEncInt16: {
      uint8_t b[2];
      read_bytes(b, 2, what);
      v = static_cast<int16_t>(b[0] | (b[1] << 8));
      break;
    }
    case rdb::kEncInt32: {
      uint8_t b[4];
      read_bytes(b, 4, what);
      v = static_cast<int32_t>(uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) |
                               (uint32_t{b[3]} << 24));
      break;
    }
    case rdb::kEncLzf: {
      uint64_t clen = read_len(what);
      uint64_t ulen = read_len(what);
      // An LZF back-reference of 3 bytes expands to at most 264: anything beyond is corrupt.
      if (clen == 0 || ulen == 0 || ulen > clen * 90 + 64 || ulen > kMaxDecodedString)
        fail(Errc::kBadFraming,
             fmt::format("LZF string in {} with impossible lengths (compressed {}, uncompressed {})", what, clen,
                         ulen));
      lzf_buf_.clear();
      if (src_.size_hint() && clen > src_.size_hint() - std::min(src_.size_hint(), src_.offset()))
        truncated(what, clen - (src_.size_hint() - src_.offset()));
      if (!src_.read_into(lzf_buf_, clen)) truncated(what, clen - lzf_buf_.size());
      out.resize(ulen);
      unsigned got = lzf_decompress(lzf_buf_.data(), static_cast<unsigned>(clen), out.data(),
                                    static_cast<unsigned>(ulen));
      if (got != ulen)
        fail(Errc::kBadFraming,
             fmt::format("LZF data of {} does not decompress to the {} bytes its header says", what, ulen));
      return;
    }
    default:
      fail(Errc::kBadFraming, fmt::format("unknown string encoding 0x{:02x} in {}", 0xC0 | enc, what));
  }
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.assign(buf, r.ptr);
}

}  // namespace rdbrekey
