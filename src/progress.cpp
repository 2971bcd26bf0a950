#include "rdbrekey/progress.h"

namespace rdbrekey {

Progress ProgressMeter::now() const {
  Progress p;
  for (uint32_t i = 0; i < sources_.size(); ++i) {
    p.bytes_total += sources_[i]->size_hint();
    if (i < input_) p.bytes_done += sources_[i]->size_hint();
  }
  if (input_ < sources_.size()) p.bytes_done += sources_[input_]->offset();
  p.keys = keys_;
  return p;
}

void ProgressMeter::report() {
  if (report_) report_(now());
}

}  // namespace rdbrekey
