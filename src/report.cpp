#include "rdbrekey/report.h"

#include <nlohmann/json.hpp>

#include "rdbrekey/json_bytes.h"

namespace rdbrekey {
namespace {

using Json = nlohmann::ordered_json;

Json counts(const DbStats& s) {
  Json j;
  j["keys_read"] = s.keys_read;
  j["written"] = s.written();
  j["renamed"] = s.renamed;
  j["already_prefixed"] = s.already_prefixed;
  j["hashtagged"] = s.hashtagged;
  j["empty_key"] = s.empty_key;
  j["kept_unrenamed"] = s.kept_unmapped;
  j["with_ttl"] = s.with_ttl;
  j["dropped"] = s.dropped();
  j["unmapped_dropped"] = s.unmapped_dropped;
  j["expired_dropped"] = s.expired_dropped;
  j["collision_dropped"] = s.collision_dropped;
  j["merged_into_guard"] = s.guard_sources;
  return j;
}

}  // namespace

std::string report_json(const ConvertOptions& opt, const ConvertResult& r) {
  auto str = [](std::string_view s) { return bytes_as_code_points(s); };
  Json j;
  j["schema_version"] = 1;
  j["inputs"] = Json::array();
  for (const auto& in : r.inputs)
    j["inputs"].push_back({{"path", str(in.path)},
                           {"version", in.version.magic()},
                           {"bytes", in.bytes},
                           {"checksum_verified", in.checksum_verified},
                           {"trailing_bytes", in.trailing_bytes}});
  j["databases"] = Json::array();
  for (const auto& [id, st] : r.dbs) {
    if (st.keys_read == 0 && st.prefix.empty()) continue;
    Json d;
    d["db"] = id.db;
    d["input"] = id.input < r.inputs.size() ? str(r.inputs[id.input].path) : std::string();
    d["prefix"] = st.prefix.empty() ? Json(nullptr) : Json(str(st.prefix));
    d.update(counts(st));
    j["databases"].push_back(std::move(d));
  }
  j["totals"] = counts(r.totals());
  j["collisions"] = r.collisions;
  j["collisions_left_out"] = Json::array();
  for (const auto& c : r.collision_drops)
    j["collisions_left_out"].push_back({{"name", str(c.name)}, {"left_out", str(c.dropped)}, {"kept", str(c.kept)}});
  j["guards"] = Json::array();
  for (const auto& g : r.guards)
    j["guards"].push_back({{"key", str(g.key)}, {"value", str(g.value)}, {"kept_existing", g.kept_existing}});
  j["output"] = {{"path", str(opt.output)},           {"version", r.output_version.magic()},
                 {"keys", r.keys_written},            {"bytes", r.output_bytes},
                 {"dry_run", opt.dry_run},            {"verified", r.output_verified},
                 {"target", opt.target_name.empty() ? Json(nullptr) : Json(opt.target_name)},
                 {"compression", r.output_codec == Codec::kNone ? Json(nullptr) : Json(std::string(codec_name(r.output_codec)))},
                 {"compressed_bytes", r.output_compressed_bytes}};
  if (opt.cluster) {
    j["output"]["path"] = nullptr;
    j["output"]["directory"] = str(opt.output_dir);
    j["output"]["topology"] = str(opt.cluster_source);
    j["output"]["files"] = Json::array();
    for (const auto& f : r.shards)
      j["output"]["files"].push_back({{"path", str(f.path)},
                                      {"node_id", f.node_id},
                                      {"address", f.address},
                                      {"slots", f.slots},
                                      {"keys", f.keys},
                                      {"keys_with_ttl", f.keys_with_ttl},
                                      {"bytes", f.bytes}});
    j["output"]["queues_split_across_slots"] = Json::array();
    for (const auto& q : r.split_queues) j["output"]["queues_split_across_slots"].push_back(str(q));
  }
  j["aux_from"] = opt.aux_from < r.inputs.size() ? Json(str(r.inputs[opt.aux_from].path)) : Json(nullptr);
  j["aux_kept"] = r.aux_kept;
  j["aux_dropped"] = r.aux_dropped;
  j["functions"] = r.functions;
  j["module_aux"] = r.module_aux;
  j["slot_records_dropped"] = r.slot_records_dropped;
  j["hints_dropped"] = r.hints_dropped;
  j["conversions"] = Json::object();
  for (const auto& [what, n] : r.conversions) j["conversions"][what] = n;
  j["field_ttls_dropped"] = r.field_ttls_dropped;
  j["keys_with_field_ttls_dropped"] = r.keys_with_field_ttls_dropped;
  j["functions_dropped"] = r.functions_dropped;
  j["key_meta_dropped"] = r.key_meta_dropped;
  j["streams_state_dropped"] = r.streams_state_dropped;
  j["seconds"] = static_cast<double>(static_cast<int64_t>(r.seconds * 1000)) / 1000;
  return j.dump(2, ' ', true) + "\n";
}

}  // namespace rdbrekey
