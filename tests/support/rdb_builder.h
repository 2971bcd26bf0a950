// Builds small RDB files byte by byte for tests: valid ones, and ones broken on purpose.
// Lengths, strings and times are encoded by the project's encoding core (rdbrekey/rdb_encoding.h).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "rdbrekey/rdb_encoding.h"

namespace rdbrekey::test {

class RdbBuilder {
 public:
  explicit RdbBuilder(std::string magic = "REDIS0011") { bytes_ = std::move(magic); }

  RdbBuilder& raw(std::string_view b) { bytes_ += b; return *this; }
  RdbBuilder& byte(uint8_t b) { bytes_ += static_cast<char>(b); return *this; }
  RdbBuilder& len(uint64_t n);
  // A plain string (never int-encoded or compressed).
  RdbBuilder& str(std::string_view s) { append_plain_string(bytes_, s); return *this; }
  RdbBuilder& aux(std::string_view k, std::string_view v) { byte(rdb::kOpAux); str(k); return str(v); }
  RdbBuilder& select_db(uint64_t db) { byte(rdb::kOpSelectDb); return len(db); }
  RdbBuilder& resize_db(uint64_t n, uint64_t e) { byte(rdb::kOpResizeDb); len(n); return len(e); }
  RdbBuilder& expire_ms(int64_t ms);
  RdbBuilder& string_key(std::string_view key, std::string_view value) {
    byte(rdb::kTypeString);
    str(key);
    return str(value);
  }
  // A plain set (type 2).
  RdbBuilder& set_key(std::string_view key, std::initializer_list<std::string_view> members);
  // EOF and the CRC-64 trailer (a correct one unless `crc` is given).
  RdbBuilder& eof();
  RdbBuilder& eof_with_crc(uint64_t crc);

  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// An LZF-compressed RDB string (0xC3 clen ulen data) of `plain`, made with liblzf.
std::string lzf_string(std::string_view plain);

}  // namespace rdbrekey::test
