// Process signals, handled so that no output is ever left half-written:
//  - SIGINT, SIGTERM, SIGHUP: every registered temporary file is removed, then the signal takes
//    its default action (exit status 128 + signal);
//  - SIGPIPE is ignored: a closed reader of the summary must not turn success into failure
//    (writes to it fail with EPIPE instead, which the CLI ignores);
//  - SIGXFSZ is ignored: past a file-size limit write(2) fails with EFBIG, reported as such;
//  - SIGBUS inside a registered input mapping (the file shrank while it was read: a backup job
//    rewriting it in place) maps zero pages over the lost range and marks the mapping, so that
//    the reader stops with "input changed while reading" instead of the process dying. A
//    SIGBUS anywhere else removes the temporary files and takes its default action.
#pragma once

#include <cstddef>
#include <string>

namespace rdbrekey::signals {

// Installs the SIGINT/SIGTERM/SIGHUP cleanup and ignores SIGPIPE and SIGXFSZ (the CLI calls it
// once at start). The SIGBUS handler is installed by the first register_mapping.
void install_cleanup();

// For work that can stop cleanly at a point of its choosing (a restore: it stops sending,
// collects the replies in flight and saves an exact checkpoint): from this call on, the first
// SIGINT/SIGTERM/SIGHUP is only recorded, for stop_requested(); a second one acts as before.
void defer_stop_signals() noexcept;
// The signal recorded since defer_stop_signals() (0: none).
int stop_requested() noexcept;

// A temporary file to remove if the process is stopped by a signal; returns a handle for
// unregister_temp. Any number may be registered.
size_t register_temp(const std::string& path);
void unregister_temp(size_t handle) noexcept;

// A read-only mapping of an input file; returns a handle (or -1 when the table is full: the
// mapping then works as before, without recovery).
int register_mapping(const void* begin, size_t size);
// Whether a SIGBUS was caught in the mapping (its tail now reads as zeros).
bool mapping_faulted(int handle) noexcept;
// The offset in the mapping of the first byte found missing (valid when faulted).
size_t mapping_fault_offset(int handle) noexcept;
void unregister_mapping(int handle) noexcept;

// While it lives, SIGINT/SIGTERM/SIGHUP wait (they are delivered when it ends): for the moment
// between creating a temporary file and registering it, and for starting a helper thread, which
// inherits the blocked mask and keeps it (the handlers then always run on the main thread).
class AsyncSignalsBlocked {
 public:
  AsyncSignalsBlocked() noexcept;
  ~AsyncSignalsBlocked();
  AsyncSignalsBlocked(const AsyncSignalsBlocked&) = delete;
  AsyncSignalsBlocked& operator=(const AsyncSignalsBlocked&) = delete;

 private:
  unsigned long saved_[16];  // the caller's signal mask (a sigset_t)
};

// Blocks the asynchronous signals in the calling thread for good (helper threads).
void block_async_signals_in_this_thread() noexcept;

}  // namespace rdbrekey::signals
