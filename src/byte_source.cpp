#include "rdbrekey/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/compression.h"
#include "rdbrekey/crc64.h"
#include "rdbrekey/error.h"
#include "rdbrekey/read_ahead.h"
#include "rdbrekey/signals.h"

namespace rdbrekey {

ByteSource::~ByteSource() = default;  // subclasses stop the read-ahead before unmapping

void ByteSource::flush_hooks() {
  if (crc_on_ && !ahead_ && pos_ > crc_pos_) crc_ = crc64(crc_, crc_pos_, static_cast<size_t>(pos_ - crc_pos_));
  crc_pos_ = pos_;
  flush_tee();
  after_flush();
}

void ByteSource::splice_tee(size_t n) {
  uint64_t file_offset = base_offset_ + static_cast<uint64_t>(tee_pos_ - buf_begin_);
  // The range is hashed here, once for both checksums: a read-ahead hands over the input's CRC
  // up to the range and starts again after it, instead of hashing the range a second time.
  const bool read_ahead = ahead_ != nullptr;
  if (read_ahead) {
    if (crc_on_) crc_ = ahead_->crc_to(file_offset);
    crc_pos_ = tee_pos_;
    dropped_to_ = ahead_->dropped_to();
    ahead_.reset();
  }
  // The CRC must stand exactly at the start of the range to take the range's own CRC.
  if (crc_on_ && tee_pos_ > crc_pos_) crc_ = crc64(crc_, crc_pos_, static_cast<size_t>(tee_pos_ - crc_pos_));
  uint64_t range_crc = crc64(0, tee_pos_, n);
  if (crc_on_) {
    crc_ = crc64_combine(crc_, range_crc, n);
    crc_pos_ = tee_pos_ + n;
  }
  tee_->splice_from(splice_fd_, file_offset, tee_pos_, n, range_crc);
  if (read_ahead) start_read_ahead_at(file_offset + n);
  after_flush();  // the hooks stand at pos_ now: let a mapped file drop what is behind
}

void ByteSource::enable_checksum(bool on) {
  stop_read_ahead();
  flush_hooks();
  crc_on_ = on;
}

uint64_t ByteSource::checksum() {
  stop_read_ahead();
  flush_hooks();
  return crc_;
}

bool ByteSource::start_read_ahead_over_mapping() {
  if (ahead_ || !stable_ || size_hint_ == 0) return false;
  flush_hooks();  // the CRC stands at pos_
  return start_read_ahead_at(offset());
}

bool ByteSource::start_read_ahead_at(uint64_t at) {
  try {
    ahead_ = std::make_unique<ReadAhead>(stable_data(), size_hint_, at, crc_, dropped_to_, crc_on_);
  } catch (const std::system_error&) {
    return false;  // no thread to be had: this one keeps the work
  }
  return true;
}

void ByteSource::stop_read_ahead() {
  if (!ahead_) return;
  if (crc_on_) crc_ = ahead_->crc_to(offset());
  crc_pos_ = pos_;
  dropped_to_ = ahead_->dropped_to();
  ahead_.reset();
}

bool ByteSource::skip(uint64_t n) {
  while (n > 0) {
    size_t avail = available();
    if (avail == 0) {
      if (!refill(1)) return false;
      continue;
    }
    size_t step = avail < n ? avail : static_cast<size_t>(n);
    if (step > kHookChunk) step = kHookChunk;  // keep hook work cache-sized
    pos_ += step;
    n -= step;
    if (n > 0 || static_cast<size_t>(pos_ - crc_pos_) >= kHookChunk) flush_hooks();
  }
  return true;
}

bool ByteSource::read_into(std::string& out, uint64_t n) {
  while (n > 0) {
    size_t avail = available();
    if (avail == 0) {
      if (!refill(1)) return false;
      continue;
    }
    size_t step = avail < n ? avail : static_cast<size_t>(n);
    out.append(reinterpret_cast<const char*>(pos_), step);
    pos_ += step;
    n -= step;
  }
  return true;
}

MemorySource::MemorySource(std::string name, const void* data, size_t size) : ByteSource(std::move(name)) {
  const auto* p = static_cast<const uint8_t*>(data);
  set_buffer(p, p + size, 0);
  size_hint_ = size;
  stable_ = true;
}

bool MemorySource::refill(size_t) { return false; }

void ByteSource::drop_mapped_pages_behind() {
  if (ahead_) {
    // Its thread unmaps what is behind; should it lag far behind, this one does it.
    ahead_->reader_at(offset());
    if (offset() > ahead_->dropped_to() + kDropLag) ahead_->drop_to(offset() & ~uint64_t{ReadAhead::kChunk - 1});
    return;
  }
  uint64_t done = offset() & ~uint64_t{(1 << 20) - 1};
  if (done >= dropped_to_ + (4u << 20)) {
    ::madvise(const_cast<uint8_t*>(stable_data()) + dropped_to_, done - dropped_to_, MADV_DONTNEED);
    dropped_to_ = done;
  }
}

std::unique_ptr<MemorySource> MemorySource::rereading(const ByteSource& of) {
  auto again = std::make_unique<MemorySource>(of.name(), of.stable_data(), of.size_hint());
  again->drop_behind_ = dynamic_cast<const MappedFileSource*>(&of) != nullptr;
  return again;
}

MemorySource::~MemorySource() { ahead_.reset(); }  // its thread reads the mapping

bool MemorySource::start_read_ahead() {
  return drop_behind_ && start_read_ahead_over_mapping();
}

void MemorySource::after_flush() {
  if (drop_behind_) drop_mapped_pages_behind();
}

StreamingSource::StreamingSource(std::string name, size_t buffer_size)
    : ByteSource(std::move(name)), buffer_(std::make_unique<uint8_t[]>(buffer_size)), capacity_(buffer_size) {
  set_buffer(buffer_.get(), buffer_.get(), 0);
}

bool StreamingSource::refill(size_t need) {
  if (at_eof_) return available() >= need;
  flush_hooks();  // the hooks see every byte before it leaves the buffer
  size_t keep = available();
  uint8_t* buf = buffer_.get();
  std::memmove(buf, pos_, keep);
  set_buffer(buf, buf + keep, offset());
  // Only what was asked is waited for: a slow pipe (a server streaming its dump) is processed
  // as it comes. One read(2) takes whatever is there, up to the free room.
  while (available() < need) {
    size_t got = read_some(buf + keep, capacity_ - keep);
    if (got == 0) {
      at_eof_ = true;
      break;
    }
    keep += got;
    end_ = buf + keep;
  }
  return available() >= need;
}

namespace {

int64_t mtime_ns(const struct stat& st) { return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec; }

// What changed in a regular file since it was opened; empty when nothing did.
std::string file_change(int fd, int64_t size_at_open, int64_t mtime_at_open) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fmt::format("cannot stat it again: {}", std::strerror(errno));
  if (st.st_size != size_at_open)
    return fmt::format("its size went from {} to {} bytes", size_at_open, static_cast<int64_t>(st.st_size));
  if (mtime_ns(st) != mtime_at_open) return "it was modified (its modification time changed)";
  return {};
}

}  // namespace

