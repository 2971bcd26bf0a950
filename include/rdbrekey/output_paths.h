// What an output path may be, checked before anything is read or written.
//
// An output (the RDB file, the JSON report) is refused when it
//  - is one of the inputs, by any name: the same file through another path, a hard link, a
//    symbolic link, /dev/stdin or /proc/self/fd/0, or the file behind standard input ("-");
//  - is the same path as another output (the report must not replace the RDB file);
//  - exists and is not a regular file (a device such as /dev/null, a FIFO, a socket, a
//    directory): only regular files are ever replaced;
//  - exists and replacing was not asked for (--force).
// The same input given twice (two names of one file, "-" twice) is refused as well.
// All of these are usage errors (Error kUsage, exit 2), but an output that exists without
// --force, which stays an I/O refusal (kIo, exit 3) as before.
#pragma once

#include <string>
#include <vector>

namespace rdbrekey {

// An output to check: what it is for messages ("--output", "--report") and its path.
struct OutputPath {
  std::string option;
  std::string path;
};

void check_output_paths(const std::vector<std::string>& inputs, const std::vector<OutputPath>& outputs, bool overwrite);

// Throws Error(kUsage) when `path` exists and is not a regular file (what it is, named).
void check_replaceable(const std::string& path);

}  // namespace rdbrekey
