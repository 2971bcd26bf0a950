// `rdbrekey convert` on files: the paths checked, the inputs opened, the outputs (one RDB file,
// or one per cluster primary with a manifest) and the report written under temporary names, the
// outputs read back when asked, then all committed together.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/commit.h"
#include "rdbrekey/compression.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/manifest.h"
#include "rdbrekey/output_paths.h"
#include "rdbrekey/rdb_output.h"
#include "rdbrekey/report.h"
#include "rdbrekey/shard_output.h"
#include "rdbrekey/verifier.h"

namespace rdbrekey {
namespace {

// The written file must read back whole, with a good CRC, no duplicate key and every key that
// was written; anything else is a bug.
void verify_written(const std::string& temp_path, uint64_t keys_written) {
  std::unique_ptr<ByteSource> written = open_input(temp_path);
  VerifyResult v;
  try {
    v = verify(*written, VerifyOptions{true});
  } catch (const Error& e) {
    throw Error(Errc::kInternal, fmt::format("the written output does not verify: {}", e.what()));
  }
  if (v.keys != keys_written)
    throw Error(Errc::kInternal,
                fmt::format("{}: re-reading the output found {} keys, {} were written", temp_path, v.keys, keys_written));
}

// A file written with the output, under a temporary name (the report, the manifest).
struct SideFile {
  std::unique_ptr<AtomicFileSink> sink;
  void write(const std::string& text) { sink->write(text.data(), text.size()); }
};

// The directory of a cluster conversion's files: created when missing (its parent must exist),
// and removed again when nothing was committed into it.
class OutputDirectory {
 public:
  explicit OutputDirectory(std::string path) : path_(std::move(path)) {}
  ~OutputDirectory() {
    if (created_ && !kept_) ::rmdir(path_.c_str());
  }
  void create() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        throw Error(Errc::kNotRegularFile, fmt::format("--output-dir {}: exists and is not a directory", path_));
      return;
    }
    if (::mkdir(path_.c_str(), 0777) != 0)
      throw Error(Errc::kCannotOpen, fmt::format("--output-dir {}: cannot create it: {}", path_, std::strerror(errno)));
    created_ = true;
  }
  void keep() { kept_ = true; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
  bool created_ = false, kept_ = false;
};

// One output RDB: an atomic file (standard output for "-"; nothing in a dry run), compressed
// when --compress or the name asks for it.
struct OutputFile {
  std::unique_ptr<ByteSink> sink;         // what the RDB is written to
  AtomicFileSink* file = nullptr;         // the file under it (null: standard output, a dry run)
  CompressingSink* compressor = nullptr;  // null: not compressed

