#include "rdb_builder.h"

#include <lzf.h>

#include <stdexcept>

#include "rdbrekey/crc64.h"

namespace rdbrekey::test {

RdbBuilder& RdbBuilder::len(uint64_t n) {
  if (n < 64) return byte(static_cast<uint8_t>(n));
  if (n < 16384) return byte(static_cast<uint8_t>(0x40 | (n >> 8))).byte(static_cast<uint8_t>(n));
  if (n <= 0xffffffffULL) {
    byte(0x80);
    for (int i = 3; i >= 0; --i) byte(static_cast<uint8_t>(n >> (8 * i)));
    return *this;
  }
  byte(0x81);
  for (int i = 7; i >= 0; --i) byte(static_cast<uint8_t>(n >> (8 * i)));
  return *this;
}

RdbBuilder& RdbBuilder::expire_ms(int64_t ms) {
  byte(252);
  for (int i = 0; i < 8; ++i) byte(static_cast<uint8_t>(static_cast<uint64_t>(ms) >> (8 * i)));
  return *this;
}

RdbBuilder& RdbBuilder::set_key(std::string_view key, std::initializer_list<std::string_view> members) {
  byte(2);
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
  byte(255);
  for (int i = 0; i < 8; ++i) byte(static_cast<uint8_t>(crc >> (8 * i)));
  return *this;
}

std::string lzf_string(std::string_view plain) {
  std::string out(plain.size() + 64, '\0');
  unsigned n = lzf_compress(plain.data(), static_cast<unsigned>(plain.size()), out.data(),
                            static_cast<unsigned>(out.size()));
  if (n == 0) throw std::runtime_error("lzf_compress failed");
  out.resize(n);
  RdbBuilder b("");
  b.byte(0xC3).len(n).len(plain.size()).raw(out);
  return b.bytes();
}

}  // namespace rdbrekey::test
