#include "rdbrekey/manifest.h"


#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rdbrekey/json_bytes.h"

namespace rdbrekey {
namespace {

using Json = nlohmann::ordered_json;

std::string str(std::string_view s) { return bytes_as_code_points(s); }

Json file_entry(const ConvertResult::ShardFile& shard, const ClusterPrimary& primary, const std::string& name,
                const std::vector<uint64_t>& keys_per_slot) {
  Json f;
  f["file"] = name;
  f["node_id"] = primary.id.empty() ? Json(nullptr) : Json(primary.id);
  f["address"] = primary.address().empty() ? Json(nullptr) : Json(primary.address());
  f["slots"] = Json::array();
  Json per_slot = Json::object();
  // Appended in slot order, each slot once: straight into the object's vector, since looking
  // every key up first (what operator[] does on an ordered object) is quadratic.
  auto& entries = static_cast<std::vector<std::pair<const std::string, Json>>&>(per_slot.get_ref<Json::object_t&>());
  for (const SlotRange& r : primary.slots) {
    f["slots"].push_back({r.first, r.last});
    for (uint32_t s = r.first; s <= r.last; ++s)
      if (keys_per_slot[s]) entries.emplace_back(std::to_string(s), keys_per_slot[s]);
  }
  f["keys"] = shard.keys;
  f["keys_with_ttl"] = shard.keys_with_ttl;
  f["bytes"] = shard.bytes;
  f["crc64"] = fmt::format("{:016x}", shard.checksum);
  f["keys_per_slot"] = std::move(per_slot);
  return f;
}

// Per application: its keys in the output (by prefix, the guard not counted), per file, and
// where its guard went.
Json applications(const ShardedOutput& out, const ClusterTopology& topology, const std::vector<std::string>& names) {
  const AppTally& tally = out.apps();
  Json apps = Json::array();
  for (size_t i = 0; i < tally.prefixes().size(); ++i) {
    const std::string& prefix = tally.prefixes()[i];
    Json a;
    a["prefix"] = str(prefix);
    uint64_t keys = 0;
    Json per_file = Json::object();
    for (size_t f = 0; f < names.size(); ++f) {
      keys += tally.keys(i, f);
      if (tally.keys(i, f)) per_file[names[f]] = tally.keys(i, f);
    }
    a["keys"] = keys;
    a["keys_per_file"] = std::move(per_file);
    a["guard"] = nullptr;
    for (const auto& g : out.placed_string_keys()) {
      if (g.key != prefix + ":data_version") continue;
      const ClusterPrimary& p = topology.primaries[g.file];
      a["guard"] = {{"key", str(g.key)},
                    {"slot", g.slot},
                    {"file", names[g.file]},
                    {"node_id", p.id.empty() ? Json(nullptr) : Json(p.id)}};
    }
    apps.push_back(std::move(a));
  }
  return apps;
}

Json queues(const QueueTally& tally, const std::vector<std::string>& names) {
  Json list = Json::array();
  for (const auto& [name, q] : tally.queues()) {
    size_t c1 = name.find(':');
    size_t c2 = name.find(':', c1 + 1);
    Json e;
    e["name"] = str(name);
    e["application"] = str(name.substr(0, c1));
    e["family"] = str(name.substr(c1 + 1, c2 - c1 - 1));
    e["queue"] = str(name.substr(c2 + 1));
    e["keys"] = q.keys;
    e["hashtagged"] = q.hashtagged;
    e["slots"] = q.slots;
    e["files"] = Json::array();
    for (uint32_t f : q.files) e["files"].push_back(names[f]);
    e["one_slot"] = q.slots.size() == 1;
    list.push_back(std::move(e));
  }
  return list;
}

}  // namespace

std::string manifest_json(const ConvertOptions& options, const ConvertResult& result, const ShardedOutput& out,
                          const std::vector<std::string>& names) {
  const ClusterTopology& topology = *options.cluster;
  Json j;
  j["schema_version"] = 1;
  j["topology"] = {{"source", str(options.cluster_source)},
                   {"format", topology.format},
                   {"primaries", topology.primaries.size()}};
  j["output_version"] = result.output_version.magic();
  uint64_t ttl = 0;
  for (const auto& s : result.shards) ttl += s.keys_with_ttl;
  j["keys"] = result.keys_written;
  j["keys_with_ttl"] = ttl;
  j["aux_from"] = options.aux_from < result.inputs.size() ? Json(str(result.inputs[options.aux_from].path)) : Json(nullptr);
  j["files"] = Json::array();
  for (size_t i = 0; i < result.shards.size(); ++i)
    j["files"].push_back(file_entry(result.shards[i], topology.primaries[i], names[i], out.keys_per_slot()));
  j["applications"] = applications(out, topology, names);
  j["queues"] = queues(out.queues(), names);
  j["queues_split_across_slots"] = Json::array();
  for (const auto& q : result.split_queues) j["queues_split_across_slots"].push_back(str(q));
  j["topology"]["warnings"] = Json::array();
  for (const auto& w : topology.warnings) j["topology"]["warnings"].push_back(str(w));
  return j.dump(2, ' ', true) + "\n";
}

}  // namespace rdbrekey
