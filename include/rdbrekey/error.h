// Errors: a typed code (what kind of failure), and a message saying where (file, byte offset,
// record) and what was expected.
//
// The library throws rdbrekey::Error; callers tell failures apart by code(), never by the text.
// The CLI maps each code to a process exit code (exit_code_of, documented in `rdbrekey --help`).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rdbrekey {

enum class Errc : uint8_t {
  // The command line asks for something wrong.
  kBadOption,           // an option's value: a number, a name, a hashtag family, a version
  kOutputIsInput,       // an output (or the report) is one of the inputs, under any name
  kNotRegularFile,      // an output is a device, FIFO, socket or directory
  kSameFileTwice,       // one input given twice, or two outputs naming one file
  kTooMany,             // more inputs or output files than the tool takes at once
  kBadTopology,         // a cluster topology that cannot be read, or slots uncovered or owned twice
  // An input cannot be read or an output written.
  kCannotOpen,          // an input is missing, unreadable or a directory
  kReadFailed,
  kWriteFailed,
  kNoSpace,             // disk full, quota exceeded, file-size limit
  kOutputExists,        // and replacing it was not asked for
  // An input is damaged.
  kNotRdb,              // not an RDB file at all (or compressed, or a replication stream)
  kTruncated,
  kBadFraming,          // an impossible length, encoding, opcode order or value layout
  kChecksumMismatch,
  kInputChanged,        // rewritten while it was read
  kDuplicateKey,        // a database holds one name twice (verify)
  kKeyCountMismatch,    // verify --expect-keys
  // An input uses what this tool does not handle.
  kUnknownVersion,
  kUnknownType,         // value type or opcode
  kBeyondLimits,        // past the collision check's limits (1 TiB input, 65,536 databases)
  // The input is sound, but converting it as asked would lose or break data.
  kUnmappedDatabase,
  kCollision,           // keys that renaming makes equal
  kCannotHold,          // a record the output version cannot hold
  kAmbiguousMap,        // the database -> application map sources disagree (--monorepo, --map, --app)
  // A live target (restore).
  kTargetUnavailable,   // cannot connect, or the connection broke for good
  kTargetRefused,       // the server refused a command: credentials, permissions, memory, a payload
  kTargetKeyExists,     // a key is already in the target (--existing error)
  kTargetMismatch,      // the target's key count does not add up to what it acknowledged
  kInterrupted,         // a signal asked a restore to stop (it did, cleanly: signals::stop_requested)
  // A bug.
  kInternal,
};

// A short name of a code ("truncated"), for logs and tests.
const char* errc_name(Errc code);

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

// Where in an input a problem is, for error messages: "dump.rdb: byte 1234 (key "x" in db 2)".
struct Location {
  std::string file;
  uint64_t offset = 0;
  std::string record;  // human description of the record being read, may be empty
};

[[noreturn]] void throw_at(Errc code, const Location& where, const std::string& what);

// A failed write (errno `err`) while doing `what` ("out.rdb: write failed"): kNoSpace for a
// full disk, a quota or the file-size limit (with that said), else kWriteFailed.
[[noreturn]] void throw_write_error(const std::string& what, int err);

// Quote arbitrary key bytes for a message: printable ASCII as is, others as \xNN, cut at `max`.
std::string quote_bytes(const void* data, size_t size, size_t max = 120);

}  // namespace rdbrekey
