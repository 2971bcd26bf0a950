// What a conversion must produce, worked out from first principles, independently of the
// converter's passes: every key of every input is read, given its fate by the options (left out
// as unmapped or expired, merged into a guard, written under its renamed name), the written
// names are grouped to find collisions and the keep-first/keep-last winners, and the guards'
// "set max" is taken. Then a conversion's outcome is checked against it: the exit code; no two
// equal keys in the output; every input key either in the output under its new name with its
// type, expire time and value bytes, or counted once as dropped / expired / left out / merged
// into a guard; a guard for every mapped application; each left-out key reported with the key
// really kept. Used by the property test and the fuzz target.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rdb_image.h"
#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"

namespace rdbrekey::test {

struct OracleInput {
  std::string name;   // as the converter names the source
  std::string bytes;
  bool pipe = false;  // read once (not stable)
};

struct Expected {
  // nullopt: it converts; else kUnmappedDatabase or kCollision (checked in
  // that order, as the converter does).
  std::optional<Errc> code;
  std::map<std::string, KeyImage> output;  // db 0 of the output, guards included
  std::map<DbId, DbStats> dbs;             // the counts of every database read, by input
  uint64_t collisions = 0;
  std::multiset<std::pair<std::string, std::string>> drops;  // (left out, kept), described
  bool input_has_duplicates = false;    // a database of an input holds one name twice
};

// Throws rdbrekey::Error when an input does not read whole.
Expected expect_conversion(const ConvertOptions& options, const std::vector<OracleInput>& inputs);

// The differences between a conversion's outcome and the expectation; empty when they agree.
// `result` and `output` are set when the conversion succeeded (code nullopt).
std::vector<std::string> check_conversion(const Expected& expected, std::optional<Errc> code, const ConvertResult* result,
                                          const std::string* output);

}  // namespace rdbrekey::test
