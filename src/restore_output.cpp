#include "rdbrekey/restore_output.h"

#include <poll.h>
#include <string.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "rdbrekey/cluster_topology.h"
#include "rdbrekey/crc64.h"
#include "rdbrekey/error.h"
#include "rdbrekey/format.h"
#include "rdbrekey/hash_slot.h"
#include "rdbrekey/rdb_encoding.h"
#include "rdbrekey/signals.h"

namespace rdbrekey {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kNoNode = UINT32_MAX;
// A command this large is built in place around its payload and sent alone (see the header).
constexpr size_t kLargeCommand = size_t{1} << 20;

// Collects a payload copied from the input into a string.
class StringSink final : public ByteSink {
 public:
  explicit StringSink(std::string& out) : ByteSink(64 << 10), out_(out) {}

 protected:
  void write_out(const uint8_t* data, size_t size) override { out_.append(reinterpret_cast<const char*>(data), size); }

 private:
  std::string& out_;
};

std::string show_key(std::string_view key) { return quote_bytes(key.data(), key.size()); }

// The key of a RESTORE command as append_command wrote it (*N, $7 RESTORE, $LEN KEY, ...), for
// messages: a command in flight keeps no other copy of its key.
std::string_view restore_key_of(std::string_view command) {
  size_t at = command.find("RESTORE\r\n$");
  if (at == std::string_view::npos) return {};
  at += 10;
  size_t len = 0;
  auto [end, ec] = std::from_chars(command.data() + at, command.data() + command.size(), len);
  size_t key_at = static_cast<size_t>(end - command.data()) + 2;
  if (ec != std::errc() || key_at + len > command.size()) return {};
  return command.substr(key_at, len);
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 host:port": the slot and the node.
bool parse_redirect(std::string_view text, uint16_t& slot, RedisEndpoint& to) {
  size_t a = text.find(' ');
  if (a == std::string_view::npos) return false;
  size_t b = text.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  unsigned s = 0;
  auto [p, ec] = std::from_chars(text.data() + a + 1, text.data() + b, s);
  if (ec != std::errc() || s >= kClusterSlots) return false;
  std::string_view addr = text.substr(b + 1);
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return false;
  unsigned port = 0;
  auto [q, ec2] = std::from_chars(addr.data() + colon + 1, addr.data() + addr.size(), port);
  if (ec2 != std::errc() || port == 0 || port > 65535) return false;
  std::string_view host = addr.substr(0, colon);
  if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
  slot = static_cast<uint16_t>(s);
  to.host = std::string(host);
  to.port = static_cast<uint16_t>(port);
  return true;
}

}  // namespace

void append_dump_footer(std::string& payload, uint16_t rdb_version) {
  payload.push_back(static_cast<char>(rdb_version & 0xff));
  payload.push_back(static_cast<char>(rdb_version >> 8));
  uint64_t crc = crc64(0, payload.data(), payload.size());
  for (int i = 0; i < 8; ++i) payload.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
}

RestoreOutput::RestoreOutput(const RedisEndpoint& seed, RestoreSettings settings)
    : settings_(std::move(settings)), seed_(seed) {
  payload_sink_ = std::make_unique<StringSink>(payload_);
  progress_ = settings_.earlier;
  progress_.complete = false;
  progress_.acknowledged = 0;  // counted again as the records go by
  progress_.sent_below = std::max(settings_.uncertain_below, settings_.resume_below);
  progress_.restored = 0;
  progress_.with_ttl = 0;
  size_t first = node_for(seed_);
  connection(first);  // fails early when the target cannot be reached
  if (settings_.cluster) {
    slot_node_.assign(kClusterSlots, kNoNode);
    read_topology();
  } else {
    primaries_.push_back(first);
  }
  for (size_t n : primaries_) connection(n);
  last_progress_ = last_saved_ = Clock::now();
}

RestoreOutput::~RestoreOutput() = default;

size_t RestoreOutput::node_for(const RedisEndpoint& endpoint) {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].endpoint == endpoint) return i;
  nodes_.push_back(Node{endpoint, nullptr, {}, tallies_.size(), 0, 0, {}});
  NodeTally t;
  t.address = endpoint.address();
  tallies_.push_back(std::move(t));
  return nodes_.size() - 1;
}

RedisConnection& RestoreOutput::connection(size_t node) {
  Node& n = nodes_[node];
  if (!n.conn) {
    n.conn = std::make_unique<RedisConnection>(n.endpoint, settings_.credentials, settings_.timeout_ms);
    if (settings_.db != 0) {
      RedisReply r = n.conn->call({"SELECT", std::to_string(settings_.db)});
      if (r.is_error()) stop(Errc::kTargetRefused, fmt::format("{}: SELECT {} answered {}", n.endpoint.address(), settings_.db, r.describe()));
    }
  }
  return *n.conn;
}

