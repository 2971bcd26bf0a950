#include "rdbrekey/byte_sink.h"

#include <cstring>

#include "rdbrekey/crc64.h"

namespace rdbrekey {

ByteSink::ByteSink(size_t buffer_size)
    : buffer_(std::make_unique<uint8_t[]>(buffer_size)), capacity_(buffer_size) {
  pos_ = crc_pos_ = buffer_.get();
  end_ = pos_ + capacity_;
}

void ByteSink::flush_buffer() {
  uint8_t* begin = buffer_.get();
  if (pos_ > crc_pos_) crc_ = crc64(crc_, crc_pos_, static_cast<size_t>(pos_ - crc_pos_));
  size_t n = static_cast<size_t>(pos_ - begin);
  if (n) write_out(begin, n);
  flushed_ += n;
  pos_ = crc_pos_ = begin;
}

void ByteSink::write_slow(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (size >= capacity_ / 2) {
    // Large ranges go straight to the destination: no second copy.
    flush_buffer();
    crc_ = crc64(crc_, p, size);
    write_out(p, size);
    flushed_ += size;
    return;
  }
  while (size) {
    if (pos_ == end_) flush_buffer();
    size_t step = std::min(size, static_cast<size_t>(end_ - pos_));
    std::memcpy(pos_, p, step);
    pos_ += step;
    p += step;
    size -= step;
  }
}

uint64_t ByteSink::checksum() {
  if (pos_ > crc_pos_) crc_ = crc64(crc_, crc_pos_, static_cast<size_t>(pos_ - crc_pos_));
  crc_pos_ = pos_;
  return crc_;
}

void ByteSink::write_unchecksummed(const void* data, size_t size) {
  // size is small (the 8-byte trailer): make room first so no flush checksums part of it.
  checksum();
  uint8_t* out = reserve(size);
  std::memcpy(out, data, size);
  commit(size);
  crc_pos_ = pos_;
}

void ByteSink::finalize() { flush_buffer(); }

}  // namespace rdbrekey
