#include "rdbrekey/verifier.h"

#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rdbrekey/collision_index.h"
#include "rdbrekey/error.h"
#include "rdbrekey/rdb_input.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey {
namespace {

// A key's identity for the duplicate check: its database and its name.
std::string db_and_name(uint64_t db, std::string_view name) {
  std::string s(reinterpret_cast<const char*>(&db), sizeof db);
  s.append(name);
  return s;
}

}  // namespace

VerifyResult verify(ByteSource& src, const VerifyOptions& opt) {
  RecordScanner sc(src);
  VerifyResult v;
  v.version = sc.read_header();
  CollisionIndex names;
  std::string id;
  Record r;
  while (sc.next(r)) {
    switch (r.kind) {
      case RecordKind::kKey:
        ++v.keys;
        ++v.keys_per_db[sc.current_db()];
        if (r.prefix.has_expire) ++v.with_ttl;
        if (opt.check_duplicates) {
          id = db_and_name(sc.current_db(), r.key);
          if (src.stable()) names.add(CollisionIndex::hash(id), KeyRef{0, sc.current_db(), r.key_offset, true});
          else names.add_unseekable(CollisionIndex::hash(id), CollisionIndex::second_hash(id), 0, sc.current_db());
        }
        break;
      case RecordKind::kAux: ++v.aux; break;
      case RecordKind::kFunction: ++v.functions; break;
      case RecordKind::kModuleAux: ++v.module_aux; break;
      default: break;
    }
  }
  v.bytes = sc.summary().end_offset;
  v.checksum_present = sc.summary().checksum_present;
  v.trailing_bytes = sc.summary().trailing_bytes;
  v.trailing_exact = sc.summary().trailing_exact;
  if (!opt.check_duplicates) return v;
  uint64_t count = 0;
  std::vector<std::string> found;
  names.for_each_shared_name(
      [&](const KeyRef& ref) {
        MemorySource at(src.name(), src.stable_data() + ref.key_offset, src.size_hint() - ref.key_offset);
        RdbInput in(at, v.version);
        std::string key;
        in.read_string(key, "key");
        return db_and_name(ref.db, key);
      },
      [&](const std::string& name, std::vector<KeyRef>& keys) {
        count += keys.size() - 1;
        if (found.size() >= 10) return;
        std::string_view key = name.size() >= 8 ? std::string_view(name).substr(8) : std::string_view();
        std::string where;
        for (const KeyRef& k : keys)
          where += k.seekable ? fmt::format("{}byte {}", where.empty() ? "" : ", ", k.key_offset) : std::string();
        found.push_back(name.empty() ? fmt::format("  {} keys of db {} with one name (compared by hash)", keys.size(),
                                                   keys.front().db)
                                     : fmt::format("  {} in db {}: {} times (keys at {})",
                                                   quote_bytes(key.data(), key.size()), keys.front().db, keys.size(),
                                                   where));
      });
  if (count)
    throw Error(Errc::kDuplicateKey,
                fmt::format("{}: {} duplicate key{} (a server refuses to load this file):\n{}{}", src.name(), count,
                            count == 1 ? "" : "s", fmt::join(found, "\n"),
                            count > found.size() ? "\n  ..." : ""));
  v.duplicates_checked = true;
  return v;
}

}  // namespace rdbrekey
