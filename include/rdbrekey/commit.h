// Outputs that become visible only when committed, all of them or none.
//
//   prepare()    everything written and durable, not yet visible (a file: fsync'ed under its
//                temporary name); may throw
//   commit()     visible (a file: renamed into place); may throw
//   uncommit()   withdrawn again after commit(), because another part of the group failed
//   cancel()     nothing left behind; never throws
#pragma once

#include <span>

namespace rdbrekey {

class Committable {
 public:
  virtual void prepare() = 0;
  virtual void commit() = 0;
  virtual void uncommit() noexcept = 0;
  virtual void cancel() noexcept = 0;

 protected:
  ~Committable() = default;
};

// Prepares every part, then commits them in order; on any failure nothing of the group is left
// (the parts committed already are withdrawn, the others cancelled) and the error is rethrown.
void commit_together(std::span<Committable* const> parts);

}  // namespace rdbrekey
