// Runs a program and collects its exit status and output (tests of the CLI and of servers).
#pragma once

#include <string>
#include <vector>

namespace rdbrekey::test {

struct RunResult {
  int exit_code = -1;   // the exit status, or 128 + signal when killed by a signal
  std::string out;      // standard output
  std::string err;      // standard error
};

// Runs argv[0] (looked up in PATH) with the arguments, standard input read from `stdin_path`
// (default: /dev/null); waits at most timeout_s seconds, then kills it (exit_code 128 + 9).
RunResult run(const std::vector<std::string>& argv, int timeout_s = 120, const std::string& stdin_path = "/dev/null");

// The rdbrekey binary under test: the build's, or $RDBREKEY_TEST_BINARY when set.
std::string rdbrekey_binary();

// A fresh empty directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Names of the entries in the directory (no . or ..), sorted.
  std::vector<std::string> entries() const;

 private:
  std::string path_;
};

// Starts argv[0] (a path) in the background with the arguments: standard input /dev/null,
// standard output and error appended to `log_path`, killed if the test process dies. Returns
// its PID, or -1 with `error` set.
int spawn_logged(std::vector<std::string> argv, const std::string& log_path, std::string& error);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& data);

}  // namespace rdbrekey::test
