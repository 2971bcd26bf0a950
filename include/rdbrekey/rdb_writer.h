// The RDB writer: emits a valid file of a given target version into a ByteSink (which keeps the
// CRC-64); values are copied into the same sink by RecordScanner::copy_payload between calls.
#pragma once

#include <cstdint>
#include <string_view>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/rdb_encoding.h"
#include "rdbrekey/rdb_version.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey {

class RdbWriter {
 public:
  RdbWriter(ByteSink& sink, RdbVersion version) : sink_(sink), version_(version) {}

  RdbVersion version() const { return version_; }
  ByteSink& sink() { return sink_; }

  // The counts the file will hold, known before the first key (a counting pass): a sink that
  // cannot be patched then still gets its RESIZEDB hint, and finish() checks them.
  void expect_counts(uint64_t keys, uint64_t with_ttl) {
    expected_ = true;
    expected_keys_ = keys;
    expected_ttl_ = with_ttl;
  }
  void write_header();
  void write_aux(std::string_view field, std::string_view value);
  // Selects db `db` unless it is the current one.
  void select_db(uint64_t db) {
    if (!db_selected_ || db_ != db) write_select_db(db);
  }
  // Writes an opcode whose payload the caller copies next (MODULE_AUX, FUNCTION2).
  void write_opcode(uint8_t opcode) { sink_.put(opcode); }
  // Writes the prefix opcodes, the type byte and the key; the caller copies the value next.
  void write_key_header(const KeyPrefix& prefix, uint8_t type, const RenamedKey& key) {
    if (prefix.has_expire | prefix.has_idle | prefix.has_freq || !prefix.key_meta.empty()) write_prefix(prefix);
    uint8_t* p = sink_.reserve(10);
    p[0] = type;
    size_t n = 1 + encode_length(p + 1, key.size);
    sink_.commit(n);
    for (uint8_t i = 0; i < key.count; ++i) sink_.write(key.parts[i].data(), key.parts[i].size());
    ++keys_written_;
    expires_written_ += prefix.has_expire;
  }
  // A whole string key without TTL (the start-up guard).
  void write_string_key(std::string_view key, std::string_view value);
  // EOF opcode and, for RDB >= 5, the CRC-64 trailer.
  void finish();

  uint64_t keys_written() const { return keys_written_; }
  uint64_t expires_written() const { return expires_written_; }
  // After finish(): the CRC-64 written in the trailer (0 for RDB < 5, which has none).
  uint64_t checksum() const { return checksum_; }

 private:
  void write_prefix(const KeyPrefix& prefix);
  void write_select_db(uint64_t db);
  void write_length(uint64_t len);
  void write_string(std::string_view s);

  ByteSink& sink_;
  RdbVersion version_;
  bool db_selected_ = false;
  uint64_t db_ = 0;
  uint64_t keys_written_ = 0;
  uint64_t expires_written_ = 0;
  uint64_t checksum_ = 0;
  // The RESIZEDB hint after SELECTDB 0: written with placeholder counts in fixed-width lengths,
  // patched with the real counts by finish() (a server presizes its tables with them: a 10M-key
  // file without the hint loads about twice as slowly).
  static constexpr size_t kResizeDbSize = 1 + 9 + 9;
  bool resize_db_written_ = false;
  uint64_t resize_db_offset_ = 0;
  uint8_t resize_db_bytes_[kResizeDbSize] = {};
  size_t resize_db_len_ = 0;
  bool expected_ = false;
  uint64_t expected_keys_ = 0, expected_ttl_ = 0;
};

}  // namespace rdbrekey
