#include "rdbrekey/output_paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

struct FileId {
  dev_t dev;
  ino_t ino;
  std::string name;  // for a path that does not exist yet: its file name (dev/ino: its directory)
  bool operator==(const FileId&) const = default;
};

std::optional<struct stat> stat_of(const std::string& path) {
  struct stat st {};
  if (path == "-") {
    if (::fstat(STDIN_FILENO, &st) != 0) return std::nullopt;
    return st;
  }
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

// The identity of an output path, existing or not (then: its directory and its name).
std::optional<FileId> output_id(const std::string& path) {
  if (auto st = stat_of(path)) return FileId{st->st_dev, st->st_ino, {}};
  std::filesystem::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) == 0) return FileId{dst.st_dev, dst.st_ino, p.filename().string()};
  // A directory still to be created (--output-dir): the path with every existing part resolved
  // (symbolic links too) and the rest normalized; nothing else can name that file yet.
  std::error_code ec;
  std::filesystem::path full = std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  if (ec) return std::nullopt;  // the sink reports what is wrong
  return FileId{0, 0, full.string()};
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

void check_replaceable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;
  throw Error(Errc::kNotRegularFile,
              fmt::format("{}: is {}; only a regular file is ever replaced (to read and check everything without "
                          "writing, use --dry-run)",
                          path, kind_of(st.st_mode)));
}

void check_output_paths(const std::vector<std::string>& inputs, const std::vector<OutputPath>& outputs,
                        bool overwrite) {
  std::vector<std::pair<FileId, std::string>> in_ids;
  int stdin_count = 0;
  for (const auto& path : inputs) {
    if (path == "-" && ++stdin_count > 1)
      throw Error(Errc::kSameFileTwice, "standard input (-) is given twice as an input; it can be read only once");
    auto st = stat_of(path);
    if (!st) continue;  // the source reports what is wrong with it
    FileId id{st->st_dev, st->st_ino, {}};
    for (const auto& [other, other_path] : in_ids)
      if (other == id)
        throw Error(Errc::kSameFileTwice,
                    fmt::format("{} and {} are the same file: give each input once", other_path, path));
    in_ids.emplace_back(id, path);
  }
  std::vector<std::pair<FileId, const OutputPath*>> out_ids;
  for (const OutputPath& out : outputs) {
    const std::string& path = out.path;
    if (path == "-" && out.option == "--output") {
      // Standard output: never a terminal (binary data), never an input (`-o - >> dump.rdb`); it is
      // not replaced, only written.
      if (::isatty(STDOUT_FILENO))
        throw Error(Errc::kBadOption, "-o -: standard output is a terminal; redirect it to a file or a command");
      struct stat st {};
      if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
        for (const auto& [in, in_path] : in_ids)
          if (in == FileId{st.st_dev, st.st_ino, {}})
            throw Error(Errc::kOutputIsInput,
                        fmt::format("-o -: standard output is the input {}; an input is never modified", in_path));
      continue;
    }
    if (path.empty() || path == "-")
      throw Error(Errc::kBadOption,
                  fmt::format("{} \"{}\": writing to standard output is not supported", out.option, path));
    check_replaceable(path);
    auto id = output_id(path);
    if (!id) continue;
    for (const auto& [in, in_path] : in_ids)
      if (in == *id)
        throw Error(Errc::kOutputIsInput,
                    fmt::format("{} {}: this is the input {}; an input is never modified", out.option, path,
                                in_path == "-" ? std::string("on standard input") : in_path));
    for (const auto& [other, other_out] : out_ids)
      if (other == *id)
        throw Error(Errc::kSameFileTwice, fmt::format("{} {} and {} {} are the same file: give each its own",
                                                  other_out->option, other_out->path, out.option, path));
    if (id->name.empty() && !overwrite)
      throw Error(Errc::kOutputExists, fmt::format("{}: already exists (use --force to replace it)", path));
    out_ids.emplace_back(*id, &out);
  }
}

}  // namespace rdbrekey
