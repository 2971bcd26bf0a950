// Cluster topology: format detection, the three parsers (CLUSTER NODES lines, CLUSTER SHARDS as
// text, CLUSTER SHARDS as JSON), the even split of `redis-cli --cluster create`, and the checks
// every topology goes through (ranges merged, ids unique, every slot served exactly once).
//
// Both CLUSTER SHARDS parsers produce the same intermediate shards (slot bounds and nodes as
// key/value fields), and one function picks each shard's primary from them.
#include "rdbrekey/cluster_topology.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "rdbrekey/error.h"

namespace rdbrekey {
namespace {

using Json = nlohmann::json;

constexpr uint16_t kNoOwner = 0xFFFF;
constexpr int kLastSlot = kClusterSlots - 1;
constexpr size_t kMaxTopologyFileBytes = 64u << 20;

constexpr const char* kAcceptedFormats =
    "expected CLUSTER NODES output or a nodes.conf file, CLUSTER SHARDS output as redis-cli prints it "
    "(on a terminal, piped, or with --json), or a number of primaries (1..16384)";

[[noreturn]] void fail(std::string_view source, std::string_view what) {
  throw Error(Errc::kBadTopology, fmt::format("{}: {}", source, what));
}

[[noreturn]] void fail_at(std::string_view source, int line, std::string_view what) {
  throw Error(Errc::kBadTopology, fmt::format("{}: line {}: {}", source, line, what));
}

// ---- small text helpers ------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) fields.push_back(s.substr(start, i - start));
  }
  return fields;
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = s.find(separator, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The lines of a text, without their '\n' (nor a '\r' before it); no empty last line for a final '\n'.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (auto& line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  return lines;
}

// A whole unsigned decimal number, nothing else around it.
std::optional<uint32_t> parse_uint(std::string_view s) {
  uint32_t value = 0;
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool is_hex(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

bool starts_with_number_marker(std::string_view line) {
  line = trim(line);
  size_t digits = 0;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  return digits > 0 && digits < line.size() && (line[digits] == ')' || line[digits] == '#');
}

// ---- ranges ----------------------------------------------------------------------------------

// Sorted, overlapping and adjacent ranges merged.
std::vector<SlotRange> normalize_ranges(std::vector<SlotRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](SlotRange a, SlotRange b) { return a.first < b.first; });
  std::vector<SlotRange> merged;
  for (SlotRange r : ranges) {
    if (!merged.empty() && r.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

// The slots both lists hold (both normalized).
std::vector<SlotRange> overlap_of(const std::vector<SlotRange>& a, const std::vector<SlotRange>& b) {
  std::vector<SlotRange> common;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const uint16_t first = std::max(a[i].first, b[j].first);
    const uint16_t last = std::min(a[i].last, b[j].last);
    if (first <= last) common.push_back({first, last});
    if (a[i].last < b[j].last) {
      ++i;
    } else {
      ++j;
    }
  }
  return common;
}

// The ranges of slots whose owner is `who`.
std::vector<SlotRange> ranges_owned_by(const std::vector<uint16_t>& owner, uint16_t who) {
  std::vector<SlotRange> ranges;
  for (int slot = 0; slot < kClusterSlots; ++slot) {
    if (owner[slot] != who) continue;
    const auto s = static_cast<uint16_t>(slot);
    if (!ranges.empty() && ranges.back().last + 1 == slot) {
      ranges.back().last = s;
    } else {
      ranges.push_back({s, s});
    }
  }
  return ranges;
}

uint32_t count_slots(const std::vector<SlotRange>& ranges) {
  uint32_t n = 0;
  for (SlotRange r : ranges) n += static_cast<uint32_t>(r.last - r.first + 1);
  return n;
}

// "slot 7 is" / "slots 1-5,9 are", for messages.
std::string slots_phrase(const std::vector<SlotRange>& ranges) {
  const bool one = count_slots(ranges) == 1;
  return fmt::format("{} {} {}", one ? "slot" : "slots", format_ranges(ranges), one ? "is" : "are");
}

// A slot number (0..16383), or nothing.
std::optional<uint16_t> parse_slot(std::string_view s) {
  const std::optional<uint32_t> n = parse_uint(s);
  if (!n || *n > static_cast<uint32_t>(kLastSlot)) return std::nullopt;
  return static_cast<uint16_t>(*n);
}

// ---- the checks shared by every format ---------------------------------------------------------

// "127.0.0.1:7000 (abc12345)": how a primary is named in messages.
std::string describe(const ClusterPrimary& p) {
  const std::string short_id = p.id.substr(0, 8);
  if (p.address().empty())
    return p.id.empty() ? std::string("a primary without address") : "node " + short_id + " (no address)";
  return p.id.empty() ? p.address() : fmt::format("{} ({})", p.address(), short_id);
}

void check_unique_ids(const std::vector<ClusterPrimary>& primaries, std::string_view source) {
  std::map<std::string_view, const ClusterPrimary*> seen;
  for (const ClusterPrimary& p : primaries) {
    if (p.id.empty()) continue;
    auto [it, fresh] = seen.emplace(p.id, &p);
    if (!fresh)
      fail(source, fmt::format("node id {} appears twice ({} and {})", p.id, describe(*it->second), describe(p)));
  }
}

// Primaries with slots by their first slot, then the others by address and id.
void sort_primaries(std::vector<ClusterPrimary>& primaries) {
  std::stable_sort(primaries.begin(), primaries.end(), [](const ClusterPrimary& a, const ClusterPrimary& b) {
    if (a.slots.empty() != b.slots.empty()) return b.slots.empty();
    if (!a.slots.empty()) return a.slots.front().first < b.slots.front().first;
    const std::string aa = a.address(), ba = b.address();
    return aa != ba ? aa < ba : a.id < b.id;
  });
}

[[noreturn]] void fail_claimed_twice(const std::vector<ClusterPrimary>& primaries, size_t a, size_t b,
                                     std::string_view source) {
  const std::vector<SlotRange> both = overlap_of(primaries[a].slots, primaries[b].slots);
  fail(source,
       fmt::format("{} claimed by both {} and {}", slots_phrase(both), describe(primaries[a]), describe(primaries[b])));
}

// The owner of each slot; fails when a slot is claimed twice or not at all.
std::vector<uint16_t> assign_owners(const std::vector<ClusterPrimary>& primaries, std::string_view source) {
  if (primaries.size() >= kNoOwner)
    fail(source, fmt::format("{} primaries are more than a cluster can have", primaries.size()));
  std::vector<uint16_t> owner(kClusterSlots, kNoOwner);
  for (size_t i = 0; i < primaries.size(); ++i) {
    for (SlotRange r : primaries[i].slots) {
      if (r.first > r.last || r.last > kLastSlot)
        fail(source, fmt::format("{}-{} is not a range of slots", r.first, r.last));
      for (int slot = r.first; slot <= r.last; ++slot) {
        if (owner[slot] != kNoOwner) fail_claimed_twice(primaries, owner[slot], i, source);
        owner[slot] = static_cast<uint16_t>(i);
      }
    }
  }
  const std::vector<SlotRange> unserved = ranges_owned_by(owner, kNoOwner);
  if (!unserved.empty()) {
    fail(source, fmt::format("{} not served by any primary (a cluster in this state does not accept them; "
                             "wait for the failover or fix the cluster)",
                             slots_phrase(unserved)));
  }
  return owner;
}

ClusterTopology finish_topology(std::vector<ClusterPrimary> primaries, std::string format, std::string_view source,
                                std::vector<std::string> warnings = {}) {
  for (ClusterPrimary& p : primaries) p.slots = normalize_ranges(std::move(p.slots));
  check_unique_ids(primaries, source);
  sort_primaries(primaries);
  ClusterTopology topology;
  topology.format = std::move(format);
  topology.owner = assign_owners(primaries, source);
  for (const ClusterPrimary& p : primaries)
    if (p.slots.empty())
      warnings.push_back(fmt::format("primary {} serves no slots: its file holds no keys", describe(p)));
  topology.primaries = std::move(primaries);
  topology.warnings = std::move(warnings);
  return topology;
}

// ---- CLUSTER NODES / nodes.conf -----------------------------------------------------------------

bool is_nodes_line(std::string_view line) {
  const std::vector<std::string_view> fields = split_whitespace(line);
  return fields.size() >= 8 && is_hex(fields[0]);
}

bool has_flag(std::string_view flags, std::string_view flag) {
  for (std::string_view f : split(flags, ',')) {
    if (f == flag) return true;
  }
  return false;
}

// "ip:port@cport[,hostname[,aux...]]" (or "ip:port" of old servers) into host and port.
void parse_node_address(std::string_view field, ClusterPrimary& p, std::string_view source, int line) {
  std::string_view addr = field.substr(0, field.find(','));
  addr = addr.substr(0, addr.find('@'));
  const size_t colon = addr.rfind(':');
  const std::optional<uint32_t> port =
      colon == std::string_view::npos ? std::nullopt : parse_uint(addr.substr(colon + 1));
  if (!port || *port > 65535) fail_at(source, line, fmt::format("\"{}\" is not an address ip:port@cport", field));
  p.host = std::string(addr.substr(0, colon));
  p.port = static_cast<int>(*port);
}

// "N" or "A-B" appended to the primary's ranges.
void parse_slot_token(std::string_view token, ClusterPrimary& p, std::string_view source, int line) {
  const size_t dash = token.find('-');
  const std::optional<uint16_t> first = parse_slot(token.substr(0, dash));
  const std::optional<uint16_t> last = dash == std::string_view::npos ? first : parse_slot(token.substr(dash + 1));
  if (!first || !last || *first > *last) {
    fail_at(source, line, fmt::format("\"{}\" is not a slot or a range of slots (0..{})", token, kLastSlot));
  }
  p.slots.push_back({*first, *last});
}

// The primary described by one line, or nothing for a replica or a primary to leave out.
std::optional<ClusterPrimary> parse_nodes_line(std::string_view text, std::string_view source, int line,
                                               std::vector<std::string>& warnings) {
  const std::vector<std::string_view> fields = split_whitespace(text);
  if (fields.size() < 8 || !is_hex(fields[0])) {
    fail_at(source, line,
            "expected \"<id> <ip:port@cport> <flags> <primary-id|-> <ping> <pong> <epoch> <link> <slot>...\"");
  }
  const std::string_view flags = fields[2];
  if (!has_flag(flags, "master") && !has_flag(flags, "primary")) return std::nullopt;
  ClusterPrimary p;
  p.id = std::string(fields[0]);
  parse_node_address(fields[1], p, source, line);
  size_t i = 8;
  for (; i < fields.size() && fields[i].front() != '['; ++i) parse_slot_token(fields[i], p, source, line);
  for (; i < fields.size(); ++i)
    warnings.push_back(fmt::format("{}, line {}: {} on primary {} marks a slot being migrated; its keys go to the "
                                   "slot's owner now (finish or cancel the migration before restoring)",
                                   source, line, fields[i], describe(p)));
  if (has_flag(flags, "fail") || has_flag(flags, "fail?"))
    warnings.push_back(fmt::format("{}, line {}: primary {} is marked {} (its slots are still its; restore into a "
                                   "healthy cluster)",
                                   source, line, describe(p), has_flag(flags, "fail") ? "failed" : "possibly failed"));
  if (has_flag(flags, "noaddr")) {
    p.host.clear();
    p.port = 0;
  }
  if ((p.host.empty() || has_flag(flags, "handshake")) && p.slots.empty()) return std::nullopt;
  return p;
}

ClusterTopology parse_cluster_nodes(std::string_view text, std::string_view source) {
  std::vector<ClusterPrimary> primaries;
  std::vector<std::string> warnings;
  int line = 0;
  for (std::string_view l : lines_of(text)) {
    ++line;
    const std::string_view content = trim(l);
    if (content.empty() || content.substr(0, 5) == "vars ") continue;
    if (auto p = parse_nodes_line(content, source, line, warnings)) primaries.push_back(std::move(*p));
  }
  return finish_topology(std::move(primaries), "cluster-nodes", source, std::move(warnings));
}

// ---- CLUSTER SHARDS: the shards, whatever the printed form --------------------------------------

struct ShardNode {
  std::map<std::string, std::string> fields;  // numbers as their decimal text
  std::string where;                          // "line 12", "shard 2, node 1"
};

struct Shard {
  std::vector<uint32_t> bounds;  // start, end, start, end, ...
  std::vector<ShardNode> nodes;
  std::string where;
};

std::string field_of(const ShardNode& node, const std::string& key) {
  auto it = node.fields.find(key);
  return it == node.fields.end() ? std::string() : it->second;
}

bool is_primary_role(const std::string& role) { return role == "master" || role == "primary"; }

// The shard's slot bounds as ranges.
std::vector<SlotRange> ranges_of_shard(const Shard& shard, std::string_view source) {
  if (shard.bounds.size() % 2 != 0) fail(source, fmt::format("{}: the slots are not start,end pairs", shard.where));
  std::vector<SlotRange> ranges;
  for (size_t i = 0; i < shard.bounds.size(); i += 2) {
    const uint32_t first = shard.bounds[i], last = shard.bounds[i + 1];
    if (first > last || last > static_cast<uint32_t>(kLastSlot)) {
      fail(source, fmt::format("{}: {}-{} is not a range of slots (0..{})", shard.where, first, last, kLastSlot));
    }
    ranges.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(last)});
  }
  return ranges;
}

// The shard's primary node as a ClusterPrimary (address and slots), or nothing when it has none
// (its slots are then reported as not served) or when it is a primary without address or slots.
std::optional<ClusterPrimary> primary_of_shard(const Shard& shard, std::string_view source,
                                               std::vector<std::string>& warnings) {
  std::vector<SlotRange> slots = ranges_of_shard(shard, source);
  const ShardNode* primary = nullptr;
  for (const ShardNode& node : shard.nodes) {
    if (!is_primary_role(field_of(node, "role"))) continue;
    if (primary)
      fail(source, fmt::format("{}: two primaries in one shard ({} and {})", shard.where, field_of(*primary, "id"),
                               field_of(node, "id")));
    primary = &node;
  }
  if (!primary) return std::nullopt;
  ClusterPrimary p;
  p.id = field_of(*primary, "id");
  if (p.id.empty()) fail(source, fmt::format("{}: a primary without \"id\"", primary->where));
  p.host = field_of(*primary, "ip");
  if (p.host.empty() || p.host == "?") p.host = field_of(*primary, "endpoint");
  if (p.host == "?") p.host.clear();
  std::string port_text = field_of(*primary, "port");
  if (port_text.empty() || port_text == "0") port_text = field_of(*primary, "tls-port");
  const std::optional<uint32_t> port = parse_uint(port_text.empty() ? "0" : port_text);
  if (!port || *port > 65535) fail(source, fmt::format("{}: \"{}\" is not a port", primary->where, port_text));
  p.port = static_cast<int>(*port);
  p.slots = std::move(slots);
  if (p.host.empty() && p.slots.empty()) return std::nullopt;
  std::string health = field_of(*primary, "health");
  if (!health.empty() && health != "online")
    warnings.push_back(fmt::format("{}: primary {} reports health \"{}\" (its slots are still its; restore into a "
                                   "healthy cluster)",
                                   source, describe(p), health));
  return p;
}

ClusterTopology topology_of_shards(const std::vector<Shard>& shards, std::string format, std::string_view source) {
  std::vector<ClusterPrimary> primaries;
  std::vector<std::string> warnings;
  for (const Shard& shard : shards) {
    if (auto p = primary_of_shard(shard, source, warnings)) primaries.push_back(std::move(*p));
  }
  return finish_topology(std::move(primaries), std::move(format), source, std::move(warnings));
}

}  // namespace

ClusterTopology topology_of_cluster_shards(const std::vector<ClusterShardFields>& reply, std::string_view source) {
  std::vector<Shard> shards;
  for (size_t k = 0; k < reply.size(); ++k) {
    Shard shard;
    shard.where = fmt::format("shard {}", k + 1);
    shard.bounds = reply[k].bounds;
    for (size_t n = 0; n < reply[k].nodes.size(); ++n)
      shard.nodes.push_back(ShardNode{reply[k].nodes[n], fmt::format("shard {}, node {}", k + 1, n + 1)});
    shards.push_back(std::move(shard));
  }
  return topology_of_shards(shards, "cluster-shards-reply", source);
}

namespace {

// ---- CLUSTER SHARDS as text: tokens, then one reader for every form ------------------------------

struct Token {
  std::string text;
  int line = 0;
};

// A string as redis-cli quotes it (sdscatrepr): \" \\ \n \r \t \a \b \xHH. `s` starts at the
// opening quote; it is advanced past the closing one.
std::string unquote(std::string_view& s, std::string_view source, int line) {
  std::string out;
  size_t i = 1;
  for (; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) break;
    switch (s[i]) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'x': {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + std::min(s.size(), i + 3), value, 16);
        if (ec != std::errc() || end != s.data() + i + 3) fail_at(source, line, "bad \\x escape in a quoted string");
        out += static_cast<char>(value);
        i += 2;
        break;
      }
      default:
        out += s[i];
    }
  }
  if (i >= s.size()) fail_at(source, line, "a quoted string does not end on its line");
  s.remove_prefix(i + 1);
  return out;
}

