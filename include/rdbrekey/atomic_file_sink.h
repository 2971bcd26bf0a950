// An output file: written under a temporary name in the target directory, then fsync'ed and
// renamed into place. Nothing is ever left behind but the finished file: cancel(), the
// destructor (when the file was not committed) and SIGINT/SIGTERM/SIGHUP (signals.h) remove the
// temporary file. Only a regular file is ever replaced, and only when asked to.
//
//   write ... prepare()        flush, fsync, close: complete under its temporary name
//             commit()         rename into place (no replace unless `overwrite`), fsync the dir
//   finalize() = prepare() + commit(); commit_together (commit.h): all of a group or none
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rdbrekey/byte_sink.h"

namespace rdbrekey {

class AtomicFileSink final : public ByteSink {
 public:
  // overwrite: replace an existing regular file at `path`; otherwise commit() refuses to. A
  // `path` that exists and is not a regular file is refused (Error kUsage).
  // buffer_size: bytes held before they go to the file (twice that with the background
  // writer); background: write on a second thread while the conversion goes on: `writer`'s
  // when given (one thread for the files of a split), else one of its own.
  AtomicFileSink(std::string path, bool overwrite, size_t buffer_size = 1 << 20, bool background = true,
                 std::shared_ptr<BackgroundWriter> writer = nullptr);
  ~AtomicFileSink() override;

  void prepare() override;
  void deliver() override;
  void commit() override;
  void cancel() noexcept override;
  // After commit(): removes the committed file again (another output of its group failed).
  void uncommit() noexcept override;
  const std::string& temp_path() const { return temp_path_; }
  const std::string& path() const { return path_; }
  // The disk is started writing the bytes written so far every `bytes` (32 MiB by default), so
  // that the final fsync waits for little and the disk works while the conversion still runs.
  // The files of a split take a smaller step each, so that all of them together leave no more
  // for their fsyncs than one file does.
  void set_writeback_step(uint64_t bytes) { writeback_step_ = bytes; }

  // Installs the signal handlers that remove temporary files (signals::install_cleanup).
  static void install_signal_cleanup();

 protected:
  void write_out(const uint8_t* data, size_t size) override;
  bool can_splice() const override { return true; }
  bool can_patch() const override { return true; }
  void patch_out(uint64_t offset, const uint8_t* data, size_t size) override;
  bool copy_range_out(int fd, uint64_t offset, size_t size) override;

 private:
  void start_writeback(size_t just_written);
  // Starts the disk writing every byte written and not yet started.
  void start_writeback_of_the_rest();
  uint64_t writeback_step_ = 32ull << 20;
  uint64_t written_ = 0;
  uint64_t writeback_started_ = 0;

  std::string path_;
  std::string temp_path_;
  bool overwrite_;
  int fd_ = -1;
  size_t temp_handle_ = ~size_t{0};
  enum class State { kWriting, kPrepared, kCommitted, kGone } state_ = State::kWriting;
};


}  // namespace rdbrekey