FdSource::FdSource(std::string name, int fd, bool owns, uint64_t size_hint)
    : StreamingSource(std::move(name), kReadBuffer), fd_(fd), owns_(owns) {
  size_hint_ = size_hint;
  struct stat st {};
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  size_at_open_ = static_cast<int64_t>(st.st_size);
  mtime_at_open_ = mtime_ns(st);
}

FdSource::~FdSource() {
  if (owns_) ::close(fd_);
}

size_t FdSource::read_some(uint8_t* dst, size_t room) {
  for (;;) {
    ssize_t r = ::read(fd_, dst, room);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    throw Error(Errc::kReadFailed, fmt::format("{}: read error at byte offset {}: {}", name_,
                                               offset() + available(), std::strerror(errno)));
  }
}

std::string FdSource::changed_since_open() {
  return regular_ ? file_change(fd_, size_at_open_, mtime_at_open_) : std::string();
}

MappedFileSource::MappedFileSource(std::string name, int fd, uint64_t size) : ByteSource(std::move(name)), fd_(fd) {
  struct stat st {};
  ::fstat(fd_, &st);
  mtime_at_open_ = mtime_ns(st);
  map_size_ = static_cast<size_t>(size);
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (map_ == MAP_FAILED) {  // `fd` stays open, the caller's again
    map_ = nullptr;
    throw Error(Errc::kCannotOpen, fmt::format("{}: cannot map: {}", name_, std::strerror(errno)));
  }
  ::madvise(map_, map_size_, MADV_SEQUENTIAL);
  map_handle_ = signals::register_mapping(map_, map_size_);
  const auto* p = static_cast<const uint8_t*>(map_);
  set_buffer(p, p + map_size_, 0);
  size_hint_ = size;
  stable_ = true;
  splice_fd_ = fd_;
}

MappedFileSource::~MappedFileSource() {
  ahead_.reset();  // its thread reads the mapping
  signals::unregister_mapping(map_handle_);
  if (map_) ::munmap(map_, map_size_);
  ::close(fd_);
}

std::string MappedFileSource::changed_since_open() {
  if (signals::mapping_faulted(map_handle_))
    return fmt::format("byte {} was gone: the file shrank from {} bytes", signals::mapping_fault_offset(map_handle_),
                       map_size_);
  return file_change(fd_, static_cast<int64_t>(map_size_), mtime_at_open_);
}