// Removes leading blanks and the "3)" / "2#" position markers of the numbered forms.
std::string_view skip_markers(std::string_view s) {
  for (;;) {
    s = trim(s);
    size_t digits = 0;
    while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
    if (digits == 0 || digits >= s.size() || (s[digits] != ')' && s[digits] != '#')) return s;
    s.remove_prefix(digits + 1);
  }
}

// One line of the numbered forms: `1) 1) "slots"`, `2) (integer) 5460`, `1# "id" => "abc"`,
// `2) (empty array)`.
void tokenize_numbered_line(std::string_view s, int line, std::vector<Token>& tokens, std::string_view source) {
  s = skip_markers(s);
  while (!s.empty()) {
    if (s.front() == '"') {
      tokens.push_back({unquote(s, source, line), line});
    } else if (s.substr(0, 6) == "(empty") {
      return;  // an empty list or map: nothing to read
    } else if (s.substr(0, 5) == "(nil)") {
      tokens.push_back({"", line});
      s.remove_prefix(5);
    } else if (s.substr(0, 7) == "(error)") {
      fail_at(source, line, fmt::format("redis-cli printed an error instead of CLUSTER SHARDS: {}", s));
    } else {
      if (s.front() == '(') s.remove_prefix(std::min(s.size(), s.find(')') + 1));  // "(integer) "
      s = trim(s);
      const size_t end = std::min(s.size(), s.find(' '));
      tokens.push_back({std::string(s.substr(0, end)), line});
      s.remove_prefix(end);
    }
    s = trim(s);
    if (s.substr(0, 2) == "=>") s = trim(s.substr(2));
  }
}

