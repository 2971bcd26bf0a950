#include "rdbrekey/error.h"

#include <fmt/format.h>

namespace rdbrekey {

void throw_at(ExitCode code, const Location& where, const std::string& what) {
  std::string msg = fmt::format("{}: byte offset {}", where.file, where.offset);
  if (!where.record.empty()) msg += fmt::format(" ({})", where.record);
  msg += ": ";
  msg += what;
  throw Error(code, std::move(msg));
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
