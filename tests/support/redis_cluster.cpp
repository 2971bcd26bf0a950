#include "redis_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "redis_server.h"

namespace rdbrekey::test {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSlots = 16384;

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool has_flag(const std::string& flags, const std::string& flag) {
  std::istringstream in(flags);
  std::string f;
  while (std::getline(in, f, ','))
    if (f == flag) return true;
  return false;
}

// One line of CLUSTER NODES.
struct NodesLine {
  std::string id;
  std::string address;  // ip:port@cport[,hostname]
  int port = 0;
  std::string flags;
  std::string primary;  // "-" for a primary
  std::string link;
  std::vector<SlotRange> slots;
  std::vector<std::string> open_slots;  // [slot->-id] migrating, [slot-<-id] importing
};

std::vector<NodesLine> parse_nodes(const std::string& text) {
  std::vector<NodesLine> out;
  for (const auto& line : lines_of(text)) {
    std::vector<std::string> f = split_ws(line);
    if (f.size() < 8) continue;  // e.g. the "vars" line of a nodes.conf
    NodesLine n;
    n.id = f[0];
    n.address = f[1];
    size_t colon = n.address.rfind(':', n.address.find('@'));
    if (colon != std::string::npos) n.port = std::atoi(n.address.c_str() + colon + 1);
    n.flags = f[2];
    n.primary = f[3];
    n.link = f[7];
    n.slots = parse_slot_fields(std::vector<std::string>(f.begin() + 8, f.end()));
    for (size_t i = 8; i < f.size(); ++i)
      if (!f[i].empty() && f[i][0] == '[') n.open_slots.push_back(f[i]);
    out.push_back(std::move(n));
  }
  return out;
}

std::string show_ranges(const std::vector<SlotRange>& r) {
  std::string s;
  for (const auto& x : r) s += (s.empty() ? "" : " ") + std::to_string(x.first) + "-" + std::to_string(x.last);
  return s.empty() ? "(none)" : s;
}

std::string lookup_in_path(const std::string& name, const std::string& fallback) {
  if (const char* path = std::getenv("PATH"); path && *path) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      std::string dir = p.substr(start, end - start);
      if (!dir.empty()) {
        std::string cand = dir + "/" + name;
        if (::access(cand.c_str(), X_OK) == 0) return cand;
      }
      start = end + 1;
    }
  }
  return fallback;
}

std::string read_or_empty(const std::string& path) {
  try {
    return read_file(path);
  } catch (...) {
    return {};
  }
}

