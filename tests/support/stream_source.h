// A ByteSource that behaves like a pipe: the bytes come a chunk at a time into a buffer of its
// own, cannot be read again (not stable) and have no known size. Optionally followed by zeros
// that never end (a stream that goes on after the RDB's end marker).
#pragma once

#include <memory>
#include <string>

#include "rdbrekey/byte_source.h"

namespace rdbrekey::test {

class StreamSource final : public ByteSource {
 public:
  StreamSource(std::string name, std::string data, size_t chunk = 4096, bool endless_zeros = false);
  // Bytes handed out so far (data and zeros).
  uint64_t delivered() const { return delivered_; }

 protected:
  bool refill(size_t need) override;

 private:
  static constexpr size_t kBuffer = 1 << 16;
  std::string data_;
  size_t chunk_;
  bool endless_;
  size_t next_ = 0;
  uint64_t delivered_ = 0;
  std::unique_ptr<uint8_t[]> buffer_;
};

}  // namespace rdbrekey::test
