// A Redis (or Valkey) cluster for end-to-end tests: P primaries with R replicas each, every node
// a server process of its own on 127.0.0.1, a free port and a free cluster-bus port, in a
// temporary directory of its own (nodes.conf, dump.rdb, log), with no persistence of its own
// (save "", appendonly no). The cluster is created by `redis-cli --cluster create` and is healthy
// when the constructor returns. Every process is stopped by PID (SIGTERM, then SIGKILL) in the
// destructor.
//
// The restore runbook of ../shared/spec/cluster.md is restart_primaries_with(): each primary is
// shut down with SHUTDOWN NOSAVE, its shard file becomes its dump.rdb, and it starts again on the
// same port with the same nodes.conf; then the cluster is healthy again and every replica has
// finished a full sync from its restarted primary.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "process.h"
#include "resp_client.h"

namespace rdbrekey::test {

struct RedisClusterOptions {
  // The server executable (redis-server or valkey-server). Empty: redis_server_binary().
  std::string server_binary;
  // The client that creates the cluster and prints CLUSTER SHARDS. Empty: redis_cli_binary().
  std::string cli_binary;
  int primaries = 3;
  int replicas_per_primary = 1;
  // Long, so that no replica is promoted while its primary is down for a restore.
  int node_timeout_ms = 30000;
  // Deadline of each wait: start-up of a node, creation, health after a restart.
  int timeout_s = 60;
  // Extra "--name value" arguments for every node.
  std::vector<std::string> extra_args;
};

// An inclusive range of hash slots.
struct SlotRange {
  int first = 0;
  int last = 0;
  bool operator==(const SlotRange&) const = default;
};

// One server process of the cluster.
class ClusterNode {
 public:
  ClusterNode(std::string binary, std::string dir, int port, int bus_port, std::vector<std::string> args);
  ~ClusterNode();  // stops the process when it still runs
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // The 40-hex node id (known once the node has answered CLUSTER MYID).
  const std::string& id() const { return id_; }
  int port() const { return port_; }
  int bus_port() const { return bus_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  std::string rdb_path() const { return dir_ + "/dump.rdb"; }
  std::string nodes_conf_path() const { return dir_ + "/nodes.conf"; }
  std::string log_path() const { return log_path_; }
  // The whole log of the node (every start of it: the file is appended to).
  std::string log() const;
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // The role the node had when the cluster was created (primaries keep it: no failover).
  bool is_primary() const { return primary_id_.empty(); }
  // The primary of a replica; empty for a primary.
  const std::string& primary_id() const { return primary_id_; }
  // The slots of a primary, sorted.
  const std::vector<SlotRange>& slots() const { return slots_; }
  bool owns(int slot) const;

  // A new connection.
  RespClient connect(int timeout_s = 20) const { return RespClient(port_, timeout_s); }

 private:
  friend class RedisCluster;
  // Starts the process and waits for PONG; returns an empty string, or why it failed.
  std::string start(int timeout_s);
  // SIGTERM, then SIGKILL after timeout_s; returns the exit status.
  int stop(int timeout_s = 10);
  // Sends SIGTERM without waiting (a parallel stop of many nodes).
  void signal_stop();
  // Waits for an exit until the deadline (seconds from now); false when it still runs.
  bool wait_exit(double timeout_s);

  std::string binary_;
  std::string dir_;
  std::string log_path_;
  int port_ = 0;
  int bus_port_ = 0;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::string id_;
  std::string primary_id_;
  std::vector<SlotRange> slots_;
};

class RedisCluster {
 public:
  // Starts the nodes, creates the cluster and waits until it is healthy; throws
  // std::runtime_error (with the tails of the node logs) when it cannot.
  explicit RedisCluster(RedisClusterOptions options = {});
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  const RedisClusterOptions& options() const { return options_; }
  // Every node, in the order they were started.
  std::vector<const ClusterNode*> nodes() const;
  // The primaries in the order of their first slot.
  std::vector<const ClusterNode*> primaries() const;
  std::vector<const ClusterNode*> replicas_of(const std::string& primary_id) const;
  // Throws when there is no such node.
  const ClusterNode& node(const std::string& id) const;
  const ClusterNode& node_at_port(int port) const;
  const ClusterNode& owner_of_slot(int slot) const;

  // CLUSTER NODES as one node (the first primary unless a node id is given) prints it.
  std::string cluster_nodes(const std::string& from_id = {}) const;
  // CLUSTER SHARDS as redis-cli prints it: numbered (--no-raw, what a terminal shows), raw
  // (--raw, what a pipe gets), JSON (--json).
  std::string cluster_shards_text() const;
  std::string cluster_shards_raw() const;
  std::string cluster_shards_json() const;

  // Runs redis-cli against the cluster: `redis-cli -c -h 127.0.0.1 -p <port> args...` (-c:
  // follows MOVED/ASK), from the node with the given id (default: the first primary).
  RunResult cli(const std::vector<std::string>& args, const std::string& via_id = {}) const;
  // redis-cli without -c against one node.
  RunResult cli_node(const std::string& node_id, const std::vector<std::string>& args) const;

  // The restore runbook: SHUTDOWN NOSAVE each primary named, copy its file as the node's
  // dump.rdb, start it again (same port, dir, nodes.conf), then wait until every node reports a
  // healthy cluster with the same roles and slots as before and every replica has finished a
  // full sync from its restarted primary (master_link_status:up, its primary's replication id,
  // same DBSIZE). Throws std::runtime_error with the log tails when a step fails. A primary that
  // is not named is left as it is.
  void restart_primaries_with(const std::map<std::string, std::string>& rdb_by_node_id);

  // Waits until every node says cluster_state:ok, all 16384 slots assigned, every node known
  // and connected, the roles and slots as created, no slot importing or migrating; throws on
  // the deadline.
  void wait_until_healthy() const;
  // Waits until every replica has a link to its primary, is not syncing, shares its primary's
  // replication id (so it has synced from the primary's current run) and holds as many keys;
  // throws on the deadline.
  void wait_for_replicas_in_sync() const;
  // Whether the conditions of wait_until_healthy() hold now; when not, `why` says which.
  bool healthy(std::string* why) const;

  // The tails (max_lines each) of every node's log, headed by the node's address and role.
  std::string log_tails(size_t max_lines = 20) const;

  // Stops every node (SIGTERM to all, then SIGKILL to those still running after timeout_s).
  // Idempotent; called by the destructor.
  void stop(int timeout_s = 10);

 private:
  void start_nodes();
  void create();
  void learn_roles();
  std::string fail_message(const std::string& what) const;
  ClusterNode& mutable_node(const std::string& id);

  RedisClusterOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::vector<std::unique_ptr<ClusterNode>> nodes_;
};

// The redis-cli executable: $RDBREKEY_REDIS_CLI, else redis-cli in PATH, else /usr/bin/redis-cli.
std::string redis_cli_binary();

// Parses "a-b c d-e" slot fields (CLUSTER NODES) into sorted ranges; importing/migrating
// markers ("[...]") are skipped.
std::vector<SlotRange> parse_slot_fields(const std::vector<std::string>& fields);

// The value of "name:" in an INFO reply, or "" when absent.
std::string info_field(const std::string& info, const std::string& name);

}  // namespace rdbrekey::test
