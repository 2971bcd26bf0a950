// `rdbrekey convert` on files: the paths checked, the inputs opened, the output and the report
// written under temporary names, the output read back when asked, then both committed together.
#include <chrono>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "rdbrekey/atomic_file_sink.h"
#include "rdbrekey/commit.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/output_paths.h"
#include "rdbrekey/rdb_output.h"
#include "rdbrekey/report.h"
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

}  // namespace

ConvertResult convert(const ConvertOptions& options) {
  if (options.inputs.empty()) throw Error(Errc::kBadOption, "no input file");
  // Every output (the RDB file, the report) is checked against every input and each other
  // before anything is read, and created as a temporary file next to its final name.
  std::vector<OutputPath> outputs;
  if (!options.dry_run) outputs.push_back({"--output", options.output});
  if (!options.report.empty()) outputs.push_back({"--report", options.report});
  check_output_paths(options.inputs, outputs, options.overwrite);
  // The outputs first: opening an input may wait for its first bytes (a pipe being sniffed), and
  // an output that cannot be created should fail before that.
  std::unique_ptr<AtomicFileSink> file;
  std::unique_ptr<ByteSink> nowhere;
  if (options.dry_run) nowhere = std::make_unique<NullSink>();
  else file = std::make_unique<AtomicFileSink>(options.output, options.overwrite);
  std::unique_ptr<AtomicFileSink> report;
  if (!options.report.empty()) report = std::make_unique<AtomicFileSink>(options.report, options.overwrite);
  RdbFileOutput out(file ? static_cast<ByteSink&>(*file) : *nowhere);
  std::vector<std::unique_ptr<ByteSource>> inputs;
  std::vector<ByteSource*> sources;
  for (const auto& path : options.inputs) {
    inputs.push_back(open_input(path));
    sources.push_back(inputs.back().get());
  }

  auto start = std::chrono::steady_clock::now();
  ConvertResult result = convert(options, sources, out);
  out.prepare();  // complete and durable under its temporary name
  if (file && options.verify_output) {
    verify_written(file->temp_path(), result.keys_written);
    result.output_verified = true;
  }
  result.output_bytes = out.bytes_written();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<Committable*> group{&out};
  if (report) {
    std::string json = report_json(options, result);
    report->write(json.data(), json.size());
    group.push_back(report.get());
  }
  commit_together(group);
  return result;
}

}  // namespace rdbrekey
