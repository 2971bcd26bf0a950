#include "rdbrekey/record_scanner.h"

#include <cstring>

#include <fmt/format.h>

#include "rdbrekey/format.h"

namespace rdbrekey {

RecordScanner::RecordScanner(ByteSource& src) : src_(src), in_(src, RdbVersion{}), walker_(in_) {}

RdbVersion RecordScanner::read_header() {
  in_.set_context("file header", 0);
  char magic[rdb::kMagicSize];
  if (!src_.ensure(rdb::kMagicSize)) {
    if (src_.available() == 0)
      in_.fail(Errc::kNotRdb, "empty input: expected an RDB file starting with REDIS or VALKEY");
    in_.truncated("the 9-byte RDB header", rdb::kMagicSize - src_.available());
  }
  std::memcpy(magic, src_.pos(), rdb::kMagicSize);
  auto v = parse_magic(std::string_view(magic, rdb::kMagicSize));
  if (!v) {
    in_.fail(Errc::kNotRdb,
             fmt::format("not an RDB file: starts with {}, expected \"REDIS\" + 4 digits or \"VALKEY\" + 3 digits",
                         quote_bytes(magic, rdb::kMagicSize)));
  }
  if (!is_known_version(*v)) {
    in_.fail(Errc::kUnknownVersion,
             fmt::format("{}: RDB version {} is not one this tool reads (REDIS0001..REDIS{:04d}, VALKEY080)",
                         v->magic(), v->number, kMaxRedisVersion));
  }
  src_.advance(rdb::kMagicSize);
  in_.set_version(*v);
  for (int t = 0; t < 256; ++t) is_value_type_[t] = is_value_type(static_cast<uint8_t>(t), *v);
  return *v;
}

void RecordScanner::read_key_meta(KeyPrefix& prefix) {
  // KEY_META: L num_classes, num_classes x (4-byte class spec, module value stream).
  // Captured raw (it is small metadata) so that it can be written before the type byte.
  MemorySink capture;
  src_.begin_tee(capture);
  uint64_t classes = in_.read_len("key metadata class count");
  for (uint64_t i = 0; i < classes; ++i) {
    in_.skip_bytes(4, "key metadata class spec");
    walker_.walk_module_stream("key metadata");
  }
  src_.end_tee();
  capture.finalize();
  prefix.key_meta.assign(capture.data().begin(), capture.data().end());
}

bool RecordScanner::next(Record& r) {
  if (done_) return false;
  if (payload_pending_) skip_payload();
  current_ = &r;
  r.prefix.clear();
  r.key = {};
  r.value = {};
  src_.checkpoint();
  r.offset = src_.offset();
  bool in_prefix = false;
  for (;;) {
    uint64_t at = src_.offset();
    if (!in_prefix) r.offset = at;
    in_.set_context(in_prefix ? "key record" : "record", r.offset);
    if (!src_.ensure(1))
      in_.truncated(in_prefix ? "the key that follows an expire/idle/freq opcode" : "the next record type or opcode (no EOF marker)", 1);
    uint8_t op = *src_.pos();
    src_.advance(1);
    r.opcode = op;
    const RdbVersion ver = in_.version();
    if (is_value_type_[op]) {
      r.kind = RecordKind::kKey;
      in_.set_context("key record", r.offset);
      r.key_offset = src_.offset();
      const uint8_t* p = src_.pos();
      if (src_.stable() && src_.available() > 64 && p[0] < 0x40) {
        // A short plain key in a buffer that never moves: a view, no copy.
        r.key = std::string_view(reinterpret_cast<const char*>(p + 1), p[0]);
        src_.advance(1u + p[0]);
      } else {
        in_.read_string(key_buf_, "key");
        r.key = key_buf_;
      }
      in_.set_key_context(r.key, db_, op, r.offset);
      payload_pending_ = true;
      return true;
    }
    switch (op) {
      case rdb::kOpExpireTimeMs: {
        r.prefix.has_expire = true;
        r.prefix.expire_in_seconds = false;
        in_.read_bytes(r.prefix.expire_raw, 8, "expire time (ms)");
        int64_t ms;
        std::memcpy(&ms, r.prefix.expire_raw, 8);  // little-endian (host order before RDB 9)
        r.prefix.expire_ms = ms;
        in_prefix = true;
        continue;
      }
      case rdb::kOpExpireTime: {
        r.prefix.has_expire = true;
        r.prefix.expire_in_seconds = true;
        in_.read_bytes(r.prefix.expire_raw, 4, "expire time (s)");
        int32_t s;
        std::memcpy(&s, r.prefix.expire_raw, 4);
        r.prefix.expire_ms = int64_t{s} * 1000;
        in_prefix = true;
        continue;
      }
      case rdb::kOpIdle:
        r.prefix.has_idle = true;
        r.prefix.idle = in_.read_len("idle time");
        in_prefix = true;
        continue;
      case rdb::kOpFreq:
        r.prefix.has_freq = true;
        r.prefix.freq = in_.read_u8("LFU frequency");
        in_prefix = true;
        continue;
      default:
        break;
    }
    if (op == rdb::kOpKeyMeta && !ver.is_valkey()) {
      read_key_meta(r.prefix);
      in_prefix = true;
      continue;
    }
    if (in_prefix && op != rdb::kOpEof) {
      // Servers write expire/idle/freq right before the key's type byte; anything else here
      // would attach them to the wrong key.
      in_.fail(Errc::kBadFraming,
               fmt::format("opcode 0x{:02x} where the value type of a key was expected (after an expire/idle/freq "
                           "opcode)",
                           op));
    }
    switch (op) {
      case rdb::kOpEof:
        if (in_prefix) in_.fail(Errc::kBadFraming, "EOF marker right after an expire/idle/freq opcode");
        r.kind = RecordKind::kEof;
        read_eof();
        done_ = true;
        return true;
      case rdb::kOpSelectDb:
        r.kind = RecordKind::kSelectDb;
        r.db = db_ = in_.read_len("database number");
        return true;
      case rdb::kOpResizeDb:
        r.kind = RecordKind::kResizeDb;
        r.db = db_;
        r.db_size = in_.read_len("RESIZEDB db size");
        r.expires_size = in_.read_len("RESIZEDB expires size");
        return true;
      case rdb::kOpAux:
        r.kind = RecordKind::kAux;
        in_.set_context("AUX field", at);
        in_.read_string(key_buf_, "AUX field name");
        in_.read_string(value_buf_, "AUX field value");
        r.key = key_buf_;
        r.value = value_buf_;
        return true;
      case rdb::kOpModuleAux:
        r.kind = RecordKind::kModuleAux;
        in_.set_context("MODULE_AUX record", at);
        payload_pending_ = true;
        return true;
      case rdb::kOpFunction2:
        r.kind = RecordKind::kFunction;
        in_.set_context("FUNCTION2 record", at);
        payload_pending_ = true;
        return true;
      case rdb::kOpFunctionPreGa:
        in_.fail(Errc::kUnknownType,
                 "pre-release function record (opcode 246, Redis 7.0-rc1/rc2 only): no released server loads it");
      case rdb::kOpSlotInfo:
        r.kind = RecordKind::kSlotInfo;
        in_.set_context("SLOT_INFO record", at);
        r.slot = in_.read_len("slot id");
        r.db_size = in_.read_len("slot size");
        r.expires_size = in_.read_len("slot expires size");
        return true;
      default:
        break;
    }
    if (op == rdb::kOpSlotImport && ver.is_valkey()) {
      r.kind = RecordKind::kSlotImport;
      in_.set_context("SLOT_IMPORT record", at);
      in_.skip_string("slot import job name");
      uint64_t ranges = in_.read_len("slot range count");
      for (uint64_t i = 0; i < ranges; ++i) {
        in_.read_len("slot range start");
        in_.read_len("slot range end");
      }
      return true;
    }
    std::string hint;
    if (op == rdb::kTypeModulePreGa) hint = " (a Redis 4.0 release-candidate module value: no released server loads it)";
    else if (op == 107 || op == 121) hint = " (a Redis Enterprise-only opcode: not an open-source RDB)";
    else if (ver.is_valkey() && op >= 23 && op <= 28) hint = " (a Redis-only type, not valid in a VALKEY file)";
    throw_at(Errc::kUnknownType, Location{src_.name(), at, fmt::format("record at byte {}", at)},
             fmt::format("unknown value type or opcode {} (0x{:02x}) in an RDB of version {}{}", op, op, ver.magic(),
                         hint));
  }
}

void RecordScanner::walk_payload() {
  const Record& r = *current_;
  payload_pending_ = false;
  switch (r.kind) {
    case RecordKind::kKey:
      walker_.walk_value(r.opcode);
      break;
    case RecordKind::kModuleAux:
      walker_.walk_module_aux();
      break;
    case RecordKind::kFunction:
      in_.skip_string("function library code");
      break;
    default:
      break;
  }
}

void RecordScanner::copy_payload(ByteSink& sink) {
  // Fast path: a short plain string value in the buffer (most values) is written directly.
  if (current_->opcode == rdb::kTypeString && current_->kind == RecordKind::kKey && src_.available() > 64 &&
      src_.pos()[0] < 0x40) {
    size_t n = 1u + src_.pos()[0];
    sink.write(src_.pos(), n);
    src_.advance(n);
    payload_pending_ = false;
    return;
  }
  src_.begin_tee(sink);
  walk_payload();
  src_.end_tee();
}

void RecordScanner::skip_payload() { walk_payload(); }

bool RecordScanner::read_small_string_payload(std::string& out, size_t max) {
  payload_pending_ = false;
  if (!src_.ensure(1)) in_.truncated("value", 1);
  if ((*src_.pos() >> 6) == rdb::kLenEncoded) {
    in_.read_string(out, "value");  // int-encoded or LZF; bounded by kMaxDecodedString
    return out.size() <= max;
  }
  // A plain string: a long one is skipped without being read into memory.
  uint64_t len = in_.read_len("value");
  if (len > max) {
    in_.skip_bytes(len, "value");
    return false;
  }
  out.clear();
  if (!src_.read_into(out, len)) in_.truncated("value", len - out.size());
  return true;
}

void RecordScanner::read_eof() {
  in_.set_context("EOF marker", src_.offset() - 1);
  uint64_t computed = src_.checksum();  // covers everything up to and including the EOF byte
  if (in_.version().has_checksum()) {
    uint8_t raw[8];
    in_.read_bytes(raw, 8, "the 8-byte CRC-64 trailer");
    uint64_t stored = 0;
    for (int i = 7; i >= 0; --i) stored = (stored << 8) | raw[i];
    summary_.checksum = stored;
    summary_.checksum_present = stored != 0;
    if (stored != 0 && stored != computed)
      in_.fail(Errc::kChecksumMismatch,
               fmt::format("checksum mismatch: the trailer says 0x{:016x}, the content hashes to 0x{:016x} "
                           "(the file is damaged)",
                           stored, computed));
  }
  summary_.end_offset = src_.offset();
  // Reading stops here: whatever follows (an AOF tail, or a stream that never ends) is not
  // read. Its size is known for a file; for a pipe, only what was already buffered is counted.
  if (src_.size_hint() >= summary_.end_offset && src_.size_hint() > 0)
    summary_.trailing_bytes = src_.size_hint() - summary_.end_offset;
  else
    summary_.trailing_bytes = src_.available(), summary_.trailing_exact = false;
}

}  // namespace rdbrekey