std::vector<Token> tokenize_numbered(std::string_view text, std::string_view source) {
  std::vector<Token> tokens;
  int line = 0;
  for (std::string_view l : lines_of(text)) tokenize_numbered_line(l, ++line, tokens, source);
  return tokens;
}

// The raw (piped) forms: one element a line (RESP2), "key value" on one line (RESP3). Elements
// never hold spaces, so each line is cut at every space; empty pieces are kept (an empty value).
std::vector<Token> tokenize_raw(std::string_view text) {
  std::vector<Token> tokens;
  int line = 0;
  for (std::string_view l : lines_of(text)) {
    ++line;
    for (std::string_view piece : split(l, ' ')) tokens.push_back({std::string(piece), line});
  }
  return tokens;
}

class ShardTokenReader {
 public:
  ShardTokenReader(const std::vector<Token>& tokens, std::string_view source) : tokens_(tokens), source_(source) {}

  std::vector<Shard> read() {
    std::vector<Shard> shards;
    skip_empty();
    while (pos_ < tokens_.size()) shards.push_back(read_shard());
    return shards;
  }

 private:
  // "slots" <start> <end> ... "nodes" <node fields>...
  Shard read_shard() {
    const Token& head = tokens_[pos_++];
    if (head.text != "slots") {
      fail_at(source_, head.line,
              fmt::format("expected \"slots\" (the start of a CLUSTER SHARDS shard), found \"{}\"", head.text));
    }
    Shard shard;
    shard.where = fmt::format("line {}", head.line);
    for (; pos_ < tokens_.size() && tokens_[pos_].text != "nodes"; ++pos_) {
      const Token& t = tokens_[pos_];
      if (t.text.empty()) continue;
      const std::optional<uint32_t> bound = parse_uint(t.text);
      if (!bound) fail_at(source_, t.line, fmt::format("expected a slot number or \"nodes\", found \"{}\"", t.text));
      shard.bounds.push_back(*bound);
    }
    if (pos_ == tokens_.size()) fail_at(source_, head.line, "a shard without \"nodes\"");
    ++pos_;
    read_nodes(shard);
    return shard;
  }

