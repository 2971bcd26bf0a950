#include "oracle.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "rdb_builder.h"
#include "rdbrekey/key_policy.h"
#include "rdbrekey/key_rules.h"
#include "rdbrekey/rdb_input.h"
#include "rdbrekey/verifier.h"

namespace rdbrekey::test {
namespace {

struct Written {
  size_t input;
  SourceKey key;
  std::string name;
};

std::string describe(const OracleInput& in, const SourceKey& k) {
  return fmt::format("db {} key {} ({}, byte {})", k.db, quote_bytes(k.key.data(), k.key.size()), in.name,
                     k.key_offset);
}

// The value of a string key as text (its bytes decoded from the RDB string encoding).
std::optional<std::string> string_value(const KeyImage& v) {
  if (v.type != 0) return std::nullopt;
  MemorySource src("value", v.value.data(), v.value.size());
  RdbInput in(src, RdbVersion{RdbFamily::kRedis, 11});
  std::string text;
  in.read_string(text, "value");
  if (text.size() > 1024) return std::nullopt;
  return text;
}

}  // namespace

Expected expect_conversion(const ConvertOptions& opt, const std::vector<OracleInput>& inputs) {
  Expected e;
  // The prefix of each database of each input: its own mapping first, then the one for every input.
  std::map<uint64_t, std::string> prefix_of_db;
  std::map<DbId, std::string> prefix_of_input_db;
  std::map<std::string, std::optional<double>> best;  // guard key -> largest number offered
  std::map<std::string, std::string> best_text;
  std::map<std::string, std::unique_ptr<KeyRenamer>> renamers;
  for (const auto& [db, name] : opt.apps) {
    std::string p = app_prefix_from_name(name);
    prefix_of_db[db] = p;
    if (!renamers.count(p)) renamers[p] = std::make_unique<KeyRenamer>(p, opt.hashtags);
  }
  for (const auto& [id, name] : opt.input_apps) {
    std::string p = app_prefix_from_name(name);
    prefix_of_input_db[id] = p;
    if (!renamers.count(p)) renamers[p] = std::make_unique<KeyRenamer>(p, opt.hashtags);
  }
  auto prefix_of = [&](DbId id) -> const std::string* {
    if (auto it = prefix_of_input_db.find(id); it != prefix_of_input_db.end()) return &it->second;
    if (auto it = prefix_of_db.find(id.db); it != prefix_of_db.end()) return &it->second;
    return nullptr;
  };
  std::set<std::string> guard_names;
  for (const auto& [p, r] : renamers) guard_names.insert(p + ":data_version");

  std::vector<Written> written;
  for (size_t i = 0; i < inputs.size(); ++i) {
    FileImage img = image_of_bytes(inputs[i].bytes);
    e.input_has_duplicates |= img.duplicates > 0;
    for (const SourceKey& k : img.keys) {
      DbId id{static_cast<uint32_t>(i), k.db};
      DbStats& st = e.dbs[id];
      ++st.keys_read;
      const std::string* p = prefix_of(id);
      if (p) st.prefix = *p;
      if (k.image.has_expire && opt.drop_expired_before && k.image.expire_ms <= *opt.drop_expired_before) {
        ++st.expired_dropped;
        continue;
      }
      std::string name;
      RenameRule rule = RenameRule::kAlreadyPrefixed;
      if (p) {
        rule = renamers[*p]->rename(k.key, name);
      } else if (opt.unmapped == UnmappedPolicy::kKeep) {
        name = k.key;
      } else {
        ++st.unmapped_dropped;
        continue;
      }
      if (opt.data_version && guard_names.count(name)) {
        ++st.guard_sources;
        if (auto text = string_value(k.image)) {
          std::optional<double> n = lua_number(*text);
          auto& b = best[name];
          if (n && !std::isnan(*n) && (!b || *n > *b)) {
            b = n;
            best_text[name] = *text;
          }
        }
        continue;
      }
      written.push_back(Written{i, k, name});
      if (!p) ++st.kept_unmapped;
      else if (rule == RenameRule::kAlreadyPrefixed) ++st.already_prefixed;
      else if (rule == RenameRule::kHashtag) ++st.hashtagged;
      else {
        ++st.renamed;
        if (k.key.empty()) ++st.empty_key;
      }
      if (k.image.has_expire) ++st.with_ttl;
    }
  }
  if (opt.unmapped == UnmappedPolicy::kError)
    for (const auto& [id, st] : e.dbs)
      if (!prefix_of(id) && st.keys_read) e.code = Errc::kUnmappedDatabase;

  // Group the written keys by name, in input order.
  std::map<std::string, std::vector<const Written*>> by_name;
  for (const Written& w : written) by_name[w.name].push_back(&w);
  for (auto& [name, ws] : by_name) {
    std::sort(ws.begin(), ws.end(), [](const Written* a, const Written* b) {
      return std::tie(a->input, a->key.key_offset) < std::tie(b->input, b->key.key_offset);
    });
    if (ws.size() > 1) {
      e.collisions += ws.size() - 1;
      if (opt.on_collision == CollisionPolicy::kError) {
        if (!e.code) e.code = Errc::kCollision;
        continue;
      }
    }
    const Written* kept = opt.on_collision == CollisionPolicy::kKeepLast ? ws.back() : ws.front();
    for (const Written* w : ws) {
      if (w == kept) continue;
      DbId id{static_cast<uint32_t>(w->input), w->key.db};
      DbStats& st = e.dbs[id];
      ++st.collision_dropped;
      if (w->key.image.has_expire) --st.with_ttl;
      if (!prefix_of(id)) {
        --st.kept_unmapped;
      } else {
        std::string ignored;
        RenameRule rule = renamers[*prefix_of(id)]->rename(w->key.key, ignored);
        if (rule == RenameRule::kAlreadyPrefixed) --st.already_prefixed;
        else if (rule == RenameRule::kHashtag) --st.hashtagged;
        else {
          --st.renamed;
          if (w->key.key.empty()) --st.empty_key;
        }
      }
      e.drops.emplace(describe(inputs[w->input], w->key), describe(inputs[kept->input], kept->key));
    }
    e.output[name] = kept->key.image;
  }
  if (opt.data_version) {
    for (const auto& g : guard_names) {
      auto b = best.find(g);
      std::string value = b != best.end() && b->second && *b->second > static_cast<double>(opt.data_version)
                              ? best_text[g]
                              : std::to_string(opt.data_version);
      e.output[g] = KeyImage{0, false, 0, RdbBuilder("").str(value).bytes()};
    }
  }
  return e;
}

std::vector<std::string> check_conversion(const Expected& e, std::optional<Errc> code, const ConvertResult* result,
                                          const std::string* output) {
  std::vector<std::string> diffs;
  if (code != e.code) {
    diffs.push_back(fmt::format("error {}, expected {}", code ? errc_name(*code) : "none",
                                e.code ? errc_name(*e.code) : "none"));
    return diffs;
  }
  if (code) return diffs;
  FileImage out = image_of_bytes(*output);
  if (out.duplicates) diffs.push_back(fmt::format("{} duplicate keys in the output", out.duplicates));
  try {
    MemorySource again("out", output->data(), output->size());
    verify(again, VerifyOptions{true});
  } catch (const Error& err) {
    diffs.push_back(std::string("the output does not verify: ") + err.what());
  }
  for (const auto& [db, keys] : out.dbs)
    if (db != 0 && !keys.empty()) diffs.push_back(fmt::format("keys in db {} of the output", db));
  const auto& got = out.dbs[0];
  for (const auto& [name, img] : e.output) {
    auto it = got.find(name);
    if (it == got.end()) diffs.push_back(fmt::format("missing from the output: {}", quote_bytes(name.data(), name.size())));
    else if (!(it->second == img))
      diffs.push_back(fmt::format("wrong type, expire or value: {}: type {} expire {} value {}, expected type {} "
                                  "expire {} value {}",
                                  quote_bytes(name.data(), name.size()), it->second.type, it->second.expire_ms,
                                  quote_bytes(it->second.value.data(), it->second.value.size()), img.type,
                                  img.expire_ms, quote_bytes(img.value.data(), img.value.size())));
  }
  for (const auto& [name, img] : got)
    if (!e.output.count(name)) diffs.push_back(fmt::format("not expected in the output: {}", quote_bytes(name.data(), name.size())));
  if (result->keys_written != got.size())
    diffs.push_back(fmt::format("keys_written {} but the output holds {}", result->keys_written, got.size()));
  for (const auto& [id, want] : e.dbs) {
    auto it = result->dbs.find(id);
    DbStats have = it == result->dbs.end() ? DbStats{} : it->second;
    auto fields = [](const DbStats& s) {
      return std::vector<uint64_t>{s.keys_read, s.renamed, s.already_prefixed, s.hashtagged, s.kept_unmapped,
                                   s.empty_key, s.with_ttl, s.unmapped_dropped, s.expired_dropped,
                                   s.collision_dropped, s.guard_sources};
    };
    if (fields(have) != fields(want))
      diffs.push_back(fmt::format("input {} db {} counts (read, renamed, prefixed, hashtagged, kept, empty, ttl, unmapped, "
                                  "expired, collision, guard): {} expected {}",
                                  id.input, id.db, fmt::join(fields(have), "/"), fmt::join(fields(want), "/")));
  }
  if (result->collisions != e.collisions)
    diffs.push_back(fmt::format("{} collisions reported, expected {}", result->collisions, e.collisions));
  std::multiset<std::pair<std::string, std::string>> drops;
  for (const auto& d : result->collision_drops) drops.emplace(d.dropped, d.kept);
  if (drops != e.drops) {
    std::string got_text, want_text;
    for (const auto& [a, b] : drops) got_text += fmt::format("\n    left out {}, kept {}", a, b);
    for (const auto& [a, b] : e.drops) want_text += fmt::format("\n    left out {}, kept {}", a, b);
    diffs.push_back(fmt::format("collision report differs:\n  got:{}\n  expected:{}", got_text, want_text));
  }
  return diffs;
}

}  // namespace rdbrekey::test
