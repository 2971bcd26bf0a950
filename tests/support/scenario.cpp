#include "scenario.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "rdb_builder.h"

namespace rdbrekey::test {
namespace {

const std::vector<std::string> kKeys = {"x",           "y",
                                        "condo:x",     "condo:y",
                                        "bull:q:1",    "{condo:bull:q}:1",
                                        "bull:q",      "{condo:bull:q}",
                                        "data_version", "condo:data_version",
                                        "app2:data_version", "app2:x",
                                        "",            "condominium:1",
                                        "{app2:bull:q}:1", "z"};
const std::vector<uint64_t> kDbs = {0, 1, 2, 3, 70000};

}  // namespace

Scenario generate_scenario(std::mt19937& rng) {
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  Scenario s;
  ConvertOptions& opt = s.opt;
  // Half the scenarios take the path where only prefixed keys are remembered and their
  // databases read again: one file, one database per application, no --unmapped keep.
  bool rescan_path = pick(2);
  opt.apps[0] = "@app/condo";
  if (pick(2)) opt.apps[1] = pick(2) && !rescan_path ? "condo" : "app2";
  if (pick(2)) opt.apps[2] = rescan_path ? "app3" : "app2";
  if (pick(4) == 0) opt.apps[70000] = rescan_path ? "app4" : "condo";
  opt.unmapped = std::vector<UnmappedPolicy>{UnmappedPolicy::kError, UnmappedPolicy::kDrop, UnmappedPolicy::kKeep}[pick(
      rescan_path ? 2 : 3)];
  opt.on_collision =
      std::vector<CollisionPolicy>{CollisionPolicy::kError, CollisionPolicy::kKeepFirst, CollisionPolicy::kKeepLast}[pick(3)];
  opt.data_version = std::vector<uint64_t>{2, 0, 5}[pick(3)];
  if (pick(2)) opt.drop_expired_before = 2000;
  size_t n_inputs = rescan_path ? 1 : 1 + pick(3);
  for (size_t i = 0; i < n_inputs; ++i) {
    RdbBuilder b(std::vector<std::string>{"REDIS0009", "REDIS0010", "REDIS0011"}[pick(3)]);
    size_t n_dbs = 1 + pick(3);
    std::vector<uint64_t> dbs = kDbs;
    std::shuffle(dbs.begin(), dbs.end(), rng);
    dbs.resize(n_dbs);
    for (uint64_t db : dbs) {
      b.select_db(db);
      std::vector<std::string> keys = kKeys;
      std::shuffle(keys.begin(), keys.end(), rng);
      keys.resize(pick(7));
      for (const auto& k : keys) {
        switch (pick(3)) {
          case 0: break;
          case 1: b.expire_ms(1000); break;           // expired at the --drop-expired time
          default: b.expire_ms(4102444800000); break;  // 2100
        }
        if (k.find("data_version") != std::string::npos && pick(4) != 0) {
          b.string_key(k, std::vector<std::string>{"1", "3", "7", "abc", "10", " 4", "nan"}[pick(7)]);
        } else if (pick(5) == 0) {
          b.set_key(k, {"m1", "m2"});
        } else {
          b.string_key(k, fmt::format("v{}-{}-{}", i, db, rng() % 1000));
        }
      }
    }
    OracleInput in{fmt::format("in{}.rdb", i), b.eof().bytes(), !rescan_path && pick(3) == 0};
    s.text += fmt::format("\n  input {} ({}): {} bytes", in.name, in.pipe ? "pipe" : "file", in.bytes.size());
    s.inputs.push_back(std::move(in));
  }
  // Several backups: some databases mapped per input instead (another application, or none, on
  // each host), and the AUX fields of any input.
  if (n_inputs > 1 && pick(2)) {
    for (auto it = opt.apps.begin(); it != opt.apps.end();) {
      if (pick(2)) {
        ++it;
        continue;
      }
      for (uint32_t i = 0; i < n_inputs; ++i)
        if (pick(3) != 0) opt.input_apps[DbId{i, it->first}] = std::vector<std::string>{"condo", "app2", "app5"}[pick(3)];
      it = opt.apps.erase(it);
    }
    opt.aux_from = static_cast<uint32_t>(pick(n_inputs));
  }
  std::vector<std::string> apps;
  for (const auto& [db, name] : opt.apps) apps.push_back(fmt::format("{}={}", db, name));
  for (const auto& [id, name] : opt.input_apps) apps.push_back(fmt::format("in{}.rdb:{}={}", id.input, id.db, name));
  s.text += fmt::format("\n  apps {}, aux from input {}, unmapped {}, on-collision {}, data-version {}, drop-expired {}",
                        fmt::join(apps, " "), opt.aux_from, static_cast<int>(opt.unmapped), static_cast<int>(opt.on_collision),
                        opt.data_version, opt.drop_expired_before ? "2000" : "no");
  return s;
}

}  // namespace rdbrekey::test
