// Where a conversion is, for a progress display: reported every 64 Ki records and at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rdbrekey/byte_source.h"

namespace rdbrekey {

struct Progress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 when unknown (a pipe)
  uint64_t keys = 0;         // keys read so far
  std::string detail;        // what the output adds (restore: the commands in flight per node)
};

class ProgressMeter {
 public:
  static constexpr uint32_t kEvery = 1 << 16;

  // `report` may be empty (nothing is reported then).
  ProgressMeter(std::function<void(const Progress&)> report, const std::vector<ByteSource*>& sources)
      : report_(std::move(report)), sources_(sources) {}

  // The next input starts.
  void begin_input(uint32_t input) { input_ = input; }
  // One record of the current input was read; true every kEvery records (time to report).
  bool tick() {
    if (--until_ != 0) return false;
    until_ = kEvery;
    return true;
  }
  // Reports now, with `keys` read so far.
  void report(uint64_t keys);
  Progress now(uint64_t keys) const;

 private:
  std::function<void(const Progress&)> report_;
  const std::vector<ByteSource*>& sources_;
  uint32_t input_ = 0;
  uint32_t until_ = kEvery;
};

}  // namespace rdbrekey