RedisReply RestoreOutput::call(size_t node, std::initializer_list<std::string_view> args) {
  for (int attempt = 0;; ++attempt) {
    try {
      return connection(node).call(args, settings_.timeout_ms);
    } catch (const Error& e) {
      if (e.code() != Errc::kTargetUnavailable || attempt >= settings_.max_reconnects || !nodes_[node].in_flight.empty())
        throw;
      nodes_[node].conn.reset();
      ++tallies_[nodes_[node].tally].reconnects;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2000, 50 << std::min(attempt, 5))));
    }
  }
}

size_t RestoreOutput::lane_for(size_t node) {
  if (settings_.connections <= 1) return node;
  if (nodes_[node].lanes.empty()) nodes_[node].lanes.push_back(node);
  size_t best = node;
  for (size_t lane : nodes_[node].lanes)
    if (nodes_[lane].bytes_in_flight < nodes_[best].bytes_in_flight) best = lane;
  if (nodes_[best].bytes_in_flight == 0 || nodes_[node].lanes.size() >= settings_.connections) return best;
  // Every connection made so far has commands in flight: one more.
  Node lane{nodes_[node].endpoint, nullptr, {}, nodes_[node].tally, 0, 0, {}};
  nodes_.push_back(std::move(lane));
  nodes_[node].lanes.push_back(nodes_.size() - 1);
  return nodes_.size() - 1;
}

size_t RestoreOutput::in_flight_to(size_t node) const {
  if (nodes_[node].lanes.empty()) return nodes_[node].in_flight.size();
  size_t n = 0;
  for (size_t lane : nodes_[node].lanes) n += nodes_[lane].in_flight.size();
  return n;
}

void RestoreOutput::read_topology() {
  size_t asked = primaries_.empty() ? node_for(seed_) : primaries_.front();
  std::string from = nodes_[asked].endpoint.address();
  std::optional<RedisConnection> own;  // commands are in flight there: asked on a connection of its own
  auto ask = [&](std::initializer_list<std::string_view> args) {
    if (nodes_[asked].in_flight.empty()) return call(asked, args);
    if (!own) own.emplace(nodes_[asked].endpoint, settings_.credentials, settings_.timeout_ms);
    return own->call(args, settings_.timeout_ms);
  };
  if (!shards_refused_) {
    RedisReply shards = ask({"CLUSTER", "SHARDS"});
    std::string why = apply_shards(shards, from);
    if (why.empty()) {
      topology_source_ = "CLUSTER SHARDS";
      return;
    }
    shards_refused_ = shards.is_error();
    topology_source_ = "CLUSTER SLOTS (" + why + ")";
  }
  apply_topology(ask({"CLUSTER", "SLOTS"}), from);
}

// CLUSTER SHARDS (RESP2): [["slots", [start, end, ...], "nodes", [["id", ID, "port", N, ...], ...]], ...].
std::string RestoreOutput::apply_shards(const RedisReply& r, const std::string& from) {
  using Kind = RedisReply::Kind;
  if (r.is_error() || r.kind != Kind::kArray) return "CLUSTER SHARDS answered " + r.describe();
  const std::string odd = "CLUSTER SHARDS: an entry this tool does not understand";
  auto text_of = [](const RedisReply& v) { return v.kind == Kind::kInteger ? std::to_string(v.integer) : v.str; };
  const bool tls = settings_.credentials.tls != nullptr;
  std::vector<ClusterShardFields> shards;
  for (const RedisReply& shard : r.elements) {
    if (shard.kind != Kind::kArray || shard.elements.size() % 2 != 0) return odd;
    ClusterShardFields f;
    for (size_t i = 0; i < shard.elements.size(); i += 2) {
      const std::string& key = shard.elements[i].str;
      const RedisReply& value = shard.elements[i + 1];
      if (key == "slots") {
        for (const RedisReply& bound : value.elements) {
          uint32_t b = 0;
          const std::string t = text_of(bound);
          auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), b);
          if (ec != std::errc() || end != t.data() + t.size()) return odd;
          f.bounds.push_back(b);
        }
      } else if (key == "nodes") {
        for (const RedisReply& node : value.elements) {
          if (node.kind != Kind::kArray || node.elements.size() % 2 != 0) return odd;
          std::map<std::string, std::string> fields;
          for (size_t k = 0; k < node.elements.size(); k += 2) fields[node.elements[k].str] = text_of(node.elements[k + 1]);
          // The address a client is to use: the preferred endpoint (the one MOVED names), and
          // over TLS the TLS port.
          if (auto e = fields.find("endpoint"); e != fields.end() && !e->second.empty() && e->second != "?")
            fields["ip"] = e->second;
          if (auto t = fields.find("tls-port"); tls && t != fields.end() && !t->second.empty() && t->second != "0")
            fields["port"] = t->second;
          f.nodes.push_back(std::move(fields));
        }
      }
    }
    shards.push_back(std::move(f));
  }
  ClusterTopology topology;
  try {
    topology = topology_of_cluster_shards(shards, from);
  } catch (const Error& e) {
    return e.what();
  }
  std::vector<size_t> node_of(topology.primaries.size());
  std::vector<size_t> primaries;
  for (size_t k = 0; k < topology.primaries.size(); ++k) {
    const ClusterPrimary& p = topology.primaries[k];
    if (p.port <= 0) return fmt::format("CLUSTER SHARDS: primary {} has no port", p.id);
    node_of[k] = node_for(RedisEndpoint{p.host.empty() ? seed_.host : p.host, static_cast<uint16_t>(p.port)});
    tallies_[nodes_[node_of[k]].tally].id = p.id;
    primaries.push_back(node_of[k]);
  }
  std::vector<uint32_t> owner(kClusterSlots, kNoNode);
  for (size_t slot = 0; slot < kClusterSlots; ++slot) owner[slot] = static_cast<uint32_t>(node_of[topology.owner[slot]]);
  set_topology(std::move(owner), primaries);
  return "";
}