  // Key/value pairs up to the next shard; a node starts at key "id".
  void read_nodes(Shard& shard) {
    while (skip_empty(), pos_ < tokens_.size() && tokens_[pos_].text != "slots") {
      const Token& key = tokens_[pos_];
      if (key.text == "id") shard.nodes.push_back({{}, fmt::format("line {}", key.line)});
      if (shard.nodes.empty())
        fail_at(source_, key.line, fmt::format("expected \"id\" (the start of a node), found \"{}\"", key.text));
      if (pos_ + 1 >= tokens_.size()) fail_at(source_, key.line, fmt::format("\"{}\" without a value", key.text));
      shard.nodes.back().fields[key.text] = tokens_[pos_ + 1].text;
      pos_ += 2;
    }
  }

  void skip_empty() {
    while (pos_ < tokens_.size() && tokens_[pos_].text.empty()) ++pos_;
  }

  const std::vector<Token>& tokens_;
  std::string_view source_;
  size_t pos_ = 0;
};

ClusterTopology parse_cluster_shards_text(std::string_view text, bool numbered, std::string_view source) {
  const std::vector<Token> tokens = numbered ? tokenize_numbered(text, source) : tokenize_raw(text);
  return topology_of_shards(ShardTokenReader(tokens, source).read(), "cluster-shards", source);
}

