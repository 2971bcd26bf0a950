#include "rdb_builder.h"

#include <lzf.h>

#include <stdexcept>

#include "rdbrekey/crc64.h"
#include "rdbrekey/format.h"

namespace rdbrekey::test {

RdbBuilder& RdbBuilder::len(uint64_t n) {
  append_length(bytes_, n);
  return *this;
}

RdbBuilder& RdbBuilder::expire_ms(int64_t ms) {
  byte(rdb::kOpExpireTimeMs);
  append_le64(bytes_, static_cast<uint64_t>(ms));
  return *this;
}

RdbBuilder& RdbBuilder::set_key(std::string_view key, std::initializer_list<std::string_view> members) {
  byte(rdb::kTypeSet);
  str(key);
  len(members.size());
  for (auto m : members) str(m);
  return *this;
}

RdbBuilder& RdbBuilder::eof() {
  std::string all = bytes_ + '\xff';
  return eof_with_crc(crc64(0, all.data(), all.size()));
}

RdbBuilder& RdbBuilder::eof_with_crc(uint64_t crc) {
  byte(rdb::kOpEof);
  append_le64(bytes_, crc);  // the CRC-64 trailer is little-endian
  return *this;
}

std::string lzf_string(std::string_view plain) {
  // Always compressed, even when that saves nothing (unlike rdbSaveRawString).
  std::string packed(plain.size() + 64, '\0');
  unsigned n = lzf_compress(plain.data(), static_cast<unsigned>(plain.size()), packed.data(),
                            static_cast<unsigned>(packed.size()));
  if (n == 0) throw std::runtime_error("lzf_compress failed");
  packed.resize(n);
  std::string out;
  append_lzf_string(out, packed, plain.size());
  return out;
}

}  // namespace rdbrekey::test
