// Errors: what went wrong, where (file, byte offset, record) and what was expected.
//
// The read path throws rdbrekey::Error; the CLI turns it into a message on stderr and the exit
// code of its kind (documented in `rdbrekey --help`).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rdbrekey {

// Process exit codes, one per kind of failure.
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,     // a bug: please report it
  kUsage = 2,        // bad command line (options, mapping)
  kIo = 3,           // cannot read an input or write the output (missing file, disk full, ...)
  kCorrupt = 4,      // input is damaged: truncated, bad framing, checksum mismatch
  kUnsupported = 5,  // input uses a version, type or opcode this tool does not know
  kRefused = 6,      // input is sound but converting it as asked would lose or break data
                     // (unmapped database, record the output version cannot hold, duplicate)
  kInterrupted = 130,  // SIGINT/SIGTERM: no output was left behind
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// Where in an input a problem is, for error messages: "dump.rdb: byte 1234 (key "x" in db 2)".
struct Location {
  std::string file;
  uint64_t offset = 0;
  std::string record;  // human description of the record being read, may be empty
};

[[noreturn]] void throw_at(ExitCode code, const Location& where, const std::string& what);

// Quote arbitrary key bytes for a message: printable ASCII as is, others as \xNN, cut at `max`.
std::string quote_bytes(const void* data, size_t size, size_t max = 120);

}  // namespace rdbrekey
