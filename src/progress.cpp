#include "rdbrekey/progress.h"

namespace rdbrekey {

Progress ProgressMeter::now(uint64_t keys) const {
  Progress p;
  for (uint32_t i = 0; i < sources_.size(); ++i) {
    p.bytes_total += sources_[i]->size_hint();
    if (i < input_) p.bytes_done += sources_[i]->size_hint();
  }
  if (input_ < sources_.size()) p.bytes_done += sources_[input_]->offset();
  p.keys = keys;
  return p;
}

void ProgressMeter::report(uint64_t keys) {
  if (report_) report_(now(keys));
}

}  // namespace rdbrekey
