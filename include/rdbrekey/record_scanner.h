// The RDB record scanner: reads the header, then one record at a time, verifying the CRC-64
// trailer at the end. A record with a payload (a key's value, a MODULE_AUX body, a FUNCTION2
// library) leaves it unread: the caller copies it through with copy_payload() or passes it with
// skip_payload() (next() skips it when neither was called).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/byte_source.h"
#include "rdbrekey/rdb_input.h"
#include "rdbrekey/rdb_version.h"
#include "rdbrekey/value_walker.h"

namespace rdbrekey {

enum class RecordKind : uint8_t {
  kAux,         // key(), aux_value()
  kSelectDb,    // db
  kResizeDb,    // db_size, expires_size
  kModuleAux,   // payload: the bytes after the opcode
  kFunction,    // payload: the library source (one RDB string)
  kSlotInfo,    // Redis >= 12 cluster hint: slot, slot_size, expires_slot_size
  kSlotImport,  // Valkey >= 80 cluster slot-migration job (dropped)
  kKey,         // key(), type and the prefix fields; payload: the value
  kEof,
};

// The opcodes that come before a key's type byte.
struct KeyPrefix {
  bool has_expire = false;
  bool expire_in_seconds = false;  // obsolete EXPIRETIME (int32 seconds) rather than _MS
  int64_t expire_ms = 0;
  uint8_t expire_raw[8] = {};      // as stored: 8 bytes (ms) or 4 bytes (seconds)
  bool has_idle = false;
  uint64_t idle = 0;
  bool has_freq = false;
  uint8_t freq = 0;
  std::string key_meta;            // raw KEY_META payload (after the opcode), Redis >= 13
  void clear() {
    has_expire = expire_in_seconds = has_idle = has_freq = false;
    expire_ms = 0;
    key_meta.clear();
  }
};

struct Record {
  RecordKind kind = RecordKind::kEof;
  uint64_t offset = 0;  // byte offset of the record's first byte (its first prefix opcode)
  uint64_t key_offset = 0;  // kKey: byte offset of the key string (right after the type byte)
  uint8_t opcode = 0;   // the type byte for kKey, the opcode otherwise
  uint64_t db = 0;
  uint64_t db_size = 0, expires_size = 0;
  uint64_t slot = 0;
  KeyPrefix prefix;
  std::string_view key;    // kKey: decoded key; kAux: aux field name
  std::string_view value;  // kAux: decoded aux value
};

struct ScanSummary {
  bool checksum_present = false;  // RDB >= 5 and the stored checksum is not 0
  uint64_t checksum = 0;
  uint64_t end_offset = 0;        // offset just past the trailer
  uint64_t trailing_bytes = 0;    // bytes after the trailer (an AOF tail); ignored, never read
  bool trailing_exact = true;     // false for a pipe: only the bytes already buffered are known
};

class RecordScanner {
 public:
  explicit RecordScanner(ByteSource& src);

  // Reads and checks the magic; throws on a non-RDB file or a version this tool does not know.
  RdbVersion read_header();
  RdbVersion version() const { return in_.version(); }
  const std::string& file() const { return src_.name(); }
  // The database of the most recent SELECTDB (0 before any).
  uint64_t current_db() const { return db_; }

  // Reads the next record; false after kEof was returned.
  bool next(Record& r);
  // Copies the current record's payload to `sink` unchanged.
  void copy_payload(ByteSink& sink);
  void skip_payload();
  // The input positioned at the current record's payload, for a caller that reads (decodes)
  // the payload itself, entirely, before the next call to next().
  RdbInput& payload_input() {
    payload_pending_ = false;
    return in_;
  }
  // How many 64-bit lengths (0x81) were read so far (in keys, values and metadata).
  uint64_t len64_seen() const { return in_.len64_seen(); }
  // For a string value: decodes it into `out` when it is at most `max` bytes, else skips it
  // and returns false.
  bool read_small_string_payload(std::string& out, size_t max);

  const ScanSummary& summary() const { return summary_; }
  [[noreturn]] void fail(Errc code, const std::string& what) const { in_.fail(code, what); }

 private:
  void walk_payload();
  void read_eof();
  void read_key_meta(KeyPrefix& prefix);

  ByteSource& src_;
  RdbInput in_;
  bool is_value_type_[256] = {};  // for the input's version, filled by read_header
  ValueWalker walker_;
  uint64_t db_ = 0;
  bool payload_pending_ = false;
  bool done_ = false;
  Record* current_ = nullptr;
  std::string key_buf_;
  std::string value_buf_;
  ScanSummary summary_;
};

// The bytes of one record's payload (a value, a MODULE_AUX body, a FUNCTION2 library), as an
// output receives them: still in the input (the scanner's current record), or already in memory
// (bytes the tool made). The output copies them to its sink byte for byte, or skips them. A
// plain class, not an interface: it sits on the path of every key.
class Payload {
 public:
  explicit Payload(RecordScanner& scanner) : scanner_(&scanner) {}
  explicit Payload(std::string_view bytes) : bytes_(bytes) {}

  void copy_to(ByteSink& sink) {
    if (scanner_) scanner_->copy_payload(sink);
    else sink.write(bytes_.data(), bytes_.size());
  }
  void skip() {
    if (scanner_) scanner_->skip_payload();
  }

 private:
  RecordScanner* scanner_ = nullptr;
  std::string_view bytes_;
};

}  // namespace rdbrekey
