// Byte sinks: where output bytes go, through a buffer that keeps a running CRC-64 of what
// passes (the natural home of the RDB trailer, like ClickHouse's HashingWriteBuffer).
// Lifecycle (commit.h): write ... prepare() delivers everything, commit() makes it visible
// (finalize() = both); cancel() (or destruction without commit) discards.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rdbrekey/commit.h"

namespace rdbrekey {

class ByteSink;

// A thread that checksums and delivers the full buffers of one or more sinks, in the order they
// were handed over (each sink has at most one buffer in its hands). A split into many files
// shares one, so that the conversion and the writing keep to two threads however many files
// there are. It lives as long as the sinks that use it (shared_ptr); the last one stops it.
class BackgroundWriter {
 public:
  BackgroundWriter();
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

 private:
  friend class ByteSink;
  struct Job {
    ByteSink* sink;
    const uint8_t* data;
    size_t size;
    size_t crc_from;  // the CRC covers data[crc_from, size)
  };
  void run();

  std::mutex mu_;
  std::condition_variable cv_;  // a job was handed over, or one is done
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

class ByteSink : public Committable {
 public:
  explicit ByteSink(size_t buffer_size = 1 << 20);
  virtual ~ByteSink();
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;

  void write(const void* data, size_t size) {
    if (size <= static_cast<size_t>(end_ - pos_)) {
      __builtin_memcpy(pos_, data, size);
      pos_ += size;
    } else {
      write_slow(data, size);
    }
  }
  void put(uint8_t byte) {
    if (pos_ == end_) flush_buffer();
    *pos_++ = byte;
  }
  // Room for at least n (<= 64) bytes at cursor(); then commit(k) what was written.
  uint8_t* reserve(size_t n) {
    if (static_cast<size_t>(end_ - pos_) < n) flush_buffer();
    return pos_;
  }
  void commit(size_t n) { pos_ += n; }

  // CRC-64 of every byte written so far.
  uint64_t checksum();
  // Writes bytes that the checksum must not cover (the trailer itself).
  void write_unchecksummed(const void* data, size_t size);
  uint64_t bytes_written() const { return flushed_ + static_cast<uint64_t>(pos_ - buffer_.get()); }

  // Delivers everything written (for files: also fsync under the temporary name).
  void prepare() override;
  // Delivers everything written and starts making it durable, without waiting for that (a file
  // starts the disk writing what it still holds): prepare() then waits for less. For outputs
  // of several files, which then reach the disk together rather than one after another.
  virtual void deliver() {
    flush_buffer();
    drain();
  }
  // Makes the output visible (for files: rename into place); nothing to do by default.
  void commit() override {}
  void uncommit() noexcept override {}
  // Discards the output; never throws.
  void cancel() noexcept override {}
  // prepare() and commit().
  void finalize() {
    prepare();
    commit();
  }

  // Whether patch() works (the destination can be rewritten in place).
  virtual bool can_patch() const { return false; }
  // Rewrites `size` bytes at `offset` that were written as `old_bytes`; the running CRC is
  // corrected for the change (CRC-64 is linear: crc(M ^ D) = crc(M) ^ crc(D)).
  void patch(uint64_t offset, const uint8_t* old_bytes, const uint8_t* new_bytes, size_t size);

  // Whether splice_from() copies inside the kernel (a file sink); otherwise it writes `data`.
  virtual bool can_splice() const { return false; }
  // Appends `size` bytes that are at `offset` of the file `fd` and also mapped at `data`, whose
  // CRC-64 (from 0) is `range_crc`.
  void splice_from(int fd, uint64_t offset, const uint8_t* data, size_t size, uint64_t range_crc);

 protected:
  // Delivers bytes to the destination (on the background thread once start_background()).
  virtual void write_out(const uint8_t* data, size_t size) = 0;
  // Rewrites bytes already delivered (for patch()).
  virtual void patch_out(uint64_t, const uint8_t*, size_t) {}
  // Copies file bytes to the destination inside the kernel; false when it cannot (then the
  // caller writes them). Only called after everything before them was delivered.
  virtual bool copy_range_out(int, uint64_t, size_t) { return false; }
  void flush_buffer();
  // From now on, full buffers are checksummed and delivered by a second thread while the
  // caller fills the next one (two buffers; the caller waits only when both are full): the
  // thread of `writer` when given (shared with other sinks), else one of this sink's own.
  void start_background(std::shared_ptr<BackgroundWriter> writer = nullptr);
  // Waits for the background thread to deliver everything handed to it; rethrows its error.
  void drain();
  // Stops the background thread (after draining); never throws. Subclasses call it in their
  // destructor and cancel() before releasing what write_out uses.
  void stop_background() noexcept;

 private:
  friend class BackgroundWriter;
  void write_slow(const void* data, size_t size);

  std::unique_ptr<uint8_t[]> buffer_;
  std::unique_ptr<uint8_t[]> spare_;
  std::shared_ptr<BackgroundWriter> background_;
  // Guarded by background_->mu_: a buffer of this sink is in the writer's hands; its failure.
  bool busy_ = false;
  std::exception_ptr error_;
  size_t capacity_;
  uint8_t* pos_;
  uint8_t* end_;
  uint8_t* crc_pos_;
  uint64_t crc_ = 0;
  uint64_t flushed_ = 0;
};

// Collects the output in memory (tests, benchmarks).
class MemorySink final : public ByteSink {
 public:
  MemorySink() : ByteSink(64 << 10) {}
  const std::vector<uint8_t>& data() const { return data_; }

 protected:
  void write_out(const uint8_t* data, size_t size) override { data_.insert(data_.end(), data, data + size); }
  bool can_patch() const override { return true; }
  void patch_out(uint64_t offset, const uint8_t* data, size_t size) override {
    std::copy(data, data + size, data_.begin() + static_cast<std::ptrdiff_t>(offset));
  }

 private:
  std::vector<uint8_t> data_;
};

// An open file descriptor that cannot be renamed into place: standard output (`-o -`). It writes
// on a second thread while the conversion goes on; prepare() delivers everything (and fsyncs
// a regular file). What was written cannot be taken back: cancel() only stops, and a reader
// of a cancelled stream sees it cut short (an RDB without its trailer, which no server loads).
class FdSink final : public ByteSink {
 public:
  // `background`: written on a second thread (false: on the caller's, --threads 1).
  FdSink(std::string name, int fd, bool background = true);
  ~FdSink() override;
  void prepare() override;
  void cancel() noexcept override;

 protected:
  void write_out(const uint8_t* data, size_t size) override;

 private:
  std::string name_;
  int fd_;
};

// Counts and checksums, writes nothing (dry runs). It accepts patches like a file does, so
// that a dry run writes (and counts) exactly the bytes of the real output.
class NullSink final : public ByteSink {
 public:
  NullSink() : ByteSink(64 << 10) {}
  bool can_patch() const override { return true; }

 protected:
  void write_out(const uint8_t*, size_t) override {}
};

}  // namespace rdbrekey