// ---- CLUSTER SHARDS as JSON --------------------------------------------------------------------

// The value of `key` in an object (RESP3) or in a flat [key, value, ...] list (RESP2); null if absent.
const Json* lookup(const Json& j, const std::string& key) {
  if (j.is_object()) {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }
  if (!j.is_array()) return nullptr;
  for (size_t i = 0; i + 1 < j.size(); i += 2) {
    if (j[i].is_string() && j[i].get_ref<const std::string&>() == key) return &j[i + 1];
  }
  return nullptr;
}

std::string scalar_text(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_unsigned() || j.is_number_integer() || j.is_boolean()) return j.dump();
  return {};
}

ShardNode node_of_json(const Json& j, std::string where, std::string_view source) {
  ShardNode node{{}, std::move(where)};
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) node.fields[key] = scalar_text(value);
  } else if (j.is_array() && j.size() % 2 == 0) {
    for (size_t i = 0; i < j.size(); i += 2) node.fields[scalar_text(j[i])] = scalar_text(j[i + 1]);
  } else {
    fail(source, fmt::format("{}: a node is neither an object nor a key/value list", node.where));
  }
  return node;
}

Shard shard_of_json(const Json& j, size_t index, std::string_view source) {
  Shard shard;
  shard.where = fmt::format("shard {}", index + 1);
  const Json* slots = lookup(j, "slots");
  const Json* nodes = lookup(j, "nodes");
  if (!slots || !nodes || !slots->is_array() || !nodes->is_array()) {
    fail(source, fmt::format("{}: expected \"slots\" and \"nodes\" lists", shard.where));
  }
  for (const Json& bound : *slots) {
    if (!bound.is_number_unsigned())
      fail(source, fmt::format("{}: slot {} is not a slot number", shard.where, bound.dump()));
    shard.bounds.push_back(static_cast<uint32_t>(std::min<uint64_t>(bound.get<uint64_t>(), UINT32_MAX)));
  }
  for (size_t k = 0; k < nodes->size(); ++k) {
    shard.nodes.push_back(node_of_json((*nodes)[k], fmt::format("{}, node {}", shard.where, k + 1), source));
  }
  return shard;
}