// CLUSTER SLOTS: [[first, last, [host, port, id, ...], replicas...], ...].
void RestoreOutput::apply_topology(const RedisReply& r, const std::string& from) {
  if (r.is_error() || r.kind != RedisReply::Kind::kArray)
    stop(Errc::kTargetRefused, fmt::format("{}: CLUSTER SLOTS answered {}", from, r.describe()));
  std::vector<uint32_t> owner(kClusterSlots, kNoNode);
  std::vector<size_t> primaries;
  for (const RedisReply& range : r.elements) {
    if (range.elements.size() < 3 || range.elements[0].kind != RedisReply::Kind::kInteger ||
        range.elements[1].kind != RedisReply::Kind::kInteger || range.elements[2].elements.size() < 2)
      stop(Errc::kTargetRefused, fmt::format("{}: CLUSTER SLOTS: an entry this tool does not understand", from));
    const RedisReply& primary = range.elements[2];
    RedisEndpoint ep{primary.elements[0].str, static_cast<uint16_t>(primary.elements[1].integer)};
    if (ep.host.empty() || ep.host == "?") ep.host = seed_.host;  // a node that does not know its address
    size_t node = node_for(ep);
    if (primary.elements.size() >= 3) tallies_[nodes_[node].tally].id = primary.elements[2].str;
    if (std::find(primaries.begin(), primaries.end(), node) == primaries.end()) primaries.push_back(node);
    long long first = range.elements[0].integer, last = range.elements[1].integer;
    for (long long s = std::max(0LL, first); s <= last && s < kClusterSlots; ++s) owner[static_cast<size_t>(s)] = static_cast<uint32_t>(node);
  }
  set_topology(std::move(owner), primaries);
}

void RestoreOutput::set_topology(std::vector<uint32_t> owner, const std::vector<size_t>& primaries) {
  slot_node_ = std::move(owner);
  for (size_t p : primaries)
    if (std::find(primaries_.begin(), primaries_.end(), p) == primaries_.end()) primaries_.push_back(p);
  topology_stale_ = false;
}

void RestoreOutput::count_keys_before() {
  slot_node_at_start_ = slot_node_;
  for (size_t n : primaries_) {
    RedisReply r = call(n, {"DBSIZE"});
    if (r.kind == RedisReply::Kind::kInteger) tallies_[nodes_[n].tally].dbsize_before = r.integer;
  }
}

int64_t RestoreOutput::total_dbsize_before() const {
  int64_t sum = 0;
  for (size_t n : primaries_) {
    int64_t v = tallies_[nodes_[n].tally].dbsize_before;
    if (v < 0) return -1;
    sum += v;
  }
  return sum;
}

// From the first record on, SIGINT/SIGTERM/SIGHUP stop the restore cleanly (check_stop_signal).
void RestoreOutput::begin(RdbVersion) {
  begun_ = true;
  signals::defer_stop_signals();
}

std::string RestoreOutput::in_flight_summary() const {
  auto count = [](size_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
  };
  if (!settings_.cluster) return "in flight: " + count(in_flight_to(primaries_.front()));
  std::string out = "in flight:";
  for (size_t n : primaries_) out += fmt::format("{} {} {}", n == primaries_.front() ? "" : ",", nodes_[n].endpoint.address(), count(in_flight_to(n)));
  if (!retries_.empty()) out += fmt::format(", {} to retry", count(retries_.size()));
  return out;
}

void RestoreOutput::check_stop_signal() {
  if (failed_) return;
  if (int sig = signals::stop_requested())
    fail(Errc::kInterrupted, fmt::format("stopped by SIG{}: no command was sent after it and the replies in flight were "
                                         "collected",
                                         sigabbrev_np(sig)));
}

// ---- sequence numbers and progress -------------------------------------------------------------

uint64_t RestoreOutput::next_seq(bool with_ttl) {
  check_stop_signal();
  uint64_t seq = next_seq_++;
  if (seq >= progress_.sent_below) {
    progress_.sent_below = seq + std::max<uint64_t>(1, settings_.promise_step);
    save_progress(true);  // the promise is on disk before a record above the old one is sent
  }
  Unsettled u;
  u.outstanding = 1;  // until it is answered, skipped or found expired (settle)
  u.with_ttl = with_ttl;
  unsettled_.push_back(u);
  return seq;
}

