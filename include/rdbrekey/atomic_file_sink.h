// The output file: written under a temporary name in the target directory, fsync'ed and renamed
// into place by finalize(); removed by cancel(), by the destructor when finalize() was not
// reached, and by SIGINT/SIGTERM (the handler unlinks it and re-raises the signal).
#pragma once

#include <functional>
#include <string>

#include "rdbrekey/byte_sink.h"

namespace rdbrekey {

class AtomicFileSink final : public ByteSink {
 public:
  // overwrite: replace an existing `path`; otherwise finalize() refuses to clobber it.
  AtomicFileSink(std::string path, bool overwrite);
  ~AtomicFileSink() override;

  void finalize() override;
  void cancel() noexcept override;
  const std::string& temp_path() const { return temp_path_; }
  // Runs after the temporary file is complete and fsync'ed, before it is renamed into place; a
  // throw cancels the output.
  void set_before_commit(std::function<void(const std::string& temp_path)> check) { before_commit_ = std::move(check); }
  const std::string& path() const { return path_; }

  // Installs the SIGINT/SIGTERM handlers that remove the temporary file of a live sink.
  static void install_signal_cleanup();

 protected:
  void write_out(const uint8_t* data, size_t size) override;
  void truncate_out() override;
  bool can_splice() const override { return true; }
  bool can_patch() const override { return true; }
  void patch_out(uint64_t offset, const uint8_t* data, size_t size) override;
  bool copy_range_out(int fd, uint64_t offset, size_t size) override;

 private:
  // Starts the disk writing the bytes written so far every kWritebackStep, so that the final
  // fsync waits for little and the disk works while the conversion still runs.
  void start_writeback(size_t just_written);
  static constexpr uint64_t kWritebackStep = 32ull << 20;
  uint64_t written_ = 0;
  uint64_t writeback_started_ = 0;

  std::string path_;
  std::string temp_path_;
  bool overwrite_;
  int fd_ = -1;
  bool done_ = false;
  std::function<void(const std::string&)> before_commit_;
};

}  // namespace rdbrekey