ClusterTopology parse_cluster_shards_json(std::string_view text, std::string_view source) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail(source, fmt::format("not valid JSON ({})", e.what()));
  }
  if (!j.is_array()) fail(source, "expected a JSON list of shards (redis-cli --json CLUSTER SHARDS)");
  std::vector<Shard> shards;
  for (size_t i = 0; i < j.size(); ++i) shards.push_back(shard_of_json(j[i], i, source));
  return topology_of_shards(shards, "cluster-shards-json", source);
}

// ---- detection and files --------------------------------------------------------------------

// The first line that says something (not blank, not a nodes.conf "vars" line).
std::string_view first_meaningful_line(std::string_view text) {
  for (std::string_view l : lines_of(text)) {
    const std::string_view content = trim(l);
    if (!content.empty() && content.substr(0, 5) != "vars ") return content;
  }
  return {};
}

std::string read_topology_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw Error(Errc::kCannotOpen, fmt::format("{}: cannot open the cluster topology: {}", path, std::strerror(errno)));
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= kMaxTopologyFileBytes) text.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0)
    throw Error(Errc::kCannotOpen, fmt::format("{}: cannot read the cluster topology: {}", path, std::strerror(err)));
  if (text.size() > kMaxTopologyFileBytes)
    fail(path, fmt::format("larger than {} MiB: not a cluster topology", kMaxTopologyFileBytes >> 20));
  return text;
}

