#include "rdbrekey/error.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace rdbrekey {

void throw_at(Errc code, const Location& where, const std::string& what) {
  std::string msg = fmt::format("{}: byte offset {}", where.file, where.offset);
  if (!where.record.empty()) msg += fmt::format(" ({})", where.record);
  msg += ": ";
  msg += what;
  throw Error(code, std::move(msg));
}

void throw_write_error(const std::string& what, int err) {
  std::string hint = err == ENOSPC   ? " (the disk is full)"
                     : err == EDQUOT ? " (disk quota exceeded)"
                     : err == EFBIG  ? " (over the file size limit)"
                     : err == EPIPE  ? " (the reader went away)"
                                     : "";
  Errc code = err == ENOSPC || err == EDQUOT || err == EFBIG ? Errc::kNoSpace : Errc::kWriteFailed;
  throw Error(code, fmt::format("{}: {}{}", what, std::strerror(err), hint));
}

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::kBadOption: return "bad option";
    case Errc::kOutputIsInput: return "output is an input";
    case Errc::kNotRegularFile: return "not a regular file";
    case Errc::kSameFileTwice: return "same file twice";
    case Errc::kTooMany: return "too many";
    case Errc::kBadTopology: return "bad topology";
    case Errc::kCannotOpen: return "cannot open";
    case Errc::kReadFailed: return "read failed";
    case Errc::kWriteFailed: return "write failed";
    case Errc::kNoSpace: return "no space";
    case Errc::kOutputExists: return "output exists";
    case Errc::kNotRdb: return "not an RDB file";
    case Errc::kTruncated: return "truncated";
    case Errc::kBadFraming: return "bad framing";
    case Errc::kChecksumMismatch: return "checksum mismatch";
    case Errc::kInputChanged: return "input changed";
    case Errc::kDuplicateKey: return "duplicate key";
    case Errc::kKeyCountMismatch: return "key count mismatch";
    case Errc::kUnknownVersion: return "unknown version";
    case Errc::kUnknownType: return "unknown type";
    case Errc::kBeyondLimits: return "beyond limits";
    case Errc::kUnmappedDatabase: return "unmapped database";
    case Errc::kCollision: return "collision";
    case Errc::kCannotHold: return "cannot hold";
    case Errc::kAmbiguousMap: return "ambiguous map";
    case Errc::kTargetUnavailable: return "target unavailable";
    case Errc::kTargetRefused: return "target refused";
    case Errc::kTargetKeyExists: return "key exists in target";
    case Errc::kTargetMismatch: return "target count mismatch";
    case Errc::kInterrupted: return "interrupted";
    case Errc::kInternal: return "internal";
  }
  return "unknown";
}

std::string quote_bytes(const void* data, size_t size, size_t max) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out = "\"";
  size_t n = size < max ? size : max;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = p[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  out += '"';
  if (n < size) out += fmt::format("... ({} bytes)", size);
  return out;
}

}  // namespace rdbrekey