bool RestoreOutput::maybe_sent_earlier(uint64_t seq) const {
  if (seq >= settings_.uncertain_below) return false;
  const auto& no = settings_.earlier.not_restored;
  return !std::binary_search(no.begin(), no.end(), seq);
}

void RestoreOutput::mark_not_restored(uint64_t seq) {
  uint64_t base = progress_.acknowledged;
  if (seq >= base && seq - base < unsettled_.size()) unsettled_[seq - base].failed = true;
  not_restored_.push_back(seq);
}

// One answer (or, with outstanding 0, none needed) for a record; the settled prefix grows.
void RestoreOutput::settle(uint64_t seq, bool restored) {
  uint64_t base = progress_.acknowledged;
  if (seq < base || seq - base >= unsettled_.size()) return;
  Unsettled& u = unsettled_[seq - base];
  if (u.outstanding > 0) --u.outstanding;
  u.restored = u.restored || restored;
  while (!unsettled_.empty() && unsettled_.front().outstanding == 0 && !unsettled_.front().failed) {
    if (unsettled_.front().restored) {
      ++progress_.restored;
      if (unsettled_.front().with_ttl) ++progress_.with_ttl;
    }
    unsettled_.pop_front();
    ++progress_.acknowledged;
  }
}

void RestoreOutput::save_progress(bool force) {
  if (!settings_.checkpoint) return;
  auto now = Clock::now();
  if (!force && now - last_saved_ < std::chrono::milliseconds(settings_.checkpoint_interval_ms)) return;
  RestoreProgress p = progress_;
  p.restored += settings_.earlier.restored;
  p.with_ttl += settings_.earlier.with_ttl;
  settings_.checkpoint(p);
  last_saved_ = now;
}

// ---- records -------------------------------------------------------------------------------------

void RestoreOutput::function(Payload& payload) {
  uint64_t seq = next_seq(false);
  if (seq < settings_.resume_below || failed_) {
    payload.skip();
    if (!failed_) ++settled_earlier_, settle(seq, false);
    return;
  }
  // FUNCTION RESTORE takes what FUNCTION DUMP gives: FUNCTION2 records, then the footer.
  payload_.clear();
  payload_.push_back(static_cast<char>(rdb::kOpFunction2));
  payload.copy_to(*payload_sink_);
  payload_sink_->prepare();
  append_dump_footer(payload_, settings_.payload_version);
  std::string_view policy = settings_.existing == ExistingPolicy::kReplace ? "REPLACE" : "APPEND";
  unsettled_.back().outstanding = static_cast<uint32_t>(primaries_.size());
  std::string_view args[] = {"FUNCTION", "RESTORE", payload_, policy};
  for (size_t n : primaries_) {
    Pending p;
    p.function = true;
    p.seq = seq;
    p.target = nodes_[n].endpoint;
    p.maybe_sent = maybe_sent_earlier(seq);
    send(std::move(p), n, args);
  }
}

void RestoreOutput::module_aux(Payload& payload) {
  payload.skip();  // no command restores a module's AUX data: reported
  ++module_aux_;
}

void RestoreOutput::key(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name, Payload& value) {
  uint64_t seq = next_seq(prefix.has_expire);
  if (seq < settings_.resume_below) {
    value.skip();  // settled by an earlier run
    ++settled_earlier_;
    settle(seq, false);
    return;
  }
  if (prefix.has_expire && settings_.now_ms && prefix.expire_ms <= settings_.now_ms()) {
    value.skip();  // a RESTORE with a past ABSTTL answers OK and stores nothing: not sent, counted
    ++expired_at_send_;
    settle(seq, false);
    return;
  }
  if (failed_) {
    value.skip();
    send_key({}, {}, prefix, seq);  // throws once the replies in flight are in
    return;
  }
  payload_.clear();
  payload_.push_back(static_cast<char>(type));
  value.copy_to(*payload_sink_);
  payload_sink_->prepare();
  append_dump_footer(payload_, settings_.payload_version);
  name_.clear();
  for (uint8_t i = 0; i < name.count; ++i) name_.append(name.parts[i]);
  send_key(name_, payload_, prefix, seq);
}

void RestoreOutput::string_key(std::string_view name, std::string_view value) {
  uint64_t seq = next_seq(false);
  if (seq < settings_.resume_below) {
    ++settled_earlier_;
    settle(seq, false);
    return;
  }
  payload_.clear();
  payload_.push_back(static_cast<char>(rdb::kTypeString));
  append_plain_string(payload_, value);
  append_dump_footer(payload_, settings_.payload_version);
  send_key(name, payload_, KeyPrefix{}, seq);
}

