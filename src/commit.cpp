#include "rdbrekey/commit.h"

namespace rdbrekey {

void commit_together(std::span<Committable* const> parts) {
  size_t committed = 0;
  try {
    for (Committable* p : parts) p->prepare();
    for (Committable* p : parts) {
      p->commit();
      ++committed;
    }
  } catch (...) {
    for (size_t i = 0; i < committed; ++i) parts[i]->uncommit();
    for (Committable* p : parts) p->cancel();
    throw;
  }
}

}  // namespace rdbrekey
