#include "rdbrekey/inspector.h"

#include <algorithm>
#include <queue>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rdbrekey/format.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/record_scanner.h"
#include "rdbrekey/json_bytes.h"
#include "rdbrekey/value_conversion.h"

namespace rdbrekey {
namespace {

constexpr size_t kMaxQueuesPerDb = 1000;

// What convert --target would do: per value type its conversion (value_conversion.h), then the
// records that are left out on request or cannot be written.
TargetVerdict plan_for(const TargetServer& t, const InspectResult& res, const FileTraits& traits) {
  TargetVerdict v;
  v.target = t.name;
  v.writes = t.writes;
  v.loads_as_is = why_not_loaded(release_of(t), traits).empty();
  for (const auto& [type, n] : res.types) {
    ValueConversion how = conversion_for(type, res.version, t.writes, false);
    if (how == ValueConversion::kNone) continue;
    TargetStep s;
    s.records = n;
    if (how == ValueConversion::kImpossible) {
      if (is_field_ttl_hash(type, res.version)) {
        s.what = conversion_name(type, res.version, rdb::kTypeHash, t.writes);
        s.lossless = false;
        s.needs = "--drop-field-ttls";
      } else {
        s.what = std::string(type_name(type, res.version));
        s.lossless = false;
        s.needs = "no conversion";
        v.convertible = false;
      }
    } else {
      s.what = conversion_name(type, res.version, converted_type(type, how, t.writes), t.writes);
      if (how == ValueConversion::kStreamDown && !res.version.is_valkey() && type >= rdb::kTypeStreamListpacks4) {
        s.lossless = false;  // only when the IDMP / NACK state is empty, which is not read here
        s.needs = "--lossy unless their IDMP/NACK state is empty";
      }
    }
    v.steps.push_back(std::move(s));
  }
  RdbCapabilities caps = capabilities_of(t.writes);
  if (res.functions && !caps.function2) v.steps.push_back({"function libraries left out", res.functions, false, "--drop-functions"});
  if (res.key_meta && !caps.key_meta) v.steps.push_back({"key metadata left out", res.key_meta, false, "--lossy"});
  if (res.module_aux && !caps.module_aux) {
    v.steps.push_back({"module aux records", res.module_aux, false, "no conversion"});
    v.convertible = false;
  }
  return v;
}

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
        ++res.types[r.opcode];
        if (!r.prefix.key_meta.empty()) has_key_meta = true, ++res.key_meta;
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
  for (const TargetServer& t : target_servers()) res.targets.push_back(plan_for(t, res, traits));
  return res;
}

std::string inspect_json(const std::string& file, const InspectResult& r) {
  using Json = nlohmann::ordered_json;
  auto str = [](std::string_view b) { return bytes_as_code_points(b); };
  Json j;
  j["schema_version"] = 1;
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
  j["targets"] = Json::array();
  for (const auto& t : r.targets) {
    Json steps = Json::array();
    for (const auto& s : t.steps)
      steps.push_back({{"what", s.what}, {"records", s.records}, {"lossless", s.lossless}, {"needs", s.needs}});
    j["targets"].push_back({{"target", t.target},
                            {"version", t.writes.magic()},
                            {"loads_as_is", t.loads_as_is},
                            {"convertible", t.convertible},
                            {"steps", std::move(steps)}});
  }
  return j.dump(2, ' ', true) + "\n";
}

}  // namespace rdbrekey
