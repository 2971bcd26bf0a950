#include "rdbrekey/inspector.h"

#include <algorithm>
#include <queue>

#include <fmt/format.h>

#include "rdbrekey/format.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey {
namespace {

constexpr size_t kMaxQueuesPerDb = 1000;

// What a server of each family/version accepts (../shared/spec/rdb-format.md §1.2, §5):
// the highest REDIS version, whether VALKEY080 loads, the highest value type (REDIS magic),
// and whether the SLOT_INFO opcode (244) is known.
struct Loader {
  const char* name;
  int max_redis_version;
  bool valkey80;
  int max_type;
  bool slot_info;
};
constexpr Loader kLoaders[] = {
    {"Redis 7.0", 10, false, 19, false},  {"Redis 7.2", 11, false, 21, false},
    {"Redis 7.4 / 8.0-8.4", 12, false, 25, true}, {"Valkey 7.2 / 8.x", 11, false, 21, false},
    {"Valkey 9.x", 11, true, 21, true},
};

}  // namespace

InspectResult inspect(ByteSource& src, const InspectOptions& opt) {
  check_hashtag_families(opt.hashtags);  // the same families convert accepts, with or without --app
  RecordScanner sc(src);
  InspectResult res;
  res.version = sc.read_header();
  std::map<uint64_t, KeyRenamer> renamers;
  for (const auto& [db, name] : opt.apps) renamers.emplace(db, KeyRenamer(app_prefix_from_name(name), opt.hashtags));
  auto cmp = [](const LargeKey& a, const LargeKey& b) { return a.bytes > b.bytes; };
  std::priority_queue<LargeKey, std::vector<LargeKey>, decltype(cmp)> top(cmp);
  std::set<uint8_t> types_seen;
  bool has_slot_info = false, has_key_meta = false;
  Record r;
  while (sc.next(r)) {
    switch (r.kind) {
      case RecordKind::kAux:
        if (res.aux.size() < 64) res.aux[std::string(r.key)] = std::string(r.value.substr(0, 200));
        break;
      case RecordKind::kFunction: ++res.functions; break;
      case RecordKind::kModuleAux: ++res.module_aux; break;
      case RecordKind::kSlotInfo:
        has_slot_info = true;
        ++res.slot_records;
        break;
      case RecordKind::kSlotImport: ++res.slot_records; break;
      case RecordKind::kKey: {
        InspectDb& db = res.dbs[sc.current_db()];
        ++db.keys;
        types_seen.insert(r.opcode);
        if (!r.prefix.key_meta.empty()) has_key_meta = true;
        if (r.opcode == rdb::kTypeModule2) ++res.module_values;
        std::string type(type_name(r.opcode, res.version));
        ++db.by_type[type];
        if (r.prefix.has_expire) {
          ++db.with_ttl;
          if (r.prefix.expire_ms <= opt.now_ms) ++db.expired;
        }
        auto ren = renamers.find(sc.current_db());
        if (ren != renamers.end()) {
          db.prefix = ren->second.prefix();
          RenamedKey k = ren->second.rename(r.key);
          if (k.rule == RenameRule::kAlreadyPrefixed) ++db.already_prefixed;
          else if (k.rule == RenameRule::kPrefixed) ++db.renamed;
          else {
            ++db.hashtagged;
            if (db.queues.size() < kMaxQueuesPerDb) {
              // "{P:F:<queue>}" -> "F:<queue>"
              db.queues.insert(std::string(k.parts[0].substr(ren->second.prefix().size() + 2)) + std::string(k.parts[1]));
            }
          }
        }
        std::string key(r.key);
        uint64_t start = src.offset();
        sc.skip_payload();
        uint64_t size = src.offset() - start;
        db.value_bytes += size;
        if (opt.largest && (top.size() < opt.largest || size > top.top().bytes)) {
          top.push(LargeKey{size, sc.current_db(), std::move(key), std::move(type)});
          if (top.size() > opt.largest) top.pop();
        }
        break;
      }
      default:
        break;
    }
  }
  res.bytes = sc.summary().end_offset;
  res.checksum_present = sc.summary().checksum_present;
  while (!top.empty()) {
    res.largest.push_back(top.top());
    top.pop();
  }
  std::reverse(res.largest.begin(), res.largest.end());
  for (const Loader& l : kLoaders) {
    ServerVerdict v{l.name, true, {}};
    if (res.version.is_valkey()) {
      if (!l.valkey80) v = {l.name, false, "it does not read VALKEY080 files"};
    } else if (res.version.number > l.max_redis_version) {
      v = {l.name, false, fmt::format("it reads RDB versions up to {} only", l.max_redis_version)};
    } else {
      for (uint8_t t : types_seen)
        if (t > l.max_type) {
          v = {l.name, false, fmt::format("it does not know value type {} ({})", t, type_name(t, res.version))};
          break;
        }
      if (v.loads && has_slot_info && !l.slot_info) v = {l.name, false, "it does not know the SLOT_INFO opcode"};
      if (v.loads && has_key_meta) v = {l.name, false, "it does not know key metadata (KEY_META)"};
    }
    if (v.loads && (res.module_aux || res.module_values)) v.why = "only with the modules the file's data belongs to";
    res.servers.push_back(std::move(v));
  }
  return res;
}

}  // namespace rdbrekey
