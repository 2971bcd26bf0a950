#include "rdbrekey/byte_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "rdbrekey/crc64.h"
#include "rdbrekey/error.h"
#include "rdbrekey/signals.h"

namespace rdbrekey {

BackgroundWriter::BackgroundWriter() {
  // The thread starts with the asynchronous signals blocked (and keeps them so): the handlers
  // run on the main thread.
  signals::AsyncSignalsBlocked blocked;
  thread_ = std::thread([this] {
    signals::block_async_signals_in_this_thread();
    run();
  });
}

BackgroundWriter::~BackgroundWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BackgroundWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return !jobs_.empty() || stop_; });
    if (jobs_.empty()) return;
    const Job job = jobs_.front();
    jobs_.pop_front();
    ByteSink* sink = job.sink;
    // Only this thread sets a sink's error, and the sink reads it only once its job is done.
    const bool failed = static_cast<bool>(sink->error_);
    lock.unlock();
    std::exception_ptr error;
    if (!failed) {
      try {
        sink->crc_ = crc64(sink->crc_, job.data + job.crc_from, job.size - job.crc_from);
        sink->write_out(job.data, job.size);
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    if (error) sink->error_ = error;
    sink->busy_ = false;
    cv_.notify_all();
  }
}

ByteSink::ByteSink(size_t buffer_size)
    : buffer_(std::make_unique<uint8_t[]>(buffer_size)), capacity_(buffer_size) {
  pos_ = crc_pos_ = buffer_.get();
  end_ = pos_ + capacity_;
}

ByteSink::~ByteSink() { stop_background(); }

void ByteSink::start_background(std::shared_ptr<BackgroundWriter> writer) {
  spare_ = std::make_unique<uint8_t[]>(capacity_);
  background_ = writer ? std::move(writer) : std::make_shared<BackgroundWriter>();
}

void ByteSink::drain() {
  if (!background_) return;
  BackgroundWriter& bg = *background_;
  std::unique_lock lock(bg.mu_);
  bg.cv_.wait(lock, [this] { return !busy_; });
  if (error_) std::rethrow_exception(error_);
}

void ByteSink::stop_background() noexcept {
  if (!background_) return;
  {
    BackgroundWriter& bg = *background_;
    std::unique_lock lock(bg.mu_);
    bg.cv_.wait(lock, [this] { return !busy_; });
  }
  background_.reset();  // the last sink of a writer stops its thread
}

void ByteSink::flush_buffer() {
  uint8_t* begin = buffer_.get();
  size_t n = static_cast<size_t>(pos_ - begin);
  if (background_) {
    drain();  // the spare buffer is free again
    if (n) {
      BackgroundWriter& bg = *background_;
      {
        std::lock_guard lock(bg.mu_);
        bg.jobs_.push_back({this, begin, n, static_cast<size_t>(crc_pos_ - begin)});
        busy_ = true;
      }
      bg.cv_.notify_all();
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

FdSink::FdSink(std::string name, int fd, bool background) : name_(std::move(name)), fd_(fd) {
  if (background) start_background();
}

FdSink::~FdSink() { stop_background(); }

void FdSink::write_out(const uint8_t* data, size_t size) {
  while (size) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_write_error(fmt::format("{}: write failed after {} bytes", name_, bytes_written()), errno);
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void FdSink::prepare() {
  ByteSink::prepare();
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && ::fsync(fd_) != 0)
    throw Error(Errc::kWriteFailed, fmt::format("{}: fsync failed: {}", name_, std::strerror(errno)));
}

void FdSink::cancel() noexcept { stop_background(); }

}  // namespace rdbrekey