void RestoreOutput::send_key(std::string_view name, const std::string& payload, const KeyPrefix& prefix, uint64_t seq) {
  if (failed_) {
    pump_until(0);  // collects what is in flight, then throws the failure
    return;
  }
  if (payload.size() > settings_.max_bulk) {
    fail(Errc::kTargetRefused,
         fmt::format("key {}: its value is {} bytes, more than the target takes in one argument (proto-max-bulk-len "
                     "{}); raise proto-max-bulk-len on the target (CONFIG SET proto-max-bulk-len), or leave the key out",
                     show_key(name), payload.size(), settings_.max_bulk));
    mark_not_restored(seq);
    pump_until(0);
    return;
  }
  Pending p;
  std::string ttl = prefix.has_expire ? std::to_string(prefix.expire_ms) : "0";
  std::string_view args[9];
  size_t n = 0;
  args[n++] = "RESTORE";
  args[n++] = name;
  args[n++] = ttl;
  args[n++] = payload;
  if (settings_.existing == ExistingPolicy::kReplace) args[n++] = "REPLACE";
  if (prefix.has_expire) args[n++] = "ABSTTL";
  std::string hint;
  if (prefix.has_idle) {
    args[n++] = "IDLETIME";
    hint = std::to_string(prefix.idle);
    args[n++] = hint;
  } else if (prefix.has_freq) {
    args[n++] = "FREQ";
    hint = std::to_string(prefix.freq);
    args[n++] = hint;
  }
  p.expire_ms = prefix.has_expire ? prefix.expire_ms : 0;
  p.seq = seq;
  p.maybe_sent = maybe_sent_earlier(seq);
  if (&payload == &payload_ && payload.size() >= kLargeCommand) {
    // The command around the payload, in the payload's own buffer (args[3] is the payload).
    p.command = std::move(payload_);
    payload_.clear();
    wrap_command(p.command, std::span<const std::string_view>(args, n), 3);
    n = 0;  // sent as a whole command
  }
  size_t node = 0;
  if (settings_.cluster) {
    p.slot = key_hash_slot(name);
    node = slot_node_[p.slot];
    if (node == kNoNode) {
      read_topology();
      node = slot_node_[p.slot];
      if (node == kNoNode)
        stop(Errc::kTargetUnavailable,
             fmt::format("key {}: its slot {} has no primary in the cluster ({}); fix the cluster "
                         "(cluster_state must be ok) and rerun",
                         show_key(name), p.slot, topology_source_));
    }
  } else {
    node = primaries_.front();
  }
  send(std::move(p), node, std::span<const std::string_view>(args, n));
}

// ---- sending and receiving -----------------------------------------------------------------------

bool RestoreOutput::send(Pending p, size_t node, std::span<const std::string_view> args) {
  node = lane_for(node);
  if (args.empty() && !p.asking && p.command.size() >= kLargeCommand) drain(node);
  try {
    connection(node);
  } catch (const Error& e) {
    // A new connection closed before it was ready (CLIENT KILL, a restarting node): tried again
    // after a back-off, bounded as the pipeline's reconnects.
    if (e.code() != Errc::kTargetUnavailable || failed_ || ++nodes_[node].reconnects_in_a_row > settings_.max_reconnects)
      throw;
    int backoff = std::min(2000, 50 << std::min(nodes_[node].reconnects_in_a_row, 5));
    if (!args.empty()) append_command(p.command, args);
    retries_.push_back(Retry{Clock::now() + std::chrono::milliseconds(backoff), std::move(p)});
    return false;
  }
  RedisConnection& c = *nodes_[node].conn;
  if (p.asking) {
    append_command(c.out(), {"ASKING"});
    c.end_command();
  }
  if (args.empty()) {
    p.size = p.command.size();
    c.append_whole(p.command);  // the connection holds it now
  } else {
    size_t before = c.out().size();
    append_command(c.out(), args);
    p.size = c.out().size() - before;
  }
  c.end_command();
  bytes_in_flight_ += p.size;
  nodes_[node].bytes_in_flight += p.size;
  bytes_sent_ += p.size;
  sent_high_ = std::max(sent_high_, p.seq + 1);
  appended_since_pump_ += p.size;
  nodes_[node].in_flight.push_back(std::move(p));
  // Now and then (not at every key: a full socket would make that a busy loop), what can be
  // written is written and the replies that came are taken, without waiting.
  if (appended_since_pump_ >= (size_t{256} << 10)) pump_once(0);
  if (bytes_in_flight_ > settings_.window_bytes) pump_until(settings_.window_bytes / 2);
  return true;
}

void RestoreOutput::drain(size_t node) {
  while (!failed_ && nodes_[node].conn && !nodes_[node].in_flight.empty()) {
    pump_once(100);
    check_stop_signal();
  }
}

void RestoreOutput::pump_until(size_t limit) {
  while (bytes_in_flight_ > limit || (limit == 0 && !retries_.empty() && !failed_) || (failed_ && !draining_)) {
    int wait = 100;
    if (!retries_.empty() && bytes_in_flight_ == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(retries_.front().due - Clock::now()).count();
      wait = static_cast<int>(std::clamp<long long>(left, 0, 1000));
    }
    pump_once(wait);
    check_stop_signal();
  }
}

