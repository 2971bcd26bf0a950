#include "rdbrekey/rdb_writer.h"

#include "rdbrekey/format.h"

namespace rdbrekey {

size_t encode_length(uint8_t* out, uint64_t len) {
  if (len < (1u << 6)) {
    out[0] = static_cast<uint8_t>(len);
    return 1;
  }
  if (len < (1u << 14)) {
    out[0] = static_cast<uint8_t>(0x40 | (len >> 8));
    out[1] = static_cast<uint8_t>(len);
    return 2;
  }
  if (len <= 0xffffffffULL) {
    out[0] = rdb::kLen32;
    for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
    return 5;
  }
  out[0] = rdb::kLen64;
  for (int i = 0; i < 8; ++i) out[1 + i] = static_cast<uint8_t>(len >> (56 - 8 * i));
  return 9;
}

void RdbWriter::write_length(uint64_t len) {
  uint8_t* p = sink_.reserve(9);
  sink_.commit(encode_length(p, len));
}

void RdbWriter::write_string(std::string_view s) {
  write_length(s.size());
  sink_.write(s.data(), s.size());
}

void RdbWriter::write_header() {
  std::string magic = version_.magic();
  sink_.write(magic.data(), magic.size());
}

void RdbWriter::write_aux(std::string_view field, std::string_view value) {
  sink_.put(rdb::kOpAux);
  write_string(field);
  write_string(value);
}

void RdbWriter::write_select_db(uint64_t db) {
  sink_.put(rdb::kOpSelectDb);
  write_length(db);
  db_selected_ = true;
  db_ = db;
}

void RdbWriter::write_prefix(const KeyPrefix& prefix) {
  if (prefix.has_expire) {
    if (prefix.expire_in_seconds) {
      sink_.put(rdb::kOpExpireTime);
      sink_.write(prefix.expire_raw, 4);
    } else {
      sink_.put(rdb::kOpExpireTimeMs);
      sink_.write(prefix.expire_raw, 8);
    }
  }
  // LRU/LFU hints only exist from RDB 9 on; older targets do without them.
  if (version_.number >= 9) {
    if (prefix.has_idle) {
      sink_.put(rdb::kOpIdle);
      write_length(prefix.idle);
    }
    if (prefix.has_freq) {
      sink_.put(rdb::kOpFreq);
      sink_.put(prefix.freq);
    }
  }
  if (!prefix.key_meta.empty()) {
    sink_.put(rdb::kOpKeyMeta);
    sink_.write(prefix.key_meta.data(), prefix.key_meta.size());
  }
}

void RdbWriter::write_string_key(std::string_view key, std::string_view value) {
  sink_.put(rdb::kTypeString);
  write_string(key);
  write_string(value);
  ++keys_written_;
}

void RdbWriter::finish() {
  sink_.put(rdb::kOpEof);
  if (version_.has_checksum()) {
    uint64_t crc = sink_.checksum();
    uint8_t raw[8];
    for (int i = 0; i < 8; ++i) raw[i] = static_cast<uint8_t>(crc >> (8 * i));
    sink_.write_unchecksummed(raw, 8);
  }
}

}  // namespace rdbrekey
