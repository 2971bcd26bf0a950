#include "rdbrekey/byte_sink.h"

#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "rdbrekey/crc64.h"
#include "rdbrekey/signals.h"

namespace rdbrekey {

// One job at a time: a full buffer to checksum (from crc_from) and deliver.
struct ByteSink::Background {
  std::mutex mu;
  std::condition_variable cv;
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t crc_from = 0;
  bool busy = false;
  bool stop = false;
  std::exception_ptr error;
  std::thread thread;
};

ByteSink::ByteSink(size_t buffer_size)
    : buffer_(std::make_unique<uint8_t[]>(buffer_size)), capacity_(buffer_size) {
  pos_ = crc_pos_ = buffer_.get();
  end_ = pos_ + capacity_;
}

ByteSink::~ByteSink() { stop_background(); }

void ByteSink::start_background() {
  spare_ = std::make_unique<uint8_t[]>(capacity_);
  background_ = std::make_unique<Background>();
  Background* bg = background_.get();
  // The thread starts with the asynchronous signals blocked (and keeps them so): the handlers
  // run on the main thread.
  signals::AsyncSignalsBlocked blocked;
  bg->thread = std::thread([this, bg] {
    signals::block_async_signals_in_this_thread();
    std::unique_lock lock(bg->mu);
    for (;;) {
      bg->cv.wait(lock, [bg] { return bg->busy || bg->stop; });
      if (!bg->busy) return;
      const uint8_t* data = bg->data;
      size_t size = bg->size, crc_from = bg->crc_from;
      lock.unlock();
      try {
        if (!bg->error) {
          crc_ = crc64(crc_, data + crc_from, size - crc_from);
          write_out(data, size);
        }
      } catch (...) {
        bg->error = std::current_exception();
      }
      lock.lock();
      bg->busy = false;
      bg->cv.notify_all();
    }
  });
}

void ByteSink::drain() {
  if (!background_) return;
  Background* bg = background_.get();
  std::unique_lock lock(bg->mu);
  bg->cv.wait(lock, [bg] { return !bg->busy; });
  if (bg->error) std::rethrow_exception(bg->error);
}

void ByteSink::stop_background() noexcept {
  if (!background_) return;
  {
    std::unique_lock lock(background_->mu);
    background_->cv.wait(lock, [this] { return !background_->busy; });
    background_->stop = true;
    background_->cv.notify_all();
  }
  background_->thread.join();
  background_.reset();
}

void ByteSink::flush_buffer() {
  uint8_t* begin = buffer_.get();
  size_t n = static_cast<size_t>(pos_ - begin);
  if (background_) {
    drain();  // the spare buffer is free again
    if (n) {
      Background* bg = background_.get();
      std::lock_guard lock(bg->mu);
      bg->data = begin;
      bg->size = n;
      bg->crc_from = static_cast<size_t>(crc_pos_ - begin);
      bg->busy = true;
      bg->cv.notify_all();
    }
    std::swap(buffer_, spare_);
    flushed_ += n;
    pos_ = crc_pos_ = buffer_.get();
    end_ = pos_ + capacity_;
    return;
  }
  if (pos_ > crc_pos_) crc_ = crc64(crc_, crc_pos_, static_cast<size_t>(pos_ - crc_pos_));
  if (n) write_out(begin, n);
  flushed_ += n;
  pos_ = crc_pos_ = begin;
}

void ByteSink::write_slow(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (size >= capacity_ / 2) {
    // Large ranges go straight to the destination: no second copy.
    flush_buffer();
    drain();
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

void ByteSink::splice_from(int fd, uint64_t offset, const uint8_t* data, size_t size, uint64_t range_crc) {
  checksum();      // the CRC of everything before, exactly
  flush_buffer();  // deliver it first: the range must land after it
  drain();
  if (!copy_range_out(fd, offset, size)) write_out(data, size);
  crc_ = crc64_combine(crc_, range_crc, size);
  flushed_ += size;
}

void ByteSink::patch(uint64_t offset, const uint8_t* old_bytes, const uint8_t* new_bytes, size_t size) {
  flush_buffer();  // everything delivered and hashed: crc_ covers bytes [0, flushed_)
  drain();
  patch_out(offset, new_bytes, size);
  uint8_t diff[16];
  for (size_t done = 0; done < size; done += sizeof diff) {
    size_t n = std::min(size - done, sizeof diff);
    for (size_t i = 0; i < n; ++i) diff[i] = old_bytes[done + i] ^ new_bytes[done + i];
    // The change D is zero but for these bytes: crc(D) = crc(diff) moved past the bytes after.
    crc_ ^= crc64_combine(crc64(0, diff, n), 0, flushed_ - offset - done - n);
  }
}

uint64_t ByteSink::checksum() {
  drain();
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

void ByteSink::prepare() {
  flush_buffer();
  drain();
}

}  // namespace rdbrekey
