#include "rdbrekey/atomic_file_sink.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "rdbrekey/error.h"
#include "rdbrekey/output_paths.h"
#include "rdbrekey/signals.h"

namespace rdbrekey {
namespace {

std::string dir_of(const std::string& path) {
  std::filesystem::path p(path);
  auto parent = p.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

[[noreturn]] void io_error(const std::string& what, const std::string& path, int err) {
  throw_write_error(path + ": " + what, err);
}

}  // namespace

void AtomicFileSink::install_signal_cleanup() { signals::install_cleanup(); }

AtomicFileSink::AtomicFileSink(std::string path, bool overwrite, size_t buffer_size, bool background,
                               std::shared_ptr<BackgroundWriter> writer)
    : ByteSink(buffer_size), path_(std::move(path)), overwrite_(overwrite) {
  check_replaceable(path_);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && !overwrite_)
    throw Error(Errc::kOutputExists, fmt::format("{}: already exists (use --force to replace it)", path_));
  std::string name = std::filesystem::path(path_).filename().string();
  temp_path_ = fmt::format("{}/.{}.rdbrekey-tmp-XXXXXX", dir_of(path_), name);
  if (temp_path_.size() >= PATH_MAX) throw Error(Errc::kBadOption, fmt::format("{}: path too long", path_));
  {
    // A signal between creating the file and registering it would leave it behind.
    signals::AsyncSignalsBlocked blocked;
    fd_ = ::mkostemp(temp_path_.data(), O_CLOEXEC);
    if (fd_ < 0)
      io_error(fmt::format("cannot create a temporary file in the directory {}", dir_of(path_)), path_, errno);
    try {
      temp_handle_ = signals::register_temp(temp_path_);
    } catch (...) {
      ::close(fd_);
      ::unlink(temp_path_.c_str());
      throw;
    }
  }
  if (background) start_background(std::move(writer));
}

AtomicFileSink::~AtomicFileSink() {
  cancel();
  stop_background();
}

void AtomicFileSink::start_writeback(size_t just_written) {
  written_ += just_written;
  if (written_ - writeback_started_ >= writeback_step_) start_writeback_of_the_rest();
}

void AtomicFileSink::start_writeback_of_the_rest() {
  // A hint: failures here show up again at fsync, which is checked.
  if (written_ > writeback_started_)
    ::sync_file_range(fd_, static_cast<off_t>(writeback_started_), static_cast<off_t>(written_ - writeback_started_),
                      SYNC_FILE_RANGE_WRITE);
  writeback_started_ = written_;
}

void AtomicFileSink::write_out(const uint8_t* data, size_t size) {
  start_writeback(size);
  while (size) {
    ssize_t w = ::write(fd_, data, size);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error("write failed", temp_path_, errno);
    }
    data += w;
    size -= static_cast<size_t>(w);
  }
}

bool AtomicFileSink::copy_range_out(int fd, uint64_t offset, size_t size) {
  auto in_off = static_cast<loff_t>(offset);
  size_t total = size;
  while (size) {
    ssize_t n = ::copy_file_range(fd, &in_off, fd_, nullptr, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Not supported here (other file systems, old kernels): the caller writes the bytes,
      // resuming where this stopped.
      if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) {
        if (static_cast<uint64_t>(in_off) == offset) return false;
        io_error("copy_file_range stopped part-way", temp_path_, errno);
      }
      io_error("write failed", temp_path_, errno);
    }
    if (n == 0) io_error("copy_file_range made no progress", temp_path_, EIO);
    size -= static_cast<size_t>(n);
  }
  start_writeback(total);
  return true;
}

void AtomicFileSink::patch_out(uint64_t offset, const uint8_t* data, size_t size) {
  while (size) {
    ssize_t w = ::pwrite(fd_, data, size, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error("write failed", temp_path_, errno);
    }
    data += w;
    offset += static_cast<uint64_t>(w);
    size -= static_cast<size_t>(w);
  }
}

void AtomicFileSink::deliver() {
  if (state_ != State::kWriting) return;
  try {
    ByteSink::deliver();
    start_writeback_of_the_rest();
  } catch (...) {
    cancel();
    throw;
  }
}

void AtomicFileSink::prepare() {
  if (state_ != State::kWriting) return;
  try {
    ByteSink::prepare();
    stop_background();
    if (::fsync(fd_) != 0) io_error("fsync failed", temp_path_, errno);
    if (::fchmod(fd_, 0644) != 0) io_error("chmod failed", temp_path_, errno);
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) io_error("close failed", temp_path_, errno);
  } catch (...) {
    cancel();
    throw;
  }
  state_ = State::kPrepared;
}

void AtomicFileSink::commit() {
  prepare();
  if (state_ != State::kPrepared) throw Error(Errc::kInternal, fmt::format("{}: committed twice", path_));
  try {
    // The path may have become something else while converting: still only a regular file is
    // replaced.
    check_replaceable(path_);
  } catch (...) {
    cancel();
    throw;
  }
  int rc = overwrite_ ? ::rename(temp_path_.c_str(), path_.c_str())
                      : ::renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
  if (rc != 0) {
    int err = errno;
    cancel();
    if (err == EEXIST)
      throw Error(Errc::kOutputExists, fmt::format("{}: appeared while converting; not replaced (use --force)", path_));
    io_error("cannot rename the finished output into place", path_, err);
  }
  signals::unregister_temp(temp_handle_);
  temp_handle_ = ~size_t{0};
  state_ = State::kCommitted;
  int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void AtomicFileSink::uncommit() noexcept {
  if (state_ != State::kCommitted) return;
  ::unlink(path_.c_str());
  state_ = State::kGone;
}

void AtomicFileSink::cancel() noexcept {
  if (state_ == State::kCommitted || state_ == State::kGone) return;
  stop_background();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_path_.c_str());
  signals::unregister_temp(temp_handle_);
  temp_handle_ = ~size_t{0};
  state_ = State::kGone;
}

}  // namespace rdbrekey
