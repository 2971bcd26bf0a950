// Where a conversion's records go: an interface fed records in input order, committed all
// together or not at all (commit.h).
//
//   begin(version)                    once, first: the version of what is written
//   aux(field, value)                 AUX fields (of the first input)
//   function(payload)                 a FUNCTION2 library, copied from the input as it is
//   module_aux(payload)               a MODULE_AUX record, copied as it is
//   key(prefix, type, name, payload)  one key under its new name: expire time and hints, the
//                                     type byte, the value copied from the input as it is
//   string_key(name, value)           a key made by the tool (the start-up guard)
//   end()                             once, last
//   prepare() / commit() / uncommit() / cancel()
//
// Implementations now: one RDB file (or any ByteSink), and a discarding output (the first pass
// of keep-first/keep-last, which only decides). Coming: one RDB per cluster shard (keys routed
// by hash slot), standard output, a live server (RESTORE). None needs a change to the loop that
// feeds them.
#pragma once

#include <cstdint>
#include <string_view>

#include "rdbrekey/commit.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/rdb_version.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey {

class Output : public Committable {
 public:
  virtual ~Output() = default;

  virtual void begin(RdbVersion version) = 0;
  virtual void aux(std::string_view field, std::string_view value) = 0;
  virtual void function(Payload& payload) = 0;
  virtual void module_aux(Payload& payload) = 0;
  virtual void key(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name, Payload& value) = 0;
  virtual void string_key(std::string_view name, std::string_view value) = 0;
  virtual void end() = 0;

  // Whether what it received can still be thrown away by cancel() (a file under a temporary
  // name: yes; a live server: no). An output that cannot is only fed once every decision that
  // needs the whole input (collisions) has been taken.
  virtual bool discardable() const = 0;
  // Whether it would rather know how many keys (and keys with a TTL) it will receive before the
  // first one (a file that cannot be patched in place: compressed, standard output). When the
  // inputs can be read twice, a counting pass tells it through expect_counts().
  virtual bool wants_counts_first() const { return false; }
  virtual void expect_counts(uint64_t /*keys*/, uint64_t /*with_ttl*/) {}
  virtual uint64_t keys_written() const = 0;
  virtual uint64_t bytes_written() const = 0;
};

}  // namespace rdbrekey
