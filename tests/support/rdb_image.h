// A whole RDB file as read back, key by key: type, expire time and the value's bytes exactly as
// stored, for comparing a conversion's output with its input.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/rdb_version.h"

namespace rdbrekey::test {

struct KeyImage {
  uint8_t type = 0;
  bool has_expire = false;
  int64_t expire_ms = 0;
  std::string value;  // the value's bytes as stored (after the key)
  bool operator==(const KeyImage&) const = default;
};

// One key of one input, in input order.
struct SourceKey {
  uint64_t db = 0;
  uint64_t key_offset = 0;
  std::string key;
  KeyImage image;
};

struct FileImage {
  RdbVersion version;
  std::map<uint64_t, std::map<std::string, KeyImage>> dbs;
  std::vector<SourceKey> keys;  // every key in file order (duplicates too)
  std::vector<std::string> aux;
  int functions = 0, module_aux = 0;
  uint64_t duplicates = 0;      // keys whose name was already in their database
};

// Throws rdbrekey::Error when the file does not read whole.
FileImage image_of(ByteSource& src);
FileImage image_of_bytes(const std::string& bytes);

}  // namespace rdbrekey::test
