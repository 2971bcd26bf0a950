#include "rdbrekey/inspector.h"

#include <algorithm>
#include <queue>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rdbrekey/format.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/record_scanner.h"
#include "rdbrekey/json_bytes.h"

namespace rdbrekey {
namespace {

constexpr size_t kMaxQueuesPerDb = 1000;

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
  FileTraits traits{res.version, types_seen, has_slot_info, has_key_meta};
  for (const ServerRelease& server : server_releases()) {
    std::string why = why_not_loaded(server, traits);
    ServerVerdict v{server.name, why.empty(), why};
    if (v.loads && (res.module_aux || res.module_values)) v.why = "only with the modules the file's data belongs to";
    res.servers.push_back(std::move(v));
  }
  return res;
}

std::string inspect_json(const std::string& file, const InspectResult& r) {
  using Json = nlohmann::ordered_json;
  auto str = [](std::string_view b) { return bytes_as_code_points(b); };
  Json j;
  j["file"] = str(file);
  j["version"] = r.version.magic();
  j["bytes"] = r.bytes;
  j["checksum"] = r.checksum_present ? Json("verified") : Json(nullptr);
  j["aux"] = Json::object();
  for (const auto& [k, v] : r.aux) j["aux"][str(k)] = str(v);
  j["databases"] = Json::array();
  for (const auto& [db, d] : r.dbs) {
    Json types = Json::object();
    for (const auto& [t, n] : d.by_type) types[t] = n;
    Json queues = Json::array();
    for (const auto& q : d.queues) queues.push_back(str(q));
    j["databases"].push_back({{"db", db},
                              {"keys", d.keys},
                              {"types", std::move(types)},
                              {"with_ttl", d.with_ttl},
                              {"expired", d.expired},
                              {"value_bytes", d.value_bytes},
                              {"prefix", d.prefix.empty() ? Json(nullptr) : Json(str(d.prefix))},
                              {"renamed", d.renamed},
                              {"already_prefixed", d.already_prefixed},
                              {"hashtagged", d.hashtagged},
                              {"queues", std::move(queues)}});
  }
  j["functions"] = r.functions;
  j["module_aux"] = r.module_aux;
  j["module_values"] = r.module_values;
  j["largest"] = Json::array();
  for (const auto& k : r.largest)
    j["largest"].push_back({{"db", k.db}, {"key", str(k.key)}, {"type", k.type}, {"bytes", k.bytes}});
  j["servers"] = Json::array();
  for (const auto& s : r.servers) j["servers"].push_back({{"server", s.server}, {"loads", s.loads}, {"note", s.why}});
  return j.dump(2, ' ', true) + "\n";
}

}  // namespace rdbrekey
