// RDB primitives on top of a ByteSource: lengths, strings (plain, int-encoded, LZF), fixed
// fields; every failure names the file, the byte offset, the record and what was expected.
#pragma once

#include <cstdint>
#include <string>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/error.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey {

// The longest key or metadata string this tool decodes into memory (Redis' own limit on a key,
// proto-max-bulk-len, defaults to 512 MiB). Values are never decoded, whatever their size.
inline constexpr uint64_t kMaxDecodedString = 512ull << 20;

class RdbInput {
 public:
  RdbInput(ByteSource& src, RdbVersion version) : src_(src), version_(version) {}

  ByteSource& source() { return src_; }
  RdbVersion version() const { return version_; }
  void set_version(RdbVersion v) { version_ = v; }

  // What is being read, for error messages: "AUX field at byte 10", or
  // "key \"x\" in db 2, type hash, record at byte 10". Formatted only when an error happens.
  void set_context(const char* what, uint64_t offset) {
    ctx_what_ = what;
    ctx_offset_ = offset;
    ctx_type_ = -1;
  }
  void set_key_context(std::string_view key, uint64_t db, uint8_t type, uint64_t offset) {
    ctx_what_ = "key";
    ctx_key_ = key;
    ctx_db_ = db;
    ctx_type_ = type;
    ctx_offset_ = offset;
  }
  std::string context() const;
  // How many 64-bit lengths (0x81) were read so far (an output of RDB < 8 cannot hold them).
  uint64_t len64_seen() const { return len64_seen_; }

  uint8_t read_u8(const char* what) {
    if (!src_.ensure(1)) truncated(what, 1);
    uint8_t b = *src_.pos();
    src_.advance(1);
    return b;
  }

  // A length-encoded integer (§3.1); a string-encoding byte (11xxxxxx) here is corruption.
  uint64_t read_len(const char* what) {
    if (src_.available() >= 9) {
      const uint8_t* p = src_.pos();
      if (p[0] < 0x40) {
        src_.advance(1);
        return p[0];
      }
      if (p[0] < 0x80) {
        src_.advance(2);
        return (uint64_t{p[0] & 0x3fu} << 8) | p[1];
      }
    }
    return read_len_slow(what);
  }

  // A length, or an encoded-string marker: returns true and sets `encoding` for 11xxxxxx.
  bool read_len_or_encoding(uint64_t& len, uint8_t& encoding, const char* what);

  void skip_bytes(uint64_t n, const char* what) {
    if (n <= src_.available()) {
      src_.advance(static_cast<size_t>(n));
      return;
    }
    skip_bytes_slow(n, what);
  }
  void read_bytes(void* out, size_t n, const char* what);
  // Walks one RDB string without decoding it.
  void skip_string(const char* what) {
    if (src_.available() >= 64) {
      uint8_t b = *src_.pos();
      if (b < 0x40 && src_.available() > b) {  // short plain string, in the buffer
        src_.advance(1u + b);
        return;
      }
    }
    skip_string_slow(what);
  }
  // Decodes one RDB string into `out` (replacing its content); refuses strings longer than
  // kMaxDecodedString.
  void read_string(std::string& out, const char* what);

  [[noreturn]] void fail(Errc code, const std::string& what) const;
  [[noreturn]] void truncated(const char* what, uint64_t need) const;

 private:
  uint64_t read_len_slow(const char* what);
  void skip_bytes_slow(uint64_t n, const char* what);
  void skip_string_slow(const char* what);

  ByteSource& src_;
  RdbVersion version_;
  const char* ctx_what_ = "file header";
  uint64_t ctx_offset_ = 0;
  std::string_view ctx_key_;
  uint64_t ctx_db_ = 0;
  int ctx_type_ = -1;
  uint64_t len64_seen_ = 0;
  std::string lzf_buf_;
};

}  // namespace rdbrekey
