// Byte sources: where RDB bytes come from, with an exposed buffer for inline reads and two hooks
// on the consumed bytes:
//  - a running CRC-64 of everything consumed (the RDB trailer check);
//  - a "tee" that forwards consumed bytes unchanged to a ByteSink (how a value is copied
//    through byte for byte without being decoded or held whole in memory).
// Modelled on ClickHouse's ReadBuffer (exposed buffer, one refill per source, sources that
// wrap sources) and Valkey's rio (checksum hook inside the stream).
//
//   ByteSource            the buffer, the cursors and the hooks
//   ├─ MemorySource       bytes already in memory (stable)
//   ├─ MappedFileSource   a regular file, mapped whole (stable; survives the file shrinking)
//   └─ StreamingSource    bytes read a chunk at a time into a buffer of its own: a subclass
//      │                  only says how to get more (read_some)
//      └─ FdSource        a pipe, standard input, a file that cannot be mapped (read(2))
//      └─ DecompressingSource  gzip/lz4/zstd data of another source, decompressed
//                         as it is read (compression.h)
//   open_input(path)      opens a path ("-": standard input) as the right source, after
//                         sniffing its first bytes (compressed data is wrapped in a
//                         DecompressingSource)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/read_ahead.h"

namespace rdbrekey {

class ByteSource {
 public:
  // The most bytes one ensure() may ask for.
  static constexpr size_t kMaxEnsure = 64;

  explicit ByteSource(std::string name) : name_(std::move(name)) {}
  virtual ~ByteSource();
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

  // Hands the input's CRC-64 and the page work (mapping ahead, unmapping behind) to a second
  // thread (read_ahead.h) from here on, for a source over a file mapping (a mapped file, a
  // second look at one). False, and nothing changes, for other sources or when no thread can be
  // started.
  virtual bool start_read_ahead() { return false; }
  // Takes that work back on this thread (waits for the other to stop); checksum() does it too.
  void stop_read_ahead();

  // A source not stable that can still be read again from the start (a compressed file, mapped:
  // decompressed again), for a second pass that needs no random access; nullptr otherwise.
  virtual bool reopenable() const { return false; }
  virtual std::unique_ptr<ByteSource> reopen() const { return nullptr; }

  // Empty while the input is as it was when opened; otherwise what changed ("it shrank from
  // 100 to 50 bytes"): a file rewritten while it was read (regular files only).
  virtual std::string changed_since_open() { return {}; }

  // Lets the hooks catch up in large steps (called by the scanner between records).
  void checkpoint() {
    if (static_cast<size_t>(pos_ - crc_pos_) >= kHookChunk) flush_hooks();
  }

 protected:
  static constexpr size_t kHookChunk = 256 * 1024;
  static constexpr uint64_t kDropLag = 32 << 20;  // read-ahead: how far behind its unmapping may lag

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
  // start_read_ahead for a source whose whole input (stable_data(), size_hint()) is a file
  // mapping; start_read_ahead_at: from `at`, the CRC standing there (no hook flushed).
  bool start_read_ahead_over_mapping();
  bool start_read_ahead_at(uint64_t at);
  // Unmaps, every 4 MiB, the whole MiBs of the mapping that the reader has passed (they stay in
  // the page cache); with a read-ahead, tells it where the reader is and leaves that to it.
  void drop_mapped_pages_behind();
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
  std::unique_ptr<ReadAhead> ahead_;  // while set, the CRC and the page work are its thread's
  uint64_t dropped_to_ = 0;           // the mapping is unmapped before this offset
};

// Bytes already in memory (tests, benchmarks, a second look at a mapped file).
class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string name, const void* data, size_t size);
  // A second look at a mapped input file (`of` is a MappedFileSource): its pages, read-only and
  // page-aligned, are dropped from the process behind the reader as the file's own source does.
  static std::unique_ptr<MemorySource> rereading(const ByteSource& of);
  ~MemorySource() override;
  bool start_read_ahead() override;

 protected:
  bool refill(size_t need) override;
  void after_flush() override;

 private:
  bool drop_behind_ = false;  // over a file mapping
};

// A source read a chunk at a time into a buffer of its own (not stable). refill() keeps the
// cursors and hooks right; a subclass only implements read_some().
class StreamingSource : public ByteSource {
 protected:
  StreamingSource(std::string name, size_t buffer_size);
  // Reads up to `room` bytes into `dst`; returns how many, 0 at the end of the input.
  virtual size_t read_some(uint8_t* dst, size_t room) = 0;

 private:
  bool refill(size_t need) final;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t capacity_;
  bool at_eof_ = false;
};

// A file descriptor read with read(2): a pipe, standard input, a FIFO, a file that cannot be
// mapped. Never writes to it.
class FdSource final : public StreamingSource {
 public:
  // Takes ownership of `fd` when `owns`.
  FdSource(std::string name, int fd, bool owns, uint64_t size_hint);
  ~FdSource() override;
  std::string changed_since_open() override;

 protected:
  size_t read_some(uint8_t* dst, size_t room) override;

 private:
  static constexpr size_t kReadBuffer = 4 << 20;
  int fd_;
  bool owns_;
  int64_t size_at_open_;
  int64_t mtime_at_open_;
  bool regular_;
};

// A regular file mapped whole, read-only. If the file shrinks while it is read (a backup job
// rewriting it), the lost range reads as zeros (signals.h) and the next refill or hook flush
// throws Error(kInputChanged). Pages already passed are dropped from the process as it goes.
class MappedFileSource final : public ByteSource {
 public:
  // Maps `fd` (a regular file of `size` > 0 bytes) and owns it; throws Error(kCannotOpen) when it
  // cannot, leaving `fd` open (the caller's).
  MappedFileSource(std::string name, int fd, uint64_t size);
  ~MappedFileSource() override;
  std::string changed_since_open() override;
  bool start_read_ahead() override;

 protected:
  bool refill(size_t need) override;
  void after_flush() override;

 private:
  void throw_if_mapping_lost();
  int fd_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  int map_handle_ = -1;
  int64_t mtime_at_open_ = 0;
};

// Opens a path as a source: "-" is standard input; a regular file is mapped (read with read(2)
// when it cannot be); anything else is read with read(2). The first bytes are sniffed: gzip,
// LZ4-frame and zstd data is decompressed as it is read (whatever the file's name); a
// replication stream is refused with what to do (Error kNotRdb); a
// directory or a missing file is Error kCannotOpen.
std::unique_ptr<ByteSource> open_input(const std::string& path);

// A stable copy of a source that is not (a pipe, a decompressed input), for what reads an input
// twice: every remaining byte of `src` is copied to an unlinked temporary file in $TMPDIR
// (default /tmp), which is then mapped. Costs the input's (decompressed) size in disk space
// while the command runs; nothing is left behind. Errors: kCannotOpen, kNoSpace, kWriteFailed.
std::unique_ptr<ByteSource> spool_to_temp_file(ByteSource& src);

// Every input of a command, opened in order: the sources, and their owners.
struct OpenedInputs {
  std::vector<std::unique_ptr<ByteSource>> owned;
  std::vector<ByteSource*> sources;
};
OpenedInputs open_inputs(const std::vector<std::string>& paths);

}  // namespace rdbrekey