bool is_all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string ClusterPrimary::address() const {
  if (host.empty()) return {};
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

uint32_t ClusterPrimary::slot_count() const { return count_slots(slots); }

std::string format_ranges(const std::vector<SlotRange>& ranges) {
  std::string out;
  for (SlotRange r : ranges) {
    if (!out.empty()) out += ',';
    out += r.first == r.last ? fmt::format("{}", r.first) : fmt::format("{}-{}", r.first, r.last);
  }
  return out;
}

ClusterTopology even_split_topology(int primaries) {
  if (primaries < 1 || primaries > kClusterSlots) {
    throw Error(Errc::kBadTopology,
                fmt::format("{} primaries: a cluster has 1 to {} primaries", primaries, kClusterSlots));
  }
  // The arithmetic of redis-cli's cluster creation, in single precision as it does it.
  const float slots_per_node = static_cast<float>(kClusterSlots) / static_cast<float>(primaries);
  std::vector<ClusterPrimary> list(static_cast<size_t>(primaries));
  long first = 0;
  float cursor = 0.0f;
  for (ClusterPrimary& p : list) {
    long last = std::lroundf(cursor + slots_per_node - 1);
    if (last > kClusterSlots || &p == &list.back()) last = kLastSlot;
    if (last < first) last = first;
    if (last > kLastSlot) {
      // The rounding errors add up for some large counts (7542 is the first): redis-cli plans
      // slot 16384 and cannot create that cluster either.
      throw Error(Errc::kBadTopology,
                  fmt::format("{} primaries: redis-cli --cluster create cannot split the slots over {} primaries "
                              "(its rounding runs past slot {}); give the cluster's topology as a file",
                              primaries, primaries, kLastSlot));
    }
    p.slots.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(last)});
    first = last + 1;
    cursor += slots_per_node;
  }
  return finish_topology(std::move(list), "primaries", fmt::format("{} primaries", primaries));
}

ClusterTopology parse_topology(std::string_view text, std::string_view source) {
  const std::string_view first = first_meaningful_line(text);
  if (first.empty()) fail(source, fmt::format("empty: {}", kAcceptedFormats));
  if (first.front() == '[' || first.front() == '{') return parse_cluster_shards_json(text, source);
  if (starts_with_number_marker(first)) return parse_cluster_shards_text(text, true, source);
  if (first == "slots" || first.substr(0, 6) == "slots ") return parse_cluster_shards_text(text, false, source);
  if (is_nodes_line(first)) return parse_cluster_nodes(text, source);
  fail(source, fmt::format("not a cluster topology: {}", kAcceptedFormats));
}

ClusterTopology load_topology(const std::string& arg) {
  if (!is_all_digits(arg)) return parse_topology(read_topology_file(arg), arg);
  const std::optional<uint32_t> n = parse_uint(arg);
  if (!n || *n < 1 || *n > static_cast<uint32_t>(kClusterSlots)) {
    throw Error(Errc::kBadTopology, fmt::format("{} primaries: a cluster has 1 to {} primaries", arg, kClusterSlots));
  }
  return even_split_topology(static_cast<int>(*n));
}

}  // namespace rdbrekey
