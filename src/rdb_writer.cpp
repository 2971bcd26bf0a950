#include "rdbrekey/rdb_writer.h"

#include <algorithm>

#include <fmt/format.h>

#include "rdbrekey/error.h"
#include "rdbrekey/format.h"

namespace rdbrekey {

// Lengths and strings are encoded by the encoding core (rdb_encoding.h).
void RdbWriter::write_length(uint64_t len) { append_length(sink_, len); }

void RdbWriter::write_string(std::string_view s) { append_plain_string(sink_, s); }

void RdbWriter::write_header() {
  std::string magic = version_.magic();
  sink_.write(magic.data(), magic.size());
}

void RdbWriter::write_aux(std::string_view field, std::string_view value) {
  sink_.put(rdb::kOpAux);
  write_string(field);
  write_string(value);
}

namespace {

// RESIZEDB with both counts in the fixed-width length form (patched in place by finish()).
size_t encode_resize_db(uint8_t* out, uint64_t keys, uint64_t expires, bool wide) {
  out[0] = rdb::kOpResizeDb;
  size_t n = 1 + encode_fixed_length(out + 1, keys, wide);
  return n + encode_fixed_length(out + n, expires, wide);
}

}  // namespace

void RdbWriter::write_select_db(uint64_t db) {
  sink_.put(rdb::kOpSelectDb);
  write_length(db);
  db_selected_ = true;
  db_ = db;
  if (resize_db_written_ || !capabilities_of(version_).aux) return;
  bool wide = version_.has_64bit_lengths();
  if (sink_.can_patch()) {
    resize_db_written_ = true;
    resize_db_offset_ = sink_.bytes_written();
    resize_db_len_ = encode_resize_db(resize_db_bytes_, 0, 0, wide);
    sink_.write(resize_db_bytes_, resize_db_len_);
  } else if (expected_) {  // counted beforehand: written once (nothing to patch), checked by finish()
    uint64_t cap = wide ? ~uint64_t{0} : 0xffffffffULL;
    uint8_t hint[kResizeDbSize];
    sink_.write(hint, encode_resize_db(hint, std::min(expected_keys_, cap), std::min(expected_ttl_, cap), wide));
  }
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
  // Whether the version can hold them is the caller's decision (rdb_version.h): the writer
  // writes what it is given.
  if (prefix.has_idle) {
    sink_.put(rdb::kOpIdle);
    write_length(prefix.idle);
  }
  if (prefix.has_freq) {
    sink_.put(rdb::kOpFreq);
    sink_.put(prefix.freq);
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
  if (expected_ && (keys_written_ != expected_keys_ || expires_written_ != expected_ttl_))
    throw Error(Errc::kInternal, fmt::format("the counting pass found {} keys ({} with TTL), {} ({}) were written",
                                             expected_keys_, expected_ttl_, keys_written_, expires_written_));
  sink_.put(rdb::kOpEof);
  if (resize_db_written_) {
    uint8_t real[kResizeDbSize];
    bool wide = version_.has_64bit_lengths();
    uint64_t cap = wide ? ~uint64_t{0} : 0xffffffffULL;
    encode_resize_db(real, std::min(keys_written_, cap), std::min(expires_written_, cap), wide);
    sink_.patch(resize_db_offset_, resize_db_bytes_, real, resize_db_len_);
  }
  if (version_.has_checksum()) {
    uint8_t raw[8];
    checksum_ = sink_.checksum();
    encode_le64(raw, checksum_);
    sink_.write_unchecksummed(raw, 8);
  }
}

}  // namespace rdbrekey
