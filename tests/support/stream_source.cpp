#include "stream_source.h"

#include <algorithm>
#include <cstring>

namespace rdbrekey::test {

StreamSource::StreamSource(std::string name, std::string data, size_t chunk, bool endless_zeros)
    : ByteSource(std::move(name)), data_(std::move(data)), chunk_(std::max<size_t>(chunk, 1)),
      endless_(endless_zeros), buffer_(std::make_unique<uint8_t[]>(kBuffer)) {
  set_buffer(buffer_.get(), buffer_.get(), 0);
}

bool StreamSource::refill(size_t need) {
  flush_hooks();
  size_t keep = available();
  uint8_t* buf = buffer_.get();
  std::memmove(buf, pos_, keep);
  base_offset_ += static_cast<uint64_t>(pos_ - buf_begin_);
  buf_begin_ = pos_ = crc_pos_ = tee_pos_ = buf;
  end_ = buf + keep;
  while (available() < need) {
    size_t room = kBuffer - keep;
    size_t n = std::min(chunk_, room);
    if (next_ < data_.size()) {
      n = std::min(n, data_.size() - next_);
      std::memcpy(buf + keep, data_.data() + next_, n);
      next_ += n;
    } else if (endless_) {
      std::memset(buf + keep, 0, n);
    } else {
      break;
    }
    keep += n;
    delivered_ += n;
    end_ = buf + keep;
  }
  return available() >= need;
}

}  // namespace rdbrekey::test