void MappedFileSource::throw_if_mapping_lost() {
  if (signals::mapping_faulted(map_handle_))
    throw Error(Errc::kInputChanged, fmt::format("{}: input changed while reading ({}); nothing was written", name_,
                                                 changed_since_open()));
}

bool MappedFileSource::refill(size_t need) {
  throw_if_mapping_lost();
  return available() >= need;
}

void MappedFileSource::after_flush() {
  throw_if_mapping_lost();
  // Mapped pages already passed are page cache; unmap them from this process every 4 MiB so
  // its resident memory stays small on inputs larger than RAM.
  drop_mapped_pages_behind();
}

bool MappedFileSource::start_read_ahead() {
  return start_read_ahead_over_mapping();
}

namespace {

// Refuses what is recognisably not an RDB file, saying what to do instead (the first bytes
// are only looked at, not consumed). `compressed`: the source is already a decompressed one.
void refuse_known_non_rdb(ByteSource& src, bool compressed) {
  if (!src.ensure(5)) return;  // the scanner reports short inputs
  const uint8_t* p = src.pos();
  if (Codec c = codec_of_magic(p, src.available()); c != Codec::kNone && compressed)
    throw Error(Errc::kNotRdb, fmt::format("{}: not an RDB file: the decompressed data is {} data again; decompress "
                                           "the outer layer first ({})",
                                           src.name(), codec_name(c), "e.g. zcat FILE > FILE2"));
  if (std::memcmp(p, "$EOF:", 5) == 0)
    throw Error(Errc::kNotRdb, fmt::format("{}: not an RDB file: this is a diskless-replication stream; strip the "
                                           "$EOF:<mark> framing first (redis-cli --rdb FILE does)",
                                           src.name()));
}

}  // namespace

std::unique_ptr<ByteSource> open_input(const std::string& path) {
  std::string name = path == "-" ? "<stdin>" : path;
  int fd = STDIN_FILENO;
  bool owns = false;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(Errc::kCannotOpen, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    owns = true;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int err = errno;
    bool dir = S_ISDIR(st.st_mode);
    if (owns) ::close(fd);
    throw Error(Errc::kCannotOpen, dir ? fmt::format("{}: is a directory", name)
                                       : fmt::format("{}: cannot stat: {}", name, std::strerror(err)));
  }
  std::unique_ptr<ByteSource> src;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    // The source owns what it reads; standard input is not ours to close: a duplicate is.
    int own_fd = owns ? fd : ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    try {
      src = std::make_unique<MappedFileSource>(name, own_fd, size);
    } catch (const Error&) {
      src = std::make_unique<FdSource>(name, own_fd, true, size);  // cannot be mapped: read(2)
    }
  } else {
    src = std::make_unique<FdSource>(name, fd, owns, S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0);
  }
  // Compressed data is recognised by its magic, never by the file's name, and streamed.
  Codec codec = src->ensure(4) ? codec_of_magic(src->pos(), src->available()) : Codec::kNone;
  if (codec != Codec::kNone) src = std::make_unique<DecompressingSource>(std::move(src), codec);
  refuse_known_non_rdb(*src, codec != Codec::kNone);
  return src;
}

OpenedInputs open_inputs(const std::vector<std::string>& paths) {
  OpenedInputs in;
  for (const auto& path : paths) {
    in.owned.push_back(open_input(path));
    in.sources.push_back(in.owned.back().get());
  }
  return in;
}

std::unique_ptr<ByteSource> spool_to_temp_file(ByteSource& src) {
  const char* env = std::getenv("TMPDIR");
  std::string dir = env && *env ? env : "/tmp";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {  // a file system without O_TMPFILE: a named file, unlinked at once
    std::string templ = dir + "/rdbrekey-spool-XXXXXX";
    fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(templ.c_str());
  }
  if (fd < 0)
    throw Error(Errc::kCannotOpen, fmt::format("{}: cannot create a spool file in {} (TMPDIR) to read the input twice: {}",
                                               src.name(), dir, std::strerror(errno)));
  uint64_t size = 0;
  src.enable_checksum(false);  // the copy is what gets read (and its CRC checked)
  try {
    while (src.ensure(1)) {
      const uint8_t* p = src.pos();
      size_t n = src.available();
      for (size_t done = 0; done < n;) {
        ssize_t w = ::write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
          throw_write_error(
              fmt::format("{}: cannot spool the input to {} (TMPDIR) after {} bytes", src.name(), dir, size + done),
              errno);
        done += static_cast<size_t>(w);
      }
      size += n;
      src.advance(n);
      src.checkpoint();
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (size == 0) return std::make_unique<FdSource>(src.name(), fd, true, 0);
  try {
    return std::make_unique<MappedFileSource>(src.name(), fd, size);
  } catch (const Error&) {
    ::close(fd);
    throw;
  }
}

}  // namespace rdbrekey
