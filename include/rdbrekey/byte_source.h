// Byte sources: where RDB bytes come from (a file through mmap, a pipe or stdin through read(2),
// or memory), with an exposed buffer for inline reads and two hooks on the consumed bytes:
//  - a running CRC-64 of everything consumed (the RDB trailer check);
//  - a "tee" that forwards consumed bytes unchanged to a ByteSink (how a value is copied
//    through byte for byte without being decoded or held whole in memory).
// Modelled on ClickHouse's ReadBuffer (exposed buffer, one refill per source) and Valkey's rio
// (checksum hook inside the stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "rdbrekey/byte_sink.h"

namespace rdbrekey {



class ByteSource {
 public:
  // The most bytes one ensure() may ask for.
  static constexpr size_t kMaxEnsure = 64;

  explicit ByteSource(std::string name) : name_(std::move(name)) {}
  virtual ~ByteSource() = default;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  const std::string& name() const { return name_; }
  // Absolute offset of the next unread byte.
  uint64_t offset() const { return base_offset_ + static_cast<uint64_t>(pos_ - buf_begin_); }
  // Total size when known (regular files), else 0.
  uint64_t size_hint() const { return size_hint_; }
  // True when the whole input stays in place (memory, a mapped file): views into the buffer
  // stay valid until the source is destroyed.
  bool stable() const { return stable_; }
  // For stable sources: the whole input (offset 0 .. size_hint()), for reading a record again.
  const uint8_t* stable_data() const { return stable_ ? buf_begin_ - base_offset_ : nullptr; }

  // Exposed buffer: [pos(), pos() + available()).
  const uint8_t* pos() const { return pos_; }
  size_t available() const { return static_cast<size_t>(end_ - pos_); }
  // Makes at least n (<= kMaxEnsure) bytes available; false when the input ends first.
  bool ensure(size_t n) { return available() >= n || refill(n); }
  void advance(size_t n) { pos_ += n; }
  // Consumes n bytes of any size, streaming them through the hooks; false at a premature end.
  bool skip(uint64_t n);
  // Appends n bytes to out; false at a premature end (out then holds what there was).
  bool read_into(std::string& out, uint64_t n);
  // True when no byte is left.
  bool at_end() { return !ensure(1); }

  // CRC-64 of every byte consumed since the start (or since enable_checksum).
  void enable_checksum(bool on);
  uint64_t checksum();

  // While a tee is set, consumed bytes are written to `sink` as they are passed.
  void begin_tee(ByteSink& sink) {
    tee_pos_ = pos_;
    tee_ = &sink;
  }
  void end_tee() {
    flush_tee();
    tee_ = nullptr;
  }

  // Empty while the input is as it was when opened; otherwise what changed ("it shrank from
  // 100 to 50 bytes"): a file rewritten while it was read (regular files only).
  virtual std::string changed_since_open() { return {}; }

  // Lets the hooks catch up in large steps (called by the scanner between records).
  void checkpoint() {
    if (static_cast<size_t>(pos_ - crc_pos_) >= kHookChunk) flush_hooks();
  }

 protected:
  static constexpr size_t kHookChunk = 256 * 1024;

  // Makes more bytes available so that available() >= need if the input has them; false when
  // it ends first. Implementations call flush_hooks() before discarding consumed bytes.
  virtual bool refill(size_t need) = 0;
  // Called after the hooks have caught up, about every kHookChunk bytes.
  virtual void after_flush() {}
  // Both hooks catch up with pos_: the CRC (in large steps, see checkpoint) and the tee.
  void flush_hooks();
  // Only the tee catches up (at the end of each copied value: the CRC can wait).
  void flush_tee() {
    if (tee_ && pos_ > tee_pos_) {
      size_t n = static_cast<size_t>(pos_ - tee_pos_);
      if (n >= kSpliceMin && splice_fd_ >= 0 && tee_->can_splice()) splice_tee(n);
      else tee_->write(tee_pos_, n);
    }
    tee_pos_ = pos_;
  }
  // A large range of a mapped file goes to the sink by copy_file_range, hashed once for both
  // checksums (the input's and the output's, joined with crc64_combine).
  void splice_tee(size_t n);
  static constexpr size_t kSpliceMin = 1 << 20;
  int splice_fd_ = -1;  // the mapped file's descriptor, for splice_tee
  void set_buffer(const uint8_t* begin, const uint8_t* end, uint64_t base_offset) {
    buf_begin_ = pos_ = crc_pos_ = tee_pos_ = begin;
    end_ = end;
    base_offset_ = base_offset;
  }

  std::string name_;
  const uint8_t* buf_begin_ = nullptr;
  const uint8_t* pos_ = nullptr;
  const uint8_t* end_ = nullptr;
  const uint8_t* crc_pos_ = nullptr;
  const uint8_t* tee_pos_ = nullptr;
  uint64_t base_offset_ = 0;
  uint64_t size_hint_ = 0;
  bool stable_ = false;
  bool crc_on_ = true;
  uint64_t crc_ = 0;
  ByteSink* tee_ = nullptr;
};

// Bytes already in memory (tests, benchmarks).
class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string name, const void* data, size_t size);

 protected:
  bool refill(size_t need) override;
};

// A file: mapped whole when it is a regular file, read in 4 MiB steps otherwise (pipes, stdin
// as "-"). Never writes to it.
class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path);
  ~FileSource() override;
  std::string changed_since_open() override;

 protected:
  bool refill(size_t need) override;
  void after_flush() override;

 private:
  static constexpr size_t kReadBuffer = 4 << 20;
  int fd_ = -1;
  bool owns_fd_ = false;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::unique_ptr<uint8_t[]> buffer_;
  bool eof_ = false;
  uint64_t mapped_advised_ = 0;
  // A mapped file that shrinks while it is read (signals.h): the rest reads as zeros and the
  // next refill or hook flush throws "input changed while reading".
  int map_handle_ = -1;
  void throw_if_mapping_lost();
  bool regular_ = false;
  struct stat_snapshot {
    int64_t size = 0;
    int64_t mtime_ns = 0;
  } at_open_;
};

}  // namespace rdbrekey