void RestoreOutput::take_replies(size_t i) {
  RedisReply reply;
  std::string_view command;
  while (nodes_[i].conn && nodes_[i].conn->take_reply(reply, &command)) {
    last_progress_ = Clock::now();
    nodes_[i].reconnects_in_a_row = 0;
    Pending& front = nodes_[i].in_flight.front();
    if (front.asking) {  // the reply to ASKING
      front.asking = false;
      if (reply.is_error())
        fail(Errc::kTargetRefused, fmt::format("{}: ASKING answered {}", nodes_[i].endpoint.address(), reply.describe()));
      continue;
    }
    Pending p = std::move(front);
    nodes_[i].in_flight.pop_front();
    bytes_in_flight_ -= p.size;
    nodes_[i].bytes_in_flight -= p.size;
    handle(i, std::move(p), reply, command);
  }
}

// The connection to a node broke: what it answered is taken, the rest is sent again (after a
// back-off, on a new connection) and may find its key already there (maybe_sent).
void RestoreOutput::connection_broke(size_t i, const Error& why) {
  take_replies(i);
  Node& n = nodes_[i];  // (taken after the replies: handling one may add a node)
  // What was not answered is copied out of the connection, to be resent.
  std::vector<std::string_view> commands;
  if (n.conn) commands = n.conn->unanswered();
  size_t k = 0;
  for (Pending& p : n.in_flight) {
    if (p.asking) ++k;  // its ASKING
    if (k >= commands.size()) stop(Errc::kInternal, "the commands in flight and those of the connection differ");
    p.command.assign(commands[k++]);
  }
  n.conn.reset();
  if (failed_ || ++n.reconnects_in_a_row > settings_.max_reconnects)
    stop(Errc::kTargetUnavailable,
         fmt::format("{}{}", why.what(),
                     failed_ ? "" : fmt::format(" (after {} reconnects in a row)", settings_.max_reconnects)));
  ++tallies_[n.tally].reconnects;
  int backoff = std::min(2000, 50 << std::min(n.reconnects_in_a_row, 5));
  auto due = Clock::now() + std::chrono::milliseconds(backoff);
  while (!n.in_flight.empty()) {
    Pending p = std::move(n.in_flight.front());
    n.in_flight.pop_front();
    bytes_in_flight_ -= p.size;
    n.bytes_in_flight -= p.size;
    p.asking = false;
    p.maybe_sent = true;
    retries_.push_back(Retry{due, std::move(p)});
  }
  if (settings_.cluster) topology_stale_ = true;  // a failover may be why
}

void RestoreOutput::pump_once(int timeout_ms) {
  appended_since_pump_ = 0;
  std::vector<pollfd> fds;
  std::vector<size_t> which;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].conn) continue;
    try {
      nodes_[i].conn->flush();  // writes what it can without waiting
    } catch (const Error& e) {
      if (e.code() != Errc::kTargetUnavailable) throw;
      connection_broke(i, e);
      continue;
    }
    short ev = nodes_[i].conn->poll_events();
    if (ev == 0) continue;
    fds.push_back(pollfd{nodes_[i].conn->fd(), ev, 0});
    which.push_back(i);
  }
  if (!fds.empty()) {
    int rc = ::poll(fds.data(), fds.size(), timeout_ms);
    if (rc > 0)
      for (size_t k = 0; k < fds.size(); ++k) {
        if (!fds[k].revents || !nodes_[which[k]].conn) continue;
        try {
          nodes_[which[k]].conn->on_ready(fds[k].revents);
        } catch (const Error& e) {
          if (e.code() != Errc::kTargetUnavailable) throw;
          connection_broke(which[k], e);
        }
      }
  } else if (timeout_ms > 0 && !retries_.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, 50)));
  }
  for (size_t i = 0; i < nodes_.size(); ++i) take_replies(i);
  auto now = Clock::now();
  if (bytes_in_flight_ == 0) last_progress_ = now;
  if (now - last_progress_ > std::chrono::milliseconds(settings_.timeout_ms)) {
    std::string waiting;
    for (const Node& n : nodes_)
      if (!n.in_flight.empty()) waiting += fmt::format(" {} ({} commands)", n.endpoint.address(), n.in_flight.size());
    stop(Errc::kTargetUnavailable,
         fmt::format("no reply for {} s from:{}", settings_.timeout_ms / 1000, waiting));
  }
  if (failed_) {
    if (bytes_in_flight_ > 0 || draining_) return;
    draining_ = true;  // everything that was in flight is in: the counts are exact now
    // Exact now: nothing at or above sent_high_ was sent, and of what was, these are not there.
    progress_.sent_below = std::max(progress_.acknowledged, sent_high_);
    std::sort(not_restored_.begin(), not_restored_.end());
    for (uint64_t seq : not_restored_)
      if (seq >= progress_.acknowledged && seq < progress_.sent_below) progress_.not_restored.push_back(seq);
    save_progress(true);
    stop(fail_code_, fmt::format("{}; {} keys were restored", fail_what_, restored_so_far()));
  }
  if (topology_stale_) read_topology();
  resend_due();
  save_progress(false);
}