  // `writer`, `compressor_thread`: the threads a split's files share (null: their own).
  OutputFile(const ConvertOptions& options, const std::string& path, size_t buffer = 1 << 20,
             std::shared_ptr<BackgroundWriter> writer = nullptr,
             std::shared_ptr<BackgroundWriter> compressor_thread = nullptr) {
    if (options.dry_run) {
      sink = std::make_unique<NullSink>();
      return;
    }
    // With one thread (--threads 1) the conversion's thread also checksums, writes and compresses.
    const unsigned threads = resolve_threads(options.threads);
    const bool background = threads > 1;
    if (path == "-") {
      sink = std::make_unique<FdSink>("<stdout>", STDOUT_FILENO, background);
    } else {
      auto f = std::make_unique<AtomicFileSink>(path, options.overwrite, buffer, background, std::move(writer));
      file = f.get();
      sink = std::move(f);
    }
    Compression how = options.compress ? *options.compress : Compression{codec_of_path(path), 0};
    if (how.codec != Codec::kNone) {
      // One file: zstd with a worker per thread; the files of a split share one compressing
      // thread, so that threads and compressor memory do not grow with the number of primaries.
      unsigned workers = compressor_thread == nullptr ? threads : 0;
      auto c = std::make_unique<CompressingSink>(std::move(sink), how, std::move(compressor_thread), workers,
                                                 background);
      compressor = c.get();
      sink = std::move(c);
    }
  }
  // Fills in what was written on disk.
  void describe(ConvertResult& result) const {
    if (!compressor) return;
    result.output_codec = compressor->codec();
    result.output_compressed_bytes += compressor->compressed_bytes();
  }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One RDB file (or, in a dry run, none).
ConvertResult convert_to_file(const ConvertOptions& options) {
  // Every output (the RDB file, the report) is checked against every input and each other
  // before anything is read, and created as a temporary file next to its final name.
  std::vector<OutputPath> outputs;
  if (!options.dry_run) outputs.push_back({"--output", options.output});
  if (!options.report.empty()) outputs.push_back({"--report", options.report});
  check_output_paths(options.inputs, outputs, options.overwrite);
  // The outputs first: opening an input may wait for its first bytes (a pipe being sniffed), and
  // an output that cannot be created should fail before that.
  if (options.output == "-" && options.verify_output)
    throw Error(Errc::kBadOption, "--verify reads the written file back: with -o - there is none (verify it where "
                                  "it lands: rdbrekey verify FILE)");
  OutputFile file(options, options.output);
  SideFile report;
  if (!options.report.empty()) report.sink = std::make_unique<AtomicFileSink>(options.report, options.overwrite);
  RdbFileOutput out(*file.sink);
  OpenedInputs inputs = open_inputs(options.inputs);

  auto start = std::chrono::steady_clock::now();
  ConvertResult result = convert(options, inputs.sources, out);
  out.prepare();  // complete and durable under its temporary name
  if (file.file && options.verify_output) {
    verify_written(file.file->temp_path(), result.keys_written);
    result.output_verified = true;
  }
  result.output_bytes = out.bytes_written();
  file.describe(result);
  result.seconds = seconds_since(start);
  std::vector<Committable*> group{&out};
  if (report.sink) {
    report.write(report_json(options, result));
    group.push_back(report.sink.get());
  }
  commit_together(group);
  return result;
}

// One RDB file per primary of the cluster topology, and the manifest (in a dry run: none).
ConvertResult convert_to_shards(const ConvertOptions& options) {
  const ClusterTopology& topology = *options.cluster;
  std::vector<std::string> names = shard_file_names(topology);
  if (options.compress && options.compress->codec != Codec::kNone)  // the files say what they are
    for (auto& name : names) (name += ".") += compressed_extension(options.compress->codec);
  OutputDirectory dir(options.output_dir.empty() ? "." : options.output_dir);
  std::vector<OutputPath> outputs;
  if (!options.dry_run) {
    for (const auto& name : names) outputs.push_back({"--output-dir", dir.file(name)});
    outputs.push_back({"--output-dir", dir.file("manifest.json")});
  }
  if (!options.report.empty()) outputs.push_back({"--report", options.report});
  check_output_paths(options.inputs, outputs, options.overwrite);
  if (!options.dry_run) dir.create();

  // One writer thread for all the files, so that converting and writing keep to two threads
  // however many primaries there are. Memory for the buffers stays bounded: up to 16 files get
  // 1 MiB each, more share 16 MiB (at least 64 KiB each); twice that with the spare buffers.
  size_t n = names.size();
  size_t buffer = n <= 16 ? size_t{1} << 20 : std::max<size_t>(64 << 10, (size_t{16} << 20) / n);
  const bool background = resolve_threads(options.threads) > 1;
  auto writer = options.dry_run || !background ? nullptr : std::make_shared<BackgroundWriter>();
  bool compressing = !options.dry_run && options.compress && options.compress->codec != Codec::kNone;
  auto compressor_thread = compressing && background ? std::make_shared<BackgroundWriter>() : nullptr;
  std::vector<OutputFile> files;
  std::vector<ByteSink*> sink_ptrs;
  files.reserve(names.size());
  for (const auto& name : names) {
    files.emplace_back(options, dir.file(name), buffer, writer, compressor_thread);
    if (files.back().file) files.back().file->set_writeback_step(std::max<uint64_t>(uint64_t{32 << 20} / n, 4 << 20));
    sink_ptrs.push_back(files.back().sink.get());
  }
  SideFile manifest, report;
  if (!options.dry_run) manifest.sink = std::make_unique<AtomicFileSink>(dir.file("manifest.json"), options.overwrite);
  if (!options.report.empty()) report.sink = std::make_unique<AtomicFileSink>(options.report, options.overwrite);
  std::vector<std::string> prefixes;
  for (const auto& [db, name] : options.apps) prefixes.push_back(app_prefix_from_name(name));
  for (const auto& [id, name] : options.input_apps) prefixes.push_back(app_prefix_from_name(name));
  std::sort(prefixes.begin(), prefixes.end());
  ShardedOutput out(topology, sink_ptrs, options.hashtags, prefixes);
  OpenedInputs inputs = open_inputs(options.inputs);

  auto start = std::chrono::steady_clock::now();
  ConvertResult result = convert(options, inputs.sources, out);
  out.prepare();
  for (size_t i = 0; i < names.size(); ++i) {
    const RdbFileOutput& f = out.file(i);
    const ClusterPrimary& p = topology.primaries[i];
    result.shards.push_back({options.dry_run ? names[i] : dir.file(names[i]), p.id, p.address(),
                             format_ranges(p.slots), f.keys_written(), f.keys_with_ttl(), f.bytes_written(),
                             f.checksum()});
    if (files[i].file && options.verify_output) verify_written(files[i].file->temp_path(), f.keys_written());
    files[i].describe(result);
  }
  result.output_verified = !options.dry_run && options.verify_output;
  for (const auto& [name, q] : out.queues().queues())
    if (q.slots.size() > 1) result.split_queues.push_back(name);
  result.output_bytes = out.bytes_written();
  result.seconds = seconds_since(start);
  std::vector<Committable*> group{&out};
  if (manifest.sink) {
    manifest.write(manifest_json(options, result, out, names));
    group.push_back(manifest.sink.get());
  }
  if (report.sink) {
    report.write(report_json(options, result));
    group.push_back(report.sink.get());
  }
  commit_together(group);
  dir.keep();
  return result;
}

}  // namespace

ConvertResult convert(const ConvertOptions& options) {
  if (options.inputs.empty()) throw Error(Errc::kBadOption, "no input file");
  return options.cluster ? convert_to_shards(options) : convert_to_file(options);
}

}  // namespace rdbrekey
