#include "rdbrekey/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/crc64.h"
#include "rdbrekey/error.h"
#include "rdbrekey/signals.h"

namespace rdbrekey {

void ByteSource::flush_hooks() {
  if (crc_on_ && pos_ > crc_pos_) crc_ = crc64(crc_, crc_pos_, static_cast<size_t>(pos_ - crc_pos_));
  crc_pos_ = pos_;
  flush_tee();
  after_flush();
}

void ByteSource::splice_tee(size_t n) {
  // The CRC must stand exactly at the start of the range to take the range's own CRC.
  if (crc_on_ && tee_pos_ > crc_pos_) crc_ = crc64(crc_, crc_pos_, static_cast<size_t>(tee_pos_ - crc_pos_));
  uint64_t range_crc = crc64(0, tee_pos_, n);
  if (crc_on_) {
    crc_ = crc64_combine(crc_, range_crc, n);
    crc_pos_ = tee_pos_ + n;
  }
  uint64_t file_offset = base_offset_ + static_cast<uint64_t>(tee_pos_ - buf_begin_);
  tee_->splice_from(splice_fd_, file_offset, tee_pos_, n, range_crc);
  after_flush();  // the hooks stand at pos_ now: let a mapped file drop what is behind
}

void ByteSource::enable_checksum(bool on) {
  flush_hooks();
  crc_on_ = on;
}

uint64_t ByteSource::checksum() {
  flush_hooks();
  return crc_;
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

FileSource::FileSource(const std::string& path) : ByteSource(path == "-" ? "<stdin>" : path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(Errc::kCannotOpen, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    owns_fd_ = true;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0)
    throw Error(Errc::kCannotOpen, fmt::format("{}: cannot stat: {}", name_, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw Error(Errc::kCannotOpen, fmt::format("{}: is a directory", name_));
  regular_ = S_ISREG(st.st_mode);
  at_open_ = {static_cast<int64_t>(st.st_size), int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    size_hint_ = static_cast<uint64_t>(st.st_size);
    map_size_ = static_cast<size_t>(st.st_size);
    map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (map_ == MAP_FAILED) {
      map_ = nullptr;  // fall back to read(2)
    } else {
      ::madvise(map_, map_size_, MADV_SEQUENTIAL);
      map_handle_ = signals::register_mapping(map_, map_size_);
      const auto* p = static_cast<const uint8_t*>(map_);
      set_buffer(p, p + map_size_, 0);
      stable_ = true;
      splice_fd_ = fd_;
      eof_ = true;
      return;
    }
  }
  buffer_ = std::make_unique<uint8_t[]>(kReadBuffer);
  set_buffer(buffer_.get(), buffer_.get(), 0);
}

FileSource::~FileSource() {
  signals::unregister_mapping(map_handle_);
  if (map_) ::munmap(map_, map_size_);
  if (owns_fd_) ::close(fd_);
}

std::string FileSource::changed_since_open() {
  if (!regular_) return {};
  if (signals::mapping_faulted(map_handle_))
    return fmt::format("byte {} was gone: the file shrank from {} bytes", signals::mapping_fault_offset(map_handle_),
                       at_open_.size);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return fmt::format("cannot stat it again: {}", std::strerror(errno));
  if (st.st_size != at_open_.size)
    return fmt::format("its size went from {} to {} bytes", at_open_.size, static_cast<int64_t>(st.st_size));
  if (int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec != at_open_.mtime_ns)
    return "it was modified (its modification time changed)";
  return {};
}

void FileSource::throw_if_mapping_lost() {
  if (signals::mapping_faulted(map_handle_))
    throw Error(Errc::kInputChanged, fmt::format("{}: input changed while reading ({}); nothing was written", name_,
                                                changed_since_open()));
}

void FileSource::after_flush() {
  if (!map_) return;
  throw_if_mapping_lost();
  // Mapped pages already passed are page cache; unmap them from this process every 64 MiB so
  // its resident memory stays small on inputs larger than RAM.
  uint64_t done = offset() & ~uint64_t{(1 << 20) - 1};
  if (done >= mapped_advised_ + (64u << 20)) {
    ::madvise(static_cast<uint8_t*>(map_) + mapped_advised_, done - mapped_advised_, MADV_DONTNEED);
    mapped_advised_ = done;
  }
}

bool FileSource::refill(size_t need) {
  if (map_) throw_if_mapping_lost();
  if (eof_) return available() >= need;
  flush_hooks();
  size_t keep = available();
  uint8_t* buf = buffer_.get();
  std::memmove(buf, pos_, keep);
  base_offset_ += static_cast<uint64_t>(pos_ - buf_begin_);
  buf_begin_ = pos_ = crc_pos_ = tee_pos_ = buf;
  end_ = buf + keep;
  while (available() < need || available() < kReadBuffer / 2) {
    ssize_t r = ::read(fd_, buf + keep, kReadBuffer - keep);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(Errc::kReadFailed, fmt::format("{}: read error at byte offset {}: {}", name_,
                                             base_offset_ + keep, std::strerror(errno)));
    }
    if (r == 0) {
      eof_ = true;
      break;
    }
    keep += static_cast<size_t>(r);
    end_ = buf + keep;
  }
  return available() >= need;
}

}  // namespace rdbrekey