void RestoreOutput::resend_due() {
  auto now = Clock::now();
  while (!failed_ && !retries_.empty() && retries_.front().due <= now) {
    Pending p = std::move(retries_.front().p);
    retries_.pop_front();
    size_t node = settings_.cluster ? slot_node_[p.slot] : primaries_.front();
    if (node == kNoNode) node = primaries_.front();
    if (p.function) node = std::find_if(nodes_.begin(), nodes_.end(), [&](const Node& n) { return n.endpoint == p.target; }) - nodes_.begin();
    if (!send(std::move(p), node)) return;  // that node cannot be reached yet: later
  }
}

void RestoreOutput::fail(Errc code, std::string what) {
  if (failed_) return;
  failed_ = true;
  fail_code_ = code;
  fail_what_ = std::move(what);
  for (const Retry& r : retries_) mark_not_restored(r.p.seq);  // not sent again: not in the target
  retries_.clear();
}

namespace {
// A server's error text without its closing period, for a message that goes on after it.
std::string_view trim_period(std::string_view text) {
  while (!text.empty() && text.back() == '.') text.remove_suffix(1);
  return text;
}
}  // namespace

void RestoreOutput::handle(size_t node, Pending p, const RedisReply& reply, std::string_view command) {
  NodeTally& t = tallies_[nodes_[node].tally];
  const std::string& where = t.address;
  if (!reply.is_error()) {
    if (p.function) {
      ++t.functions;
      settle(p.seq, false);
    } else {
      ++t.restored;
      if (p.expire_ms != 0 && settings_.now_ms && p.expire_ms < settings_.now_ms() + 600000) ++t.expiring;
      settle(p.seq, true);
    }
    return;
  }
  auto failed_here = [&] { mark_not_restored(p.seq); };
  std::string_view code = reply.error_code();
  bool exists = code == "BUSYKEY" || (p.function && reply.str.find("already exists") != std::string::npos);
  if (exists && (p.maybe_sent || settings_.existing == ExistingPolicy::kSkip)) {
    // Skipped; or an interrupted run or a broken connection may have restored it: taken as
    // restored (the key counts at the end tell if it was there before).
    if (p.function) ++t.functions_existing;
    else ++(p.maybe_sent ? t.found_restored : t.skipped_existing);
    settle(p.seq, p.maybe_sent && !p.function);
    return;
  }
  if (failed_) {  // draining: an answer is settled or not, nothing is resent
    failed_here();
    return;
  }
  std::string what = p.function ? std::string("a function library") : "key " + show_key(restore_key_of(command));
  if (exists) {
    failed_here();
    fail(Errc::kTargetKeyExists,
         fmt::format("{} is already in the target ({}: {}). Nothing is overwritten with --existing error: rerun with "
                     "--existing skip (keep what the target has) or --existing replace",
                     what, where, reply.str));
    return;
  }
  if (code == "MOVED" || code == "ASK") {
    uint16_t slot = 0;
    RedisEndpoint to;
    if (!settings_.cluster) {
      failed_here();
      return fail(Errc::kTargetRefused,
                  fmt::format("{} answered {} to {}: the target is a cluster; rerun with --cluster", where, reply.str, what));
    }
    if (!parse_redirect(reply.str, slot, to)) {
      failed_here();
      return fail(Errc::kTargetRefused, fmt::format("{}: a redirection this tool does not understand: {}", where, reply.str));
    }
    ++t.redirects;
    if (++p.attempts > 100) {
      failed_here();
      return fail(Errc::kTargetUnavailable, fmt::format("{}: redirected 100 times ({}); the cluster is not settling", what, reply.str));
    }
    size_t target = node_for(to);
    if (code == "MOVED") {
      slot_node_[slot] = static_cast<uint32_t>(target);
      topology_stale_ = true;
      p.asking = false;
    } else {
      p.asking = true;
    }
    p.command.assign(command);
    send(std::move(p), target);
    return;
  }
  if (code == "TRYAGAIN" || code == "CLUSTERDOWN" || code == "LOADING" || code == "BUSY" || code == "MASTERDOWN") {
    ++t.retries;
    if (p.attempts >= settings_.max_attempts) {
      failed_here();
      return fail(Errc::kTargetUnavailable,
                  fmt::format("{} answered {} to {} {} times; giving up", where, reply.str, what, p.attempts));
    }
    int backoff = std::min(1000, 10 << std::min(p.attempts, 7));
    ++p.attempts;
    p.asking = false;
    p.target = nodes_[node].endpoint;
    p.command.assign(command);
    retries_.push_back(Retry{Clock::now() + std::chrono::milliseconds(backoff), std::move(p)});
    return;
  }
  failed_here();
  if (code == "OOM")
    return fail(Errc::kTargetRefused,
                fmt::format("{} is out of memory (maxmemory) at {}: {}. Give it room (CONFIG SET maxmemory, or more "
                            "shards), then continue",
                            where, what, trim_period(reply.str)));
  if (code == "NOAUTH" || code == "WRONGPASS" || code == "NOPERM")
    return fail(Errc::kTargetRefused,
                fmt::format("{} refused {}: {}. The user needs RESTORE (and FUNCTION, DBSIZE, INFO, CLUSTER for a "
                            "cluster) on every key: e.g. ACL SETUSER restorer on >PASSWORD ~* +@all",
                            where, what, reply.str));
  fail(Errc::kTargetRefused,
       fmt::format("{} answered \"{}\" to RESTORE of {}{}", where, reply.str, what,
                   reply.str.find("payload") != std::string::npos
                       ? fmt::format(" (DUMP footer version {}: the target may be older than the data)",
                                     settings_.payload_version)
                       : ""));
}