// Polls `check` (which fills `why` when it fails) every 50 ms until it holds, the deadline
// passes or `*give_up` is set; returns whether it held, and the last reason in `why`.
template <typename Check>
bool poll_until(int timeout_s, Check check, std::string& why, const bool* give_up = nullptr) {
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    why.clear();
    try {
      if (check(why)) return true;
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (Clock::now() > deadline || (give_up && *give_up)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

std::string redis_cli_binary() {
  if (const char* env = std::getenv("RDBREKEY_REDIS_CLI"); env && *env) return env;
  return lookup_in_path("redis-cli", "/usr/bin/redis-cli");
}

std::vector<SlotRange> parse_slot_fields(const std::vector<std::string>& fields) {
  std::vector<SlotRange> out;
  for (const auto& f : fields) {
    if (f.empty() || f[0] == '[') continue;  // [slot->-id] / [slot-<-id]: migrating, importing
    size_t dash = f.find('-');
    SlotRange r;
    r.first = std::stoi(f.substr(0, dash));
    r.last = dash == std::string::npos ? r.first : std::stoi(f.substr(dash + 1));
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  return out;
}

std::string info_field(const std::string& info, const std::string& name) {
  for (const auto& line : lines_of(info))
    if (line.compare(0, name.size() + 1, name + ":") == 0) return line.substr(name.size() + 1);
  return {};
}

// ---------------------------------------------------------------------------------------------
// ClusterNode

ClusterNode::ClusterNode(std::string binary, std::string dir, int port, int bus_port, std::vector<std::string> args)
    : binary_(std::move(binary)),
      dir_(std::move(dir)),
      log_path_(dir_ + "/node.log"),
      port_(port),
      bus_port_(bus_port),
      extra_args_(std::move(args)) {}

ClusterNode::~ClusterNode() { stop(5); }

std::string ClusterNode::log() const { return read_or_empty(log_path_); }

bool ClusterNode::owns(int slot) const {
  for (const auto& r : slots_)
    if (slot >= r.first && slot <= r.last) return true;
  return false;
}

std::string ClusterNode::start(int timeout_s) {
  if (pid_ > 0) return "node " + address() + " is already running";
  std::vector<std::string> argv = {binary_,
                                   "--port", std::to_string(port_),
                                   "--cluster-port", std::to_string(bus_port_),
                                   "--bind", "127.0.0.1",
                                   "--dir", dir_,
                                   "--dbfilename", "dump.rdb",
                                   "--logfile", log_path_,
                                   "--cluster-enabled", "yes",
                                   "--cluster-config-file", "nodes.conf",
                                   "--appendonly", "no",
                                   "--save", "",
                                   "--daemonize", "no",
                                   "--protected-mode", "no",
                                   // A full sync starts at once instead of waiting for more
                                   // replicas (default 5 s).
                                   "--repl-diskless-sync-delay", "0",
                                   // No replica takes over while its primary is down.
                                   "--cluster-replica-no-failover", "yes"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());

  std::string spawn_error;
  pid_t pid = spawn_logged(std::move(argv), log_path_, spawn_error);
  if (pid < 0) return spawn_error;
  pid_ = pid;
  exit_status_ = -1;

  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  std::string last;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_status_ = status_code(status);
      return binary_ + " (" + address() + ") " + describe_status(status) + " before answering PING; log tail:\n" +
             tail_lines(log(), 25);
    }
    try {
      RespClient c(port_, 5);
      Reply r = c.cmd({"PING"});
      if (r.is_status() && r.str == "PONG") return {};
      last = to_string(r);  // -LOADING
    } catch (const std::exception& e) {
      last = e.what();
    }
    if (Clock::now() > deadline) {
      stop(2);
      return binary_ + " (" + address() + ") did not answer PING within " + std::to_string(timeout_s) +
             " s (last: " + last + "); log tail:\n" + tail_lines(log(), 25);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ClusterNode::signal_stop() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

bool ClusterNode::wait_exit(double timeout_s) {
  if (pid_ <= 0) return true;
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  for (;;) {
    int status = 0;
    pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_ || (w < 0 && errno == ECHILD)) {
      exit_status_ = w == pid_ ? status_code(status) : -1;
      pid_ = -1;
      return true;
    }
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int ClusterNode::stop(int timeout_s) {
  if (pid_ <= 0) return exit_status_;
  signal_stop();
  if (!wait_exit(timeout_s)) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    exit_status_ = status_code(status);
  }
  return exit_status_;
}

// ---------------------------------------------------------------------------------------------
// RedisCluster

RedisCluster::RedisCluster(RedisClusterOptions options) : options_(std::move(options)) {
  if (options_.server_binary.empty()) options_.server_binary = redis_server_binary();
  if (options_.cli_binary.empty()) options_.cli_binary = redis_cli_binary();
  if (options_.primaries < 1 || options_.replicas_per_primary < 0)
    throw std::invalid_argument("RedisCluster: at least one primary, no negative replica count");
  dir_ = std::make_unique<TempDir>();
  try {
    start_nodes();
    create();
    learn_roles();
    wait_until_healthy();
    wait_for_replicas_in_sync();
  } catch (...) {
    stop(2);
    throw;
  }
}

RedisCluster::~RedisCluster() { stop(); }

void RedisCluster::start_nodes() {
  const int total = options_.primaries * (1 + options_.replicas_per_primary);
  std::set<int> used;
  auto fresh_port = [&] {
    for (;;) {
      int p = pick_free_port();
      // Both the client port and the bus port are picked (the default bus port, port + 10000,
      // may be out of range or taken), all of them distinct.
      if (used.insert(p).second) return p;
    }
  };
  for (int i = 0; i < total; ++i) {
    std::string dir = dir_->path() + "/node-" + std::to_string(i + 1);
    std::string err;
    for (int attempt = 0; attempt < 5; ++attempt) {
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      auto node = std::make_unique<ClusterNode>(options_.server_binary, dir, fresh_port(), fresh_port(),
                                                options_.extra_args);
      err = node->start(options_.timeout_s);
      if (err.empty()) {
        nodes_.push_back(std::move(node));
        break;
      }
      // Someone took a port between pick_free_port() and the bind: try other ports.
      if (err.find("in use") == std::string::npos) break;
    }
    if (!err.empty()) throw std::runtime_error("RedisCluster: cannot start node " + std::to_string(i + 1) + ": " + err);
  }
}

void RedisCluster::create() {
  std::vector<std::string> argv = {options_.cli_binary, "--cluster", "create"};
  for (const auto& n : nodes_) argv.push_back(n->address());
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(options_.replicas_per_primary), "--cluster-yes"});
  RunResult r = run(argv, options_.timeout_s);
  if (r.exit_code != 0 || r.out.find("All 16384 slots covered") == std::string::npos)
    throw std::runtime_error(fail_message("redis-cli --cluster create failed (exit " + std::to_string(r.exit_code) +
                                          ")\nstdout:\n" + r.out + "\nstderr:\n" + r.err));
}

void RedisCluster::learn_roles() {
  // Each node's own "myself" line is authoritative for its role; other nodes learn it by gossip
  // (wait_until_healthy waits for them to agree).
  const size_t want_replicas = static_cast<size_t>(options_.primaries * options_.replicas_per_primary);
  std::string why;
  bool ok = poll_until(options_.timeout_s, [&](std::string& w) {
    size_t primaries = 0, replicas = 0;
    for (auto& n : nodes_) {
      RespClient c = n->connect(5);
      n->id_ = c.ok({"CLUSTER", "MYID"}).text();
      for (const auto& line : parse_nodes(c.ok({"CLUSTER", "NODES"}).text())) {
        if (!has_flag(line.flags, "myself")) continue;
        if (has_flag(line.flags, "master") && !line.slots.empty()) {
          n->primary_id_.clear();
          n->slots_ = line.slots;
          ++primaries;
        } else if (has_flag(line.flags, "slave") && line.primary != "-") {
          n->primary_id_ = line.primary;
          n->slots_.clear();
          ++replicas;
        } else {
          w = n->address() + " is neither a primary with slots nor a replica yet (" + line.flags + ")";
          return false;
        }
      }
    }
    if (primaries != static_cast<size_t>(options_.primaries) || replicas != want_replicas) {
      w = std::to_string(primaries) + " primaries and " + std::to_string(replicas) + " replicas";
      return false;
    }
    return true;
  }, why);
  if (!ok) throw std::runtime_error(fail_message("the cluster's roles did not settle: " + why));
  for (const auto* p : primaries())
    if (replicas_of(p->id()).size() != static_cast<size_t>(options_.replicas_per_primary))
      throw std::runtime_error(fail_message("primary " + p->address() + " has " +
                                            std::to_string(replicas_of(p->id()).size()) + " replicas"));
}

std::vector<const ClusterNode*> RedisCluster::nodes() const {
  std::vector<const ClusterNode*> out;
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::vector<const ClusterNode*> RedisCluster::primaries() const {
  std::vector<const ClusterNode*> out;
  for (const auto& n : nodes_)
    if (n->is_primary()) out.push_back(n.get());
  std::sort(out.begin(), out.end(), [](const ClusterNode* a, const ClusterNode* b) {
    int fa = a->slots().empty() ? kSlots : a->slots().front().first;
    int fb = b->slots().empty() ? kSlots : b->slots().front().first;
    return fa < fb;
  });
  return out;
}

std::vector<const ClusterNode*> RedisCluster::replicas_of(const std::string& primary_id) const {
  std::vector<const ClusterNode*> out;
  for (const auto& n : nodes_)
    if (!n->is_primary() && n->primary_id() == primary_id) out.push_back(n.get());
  return out;
}

const ClusterNode& RedisCluster::node(const std::string& id) const {
  for (const auto& n : nodes_)
    if (n->id() == id) return *n;
  throw std::runtime_error("RedisCluster: no node with id " + id);
}

ClusterNode& RedisCluster::mutable_node(const std::string& id) {
  for (auto& n : nodes_)
    if (n->id() == id) return *n;
  throw std::runtime_error("RedisCluster: no node with id " + id);
}

const ClusterNode& RedisCluster::node_at_port(int port) const {
  for (const auto& n : nodes_)
    if (n->port() == port) return *n;
  throw std::runtime_error("RedisCluster: no node on port " + std::to_string(port));
}

const ClusterNode& RedisCluster::owner_of_slot(int slot) const {
  for (const auto& n : nodes_)
    if (n->is_primary() && n->owns(slot)) return *n;
  throw std::runtime_error("RedisCluster: no primary owns slot " + std::to_string(slot));
}

std::string RedisCluster::cluster_nodes(const std::string& from_id) const {
  const ClusterNode& n = from_id.empty() ? *primaries().front() : node(from_id);
  RespClient c = n.connect();
  return c.ok({"CLUSTER", "NODES"}).text();
}

RunResult RedisCluster::cli_node(const std::string& node_id, const std::vector<std::string>& args) const {
  const ClusterNode& n = node_id.empty() ? *primaries().front() : node(node_id);
  std::vector<std::string> argv = {options_.cli_binary, "-h", "127.0.0.1", "-p", std::to_string(n.port())};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, options_.timeout_s);
}

RunResult RedisCluster::cli(const std::vector<std::string>& args, const std::string& via_id) const {
  std::vector<std::string> a = {"-c"};
  a.insert(a.end(), args.begin(), args.end());
  return cli_node(via_id, a);
}

namespace {
std::string checked(const RunResult& r, const std::string& what) {
  if (r.exit_code != 0 || r.out.empty())
    throw std::runtime_error(what + " failed: exit " + std::to_string(r.exit_code) + "\n" + r.out + r.err);
  return r.out;
}
}  // namespace

std::string RedisCluster::cluster_shards_text() const {
  return checked(cli_node({}, {"--no-raw", "CLUSTER", "SHARDS"}), "redis-cli --no-raw CLUSTER SHARDS");
}

std::string RedisCluster::cluster_shards_raw() const {
  return checked(cli_node({}, {"--raw", "CLUSTER", "SHARDS"}), "redis-cli --raw CLUSTER SHARDS");
}

std::string RedisCluster::cluster_shards_json() const {
  return checked(cli_node({}, {"--json", "CLUSTER", "SHARDS"}), "redis-cli --json CLUSTER SHARDS");
}

bool RedisCluster::healthy(std::string* why) const {
  std::string reason;
  auto fail = [&](const std::string& s) {
    if (why) *why = s;
    return false;
  };
  const size_t total = nodes_.size();
  for (const auto& n : nodes_) {
    if (!n->running()) return fail(n->address() + " is not running");
    try {
      RespClient c = n->connect(5);
      std::string info = c.ok({"CLUSTER", "INFO"}).text();
      if (info_field(info, "cluster_state") != "ok")
        return fail(n->address() + ": cluster_state:" + info_field(info, "cluster_state"));
      if (info_field(info, "cluster_slots_assigned") != std::to_string(kSlots) ||
          info_field(info, "cluster_slots_ok") != std::to_string(kSlots))
        return fail(n->address() + ": cluster_slots_assigned:" + info_field(info, "cluster_slots_assigned") +
                    " cluster_slots_ok:" + info_field(info, "cluster_slots_ok"));
      if (info_field(info, "cluster_known_nodes") != std::to_string(total))
        return fail(n->address() + ": cluster_known_nodes:" + info_field(info, "cluster_known_nodes"));
      std::vector<NodesLine> view = parse_nodes(c.ok({"CLUSTER", "NODES"}).text());
      if (view.size() != total) return fail(n->address() + " lists " + std::to_string(view.size()) + " nodes");
      for (const auto& line : view) {
        const ClusterNode* other = nullptr;
        for (const auto& m : nodes_)
          if (m->id() == line.id) other = m.get();
        if (!other) return fail(n->address() + " lists an unknown node " + line.id);
        const std::string where = n->address() + "'s view of " + other->address() + ": ";
        for (const char* bad : {"fail", "fail?", "handshake", "noaddr"})
          if (has_flag(line.flags, bad)) return fail(where + "flags " + line.flags);
        if (line.link != "connected") return fail(where + "link " + line.link);
        if (!line.open_slots.empty()) return fail(where + "slot in migration " + line.open_slots.front());
        if (line.port != other->port()) return fail(where + "address " + line.address);
        if (other->is_primary()) {
          if (!has_flag(line.flags, "master")) return fail(where + "not a primary (" + line.flags + ")");
          if (line.slots != other->slots())
            return fail(where + "slots " + show_ranges(line.slots) + " instead of " + show_ranges(other->slots()));
        } else {
          if (!has_flag(line.flags, "slave") || line.primary != other->primary_id())
            return fail(where + "not a replica of " + other->primary_id() + " (" + line.flags + " " + line.primary + ")");
        }
      }
      // CLUSTER SHARDS groups nodes by shard id, which Valkey spreads by gossip of its own: one
      // shard per primary, holding exactly the primary and its replicas. (Valkey 8.0 refuses to
      // start on a nodes.conf written before a replica's shard id agreed with its primary's.)
      Reply shards = c.ok({"CLUSTER", "SHARDS"});
      if (shards.elements.size() != static_cast<size_t>(options_.primaries))
        return fail(n->address() + ": CLUSTER SHARDS lists " + std::to_string(shards.elements.size()) + " shards");
      for (const Reply& shard : shards.elements) {
        std::set<std::string> ids;
        for (size_t i = 0; i + 1 < shard.elements.size(); i += 2) {
          if (shard.elements[i].str != "nodes") continue;
          for (const Reply& node : shard.elements[i + 1].elements)
            for (size_t j = 0; j + 1 < node.elements.size(); j += 2)
              if (node.elements[j].str == "id") ids.insert(node.elements[j + 1].str);
        }
        const ClusterNode* primary = nullptr;
        for (const auto& id : ids)
          for (const auto& m : nodes_)
            if (m->id() == id && m->is_primary()) primary = m.get();
        std::set<std::string> want;
        if (primary) {
          want.insert(primary->id());
          for (const auto* r : replicas_of(primary->id())) want.insert(r->id());
        }
        if (!primary || ids != want)
          return fail(n->address() + ": CLUSTER SHARDS has a shard of " + std::to_string(ids.size()) +
                      " nodes that is not one primary with its replicas");
      }
    } catch (const std::exception& e) {
      return fail(n->address() + ": " + e.what());
    }
  }
  return true;
}

void RedisCluster::wait_until_healthy() const {
  std::string why;
  bool hopeless = false;
  bool ok = poll_until(options_.timeout_s, [&](std::string& w) {
    if (healthy(&w)) return true;
    // A slot in the importing or migrating state stays so until an operator ends it (a node
    // started with keys of a slot another node owns, on Redis): no use waiting.
    hopeless = w.find("slot in migration") != std::string::npos;
    return false;
  }, why, &hopeless);
  if (!ok) throw std::runtime_error(fail_message(
      hopeless ? "the cluster will not become healthy: " + why
               : "the cluster is not healthy after " + std::to_string(options_.timeout_s) + " s: " + why));
}

void RedisCluster::wait_for_replicas_in_sync() const {
  std::string why;
  bool ok = poll_until(options_.timeout_s, [&](std::string& w) {
    for (const auto* p : primaries()) {
      RespClient pc = p->connect(5);
      std::string pinfo = pc.ok({"INFO", "replication"}).text();
      const std::string replid = info_field(pinfo, "master_replid");
      const long long keys = pc.ok({"DBSIZE"}).as_int();
      for (const auto* r : replicas_of(p->id())) {
        RespClient rc = r->connect(5);
        std::string rinfo = rc.ok({"INFO", "replication"}).text();
        const std::string who = "replica " + r->address() + " of " + p->address() + ": ";
        if (info_field(rinfo, "role") != "slave") {
          w = who + "role:" + info_field(rinfo, "role");
          return false;
        }
        if (info_field(rinfo, "master_port") != std::to_string(p->port())) {
          w = who + "master_port:" + info_field(rinfo, "master_port");
          return false;
        }
        if (info_field(rinfo, "master_link_status") != "up" || info_field(rinfo, "master_sync_in_progress") != "0") {
          w = who + "master_link_status:" + info_field(rinfo, "master_link_status") +
              " master_sync_in_progress:" + info_field(rinfo, "master_sync_in_progress");
          return false;
        }
        if (info_field(rinfo, "master_replid") != replid) {
          w = who + "replication id " + info_field(rinfo, "master_replid") + ", the primary's is " + replid;
          return false;
        }
        const long long rkeys = rc.ok({"DBSIZE"}).as_int();
        if (rkeys != keys) {
          w = who + std::to_string(rkeys) + " keys, the primary has " + std::to_string(keys);
          return false;
        }
      }
    }
    return true;
  }, why);
  if (!ok) throw std::runtime_error(fail_message("replicas not in sync after " + std::to_string(options_.timeout_s) +
                                                 " s: " + why));
}

void RedisCluster::restart_primaries_with(const std::map<std::string, std::string>& rdb_by_node_id) {
  for (const auto& [id, path] : rdb_by_node_id) {
    const ClusterNode& n = node(id);
    if (!n.is_primary()) throw std::runtime_error("restart_primaries_with: " + n.address() + " is not a primary");
    if (!std::filesystem::is_regular_file(path)) throw std::runtime_error("restart_primaries_with: no file " + path);
  }
  // 1. SHUTDOWN NOSAVE: the node exits without writing its (empty) dataset over the file. A
  // primary waits (up to shutdown-timeout) for its replicas to catch up before it exits, so the
  // primaries are asked at once, each from a thread of its own.
  std::vector<std::string> ids;
  for (const auto& [id, path] : rdb_by_node_id) ids.push_back(id);
  std::vector<std::string> replies(ids.size());
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < ids.size(); ++i) {
      threads.emplace_back([this, &ids, &replies, i] {
        try {
          RespClient c = node(ids[i]).connect(30);
          replies[i] = to_string(c.cmd({"SHUTDOWN", "NOSAVE"}));  // any reply: it did not shut down
        } catch (const std::exception&) {
          // The connection closes without a reply: the node is going away.
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ClusterNode& n = mutable_node(ids[i]);
    if (!n.wait_exit(options_.timeout_s)) {
      n.stop(1);
      throw std::runtime_error(fail_message("primary " + n.address() + " did not exit after SHUTDOWN NOSAVE" +
                                            (replies[i].empty() ? "" : " (reply: " + replies[i] + ")")));
    }
    if (n.exit_status_ != 0)
      throw std::runtime_error(fail_message("primary " + n.address() + " exited with status " +
                                            std::to_string(n.exit_status_) + " after SHUTDOWN NOSAVE"));
  }
  // 2. The shard file becomes the node's dump.rdb (AOF is off: the RDB is what is loaded).
  for (const auto& [id, path] : rdb_by_node_id) {
    ClusterNode& n = mutable_node(id);
    std::filesystem::copy_file(path, n.rdb_path(), std::filesystem::copy_options::overwrite_existing);
  }
  // 3. Start again: same port, same directory, same nodes.conf.
  for (const auto& [id, path] : rdb_by_node_id) {
    ClusterNode& n = mutable_node(id);
    std::string err = n.start(options_.timeout_s);
    if (!err.empty()) throw std::runtime_error(fail_message("primary " + n.address() + " did not start again: " + err));
  }
  // 4. Healthy again, and the replicas have the new data.
  wait_until_healthy();
  wait_for_replicas_in_sync();
}

std::string RedisCluster::log_tails(size_t max_lines) const {
  std::string out;
  for (const auto& n : nodes_) {
    out += "--- " + n->address() + " " + (n->id().empty() ? "" : n->id().substr(0, 8) + " ") +
           (n->id().empty() ? "" : n->is_primary() ? "primary" : "replica") + (n->running() ? "" : " (not running)") +
           " " + n->log_path() + "\n";
    out += tail_lines(n->log(), max_lines);
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

std::string RedisCluster::fail_message(const std::string& what) const {
  return "RedisCluster (" + options_.server_binary + "): " + what + "\nnode logs:\n" + log_tails(15);
}

void RedisCluster::stop(int timeout_s) {
  for (auto& n : nodes_) n->signal_stop();
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  for (auto& n : nodes_) {
    double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (!n->wait_exit(std::max(left, 0.0))) n->stop(0);
  }
}

}  // namespace rdbrekey::test