void RestoreOutput::end() {
  pump_until(0);
  if (settings_.cluster) {
    // Slots that moved while keys were sent (a resharding, a failover) carry keys from one
    // primary to another: then only the primaries' total can be checked (count_check).
    read_topology();
    slots_moved_ = slot_node_ != slot_node_at_start_;
    for (const NodeTally& t : tallies_) slots_moved_ = slots_moved_ || t.redirects > 0;
  }
  for (size_t n : primaries_) {
    RedisReply r = call(n, {"DBSIZE"});
    if (r.kind == RedisReply::Kind::kInteger) tallies_[nodes_[n].tally].dbsize_after = r.integer;
  }
  progress_.complete = unsettled_.empty();
  save_progress(true);
}

uint64_t RestoreOutput::restored_so_far() const {
  uint64_t n = 0;
  for (const NodeTally& t : tallies_) n += t.restored;
  return n;
}

// Every key the output took: answered by the target (restored, already there and skipped with
// --existing skip, or found restored by an interrupted run), expired before its turn (not sent),
// or settled by an earlier run. The converter checks this against the keys it handed over.
uint64_t RestoreOutput::keys_written() const {
  uint64_t n = expired_at_send_ + settled_earlier_;
  for (const NodeTally& t : tallies_) n += t.restored + t.skipped_existing + t.found_restored;
  return n;
}

// Per primary, this run: the keys added are those acknowledged, less those that may have expired
// meanwhile, plus at most the keys found restored after a reconnect (delivered before the
// connection broke). Over all primaries and runs, when everything is settled: the keys added
// since before the first run are those restored, each counted once (a key found "restored" that
// was in fact there before shows here).
std::string RestoreOutput::count_check() const {
  if (settings_.existing == ExistingPolicy::kReplace) return "";  // a replaced key adds nothing: not checkable
  std::string out;
  int64_t after_total = 0, expiring = 0;
  bool all_known = true;
  for (size_t n : primaries_) {
    const NodeTally& t = tallies_[nodes_[n].tally];
    if (t.dbsize_before < 0 || t.dbsize_after < 0) {
      all_known = false;
      continue;
    }
    after_total += t.dbsize_after;
    expiring += static_cast<int64_t>(t.expiring);
    if (slots_moved_) continue;
    int64_t added = t.dbsize_after - t.dbsize_before;
    int64_t least = static_cast<int64_t>(t.restored) - static_cast<int64_t>(t.expiring);
    int64_t most = static_cast<int64_t>(t.restored + t.found_restored);
    if (added < least || added > most)
      out += fmt::format("{}: {} keys acknowledged{}{}, but DBSIZE went from {} to {} (+{}); ", t.address, t.restored,
                         t.found_restored ? fmt::format(" (and {} found restored)", t.found_restored) : "",
                         t.expiring ? fmt::format(" ({} of them expire soon)", t.expiring) : "", t.dbsize_before,
                         t.dbsize_after, added);
  }
  int64_t before = settings_.dbsize_before >= 0 ? settings_.dbsize_before : total_dbsize_before();
  if (before >= 0 && all_known && progress_.complete && out.empty()) {
    int64_t restored = static_cast<int64_t>(progress_.restored + settings_.earlier.restored);
    int64_t tolerance = settings_.dbsize_before >= 0
                            ? static_cast<int64_t>(progress_.with_ttl + settings_.earlier.with_ttl)  // runs apart in time
                            : expiring;
    int64_t added = after_total - before;
    if (added > restored || added < restored - tolerance)
      out += fmt::format("{} keys were restored{}, but the primaries' DBSIZE went from {} to {} (+{}): a key taken as "
                         "restored by an interrupted run or before a reconnect was in the target before; ",
                         restored, settings_.dbsize_before >= 0 ? " over all runs" : "", before, after_total, added);
  }
  return out;
}

void RestoreOutput::stop(Errc code, const std::string& what) const { throw Error(code, what); }

}  // namespace rdbrekey
