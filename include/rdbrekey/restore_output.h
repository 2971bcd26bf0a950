// A live server or cluster as an Output (output.h): every key goes out as
//
//   RESTORE name ttl payload [REPLACE] ABSTTL [IDLETIME s | FREQ f]
//
// where payload = type byte + the value's bytes as read from the input + the DUMP footer's RDB
// version (2 bytes, little-endian) + CRC-64 (Jones) of all that (8 bytes, little-endian). In a
// cluster each key goes to the primary that owns its hash slot (hash_slot.h), as the topology
// read from the cluster says; MOVED updates it and resends, ASK resends once with ASKING,
// TRYAGAIN / CLUSTERDOWN / LOADING / BUSY resend after a back-off (bounded). Any other error
// reply stops the restore with a message naming the key, the node and what to do.
//
// A command of a large value (1 MiB or more) is built around the value's bytes where they were
// read into (the RESP header inserted before them) and goes out on a connection with nothing in
// flight, as that connection's buffer: the value is held once, not twice.
//
// Commands are pipelined: many in flight per connection, `connections` connections per primary
// (each key goes to the one with the fewest bytes in flight; the others are opened as the first
// gets busy), all connections polled together, with the bytes in flight bounded by a window (a
// connection keeps each command's bytes until its reply, to resend it). Keys are independent:
// their order across connections does not matter, and ASKING travels with its command.
//
// Cluster topology: CLUSTER SHARDS (Redis >= 7.0, Valkey), read as convert reads a CLUSTER
// SHARDS file (cluster_topology.h), each primary addressed by its preferred endpoint (as MOVED
// names it) and, over TLS, its tls-port. CLUSTER SLOTS (every release) when CLUSTER SHARDS is
// refused (older release, an ACL) or gives a view that cannot be used (slots without a primary
// while a failover settles); topology_source() says which, and why.
//
// Memory: about three times the window (a connection's buffer drops what was answered now and
// then, not at every reply, and gives back what a burst grew it to), plus the largest value (a
// value is assembled whole before it is sent; values above the target's proto-max-bulk-len are
// refused).
//
// A live server cannot take back what it was sent: discardable() is false, so the converter
// decides every collision in a first pass before the first command goes out.
//
// Progress and resuming. Every record handed over gets a sequence number (the order is the same
// on every run over the same inputs and options). The output knows the number below which every
// record is settled (acknowledged, skipped, or expired) and reports it through
// RestoreSettings::checkpoint, with a promise: no record at or above `sent_below` has been sent
// (the promise is renewed before it is passed). A later run with resume_below = acknowledged and
// uncertain_below = sent_below sends nothing below the first, and takes BUSYKEY between the two
// as "restored by the interrupted run". The same holds for commands resent after a connection
// broke. Both are checked at the end by the key counts (count_check).
//
// On the first error that stops the restore, no command is sent any more, the replies of those
// in flight are collected (so that the counts and the checkpoint are exact), and then it throws.
// A SIGINT, SIGTERM or SIGHUP after begin() stops it the same way (Errc::kInterrupted); a second
// signal ends the process at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/output.h"
#include "rdbrekey/redis_client.h"

namespace rdbrekey {

enum class ExistingPolicy { kError, kSkip, kReplace };

// The DUMP payload of a value: type + value + version (u16 LE) + CRC-64 (u64 LE).
void append_dump_footer(std::string& payload, uint16_t rdb_version);

// Where a restore stands (see above), for a checkpoint file.
struct RestoreProgress {
  uint64_t acknowledged = 0;  // every record below this sequence number is settled
  uint64_t sent_below = 0;    // no record at or above this has been sent
  uint64_t restored = 0;      // of those below `acknowledged`: RESTOREd keys (all runs)
  uint64_t with_ttl = 0;      // of `restored`: keys with a TTL (they may expire before the count check)
  bool complete = false;      // end() was reached: everything was settled
  // Below sent_below, records known not to be in the target: refused, or never sent (only
  // after a clean stop; after a kill every record in between may have been delivered).
  std::vector<uint64_t> not_restored;
};

struct RestoreSettings {
  ExistingPolicy existing = ExistingPolicy::kError;
  uint16_t payload_version = 11;         // the DUMP footer's RDB version
  size_t window_bytes = size_t{4} << 20;   // command bytes in flight, all nodes together
  unsigned connections = 1;              // per primary
  uint64_t max_bulk = uint64_t{512} << 20;  // the target's proto-max-bulk-len
  int max_attempts = 30;                 // sends of one command (TRYAGAIN, CLUSTERDOWN, LOADING, BUSY)
  int timeout_ms = 60000;                // no progress for this long: the target is unavailable
  int db = 0;                            // standalone: SELECT this database first
  bool cluster = false;
  RedisCredentials credentials;
  std::function<int64_t()> now_ms;       // the clock for keys that expire while being sent
  // Resuming (see above); `earlier` is the interrupted run's progress, and `dbsize_before` the
  // sum of the primaries' DBSIZE before its start (-1: unknown).
  uint64_t resume_below = 0;
  uint64_t uncertain_below = 0;
  RestoreProgress earlier;
  int64_t dbsize_before = -1;
  // Called with the progress at most every `checkpoint_interval_ms`, before the promise is
  // renewed, and at the end (also after a failure). Throws to stop the restore.
  std::function<void(const RestoreProgress&)> checkpoint;
  int checkpoint_interval_ms = 1000;
  uint64_t promise_step = 65536;         // records sent per renewal of the promise
  int max_reconnects = 10;               // of one node without a reply in between
};

// What one primary received.
struct NodeTally {
  std::string address;
  std::string id;               // cluster node id, when known
  uint64_t restored = 0;        // RESTORE answered OK
  uint64_t skipped_existing = 0;  // BUSYKEY with --existing skip
  uint64_t expiring = 0;        // of `restored`: keys with a TTL ending before the count check
  uint64_t redirects = 0;       // MOVED / ASK answers from this node
  uint64_t retries = 0;         // TRYAGAIN / CLUSTERDOWN / LOADING / BUSY answers from this node
  uint64_t reconnects = 0;      // the connection broke and was made again (its commands resent)
  uint64_t found_restored = 0;  // BUSYKEY for a key an interrupted run or a broken connection may have sent
  uint64_t functions = 0;       // FUNCTION RESTORE answered OK
  uint64_t functions_existing = 0;  // a library of that name was there (--existing skip, or resumed)
  int64_t dbsize_before = -1, dbsize_after = -1;
};

class RestoreOutput final : public Output {
 public:
  // `seed`: the server (standalone) or any node of the cluster (its topology is read from it).
  RestoreOutput(const RedisEndpoint& seed, RestoreSettings settings);
  ~RestoreOutput() override;

  void begin(RdbVersion version) override;
  void aux(std::string_view, std::string_view) override { ++aux_ignored_; }
  void function(Payload& payload) override;
  void module_aux(Payload& payload) override;
  void key(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name, Payload& value) override;
  void string_key(std::string_view name, std::string_view value) override;
  void end() override;

  bool discardable() const override { return false; }
  uint64_t keys_written() const override;
  uint64_t bytes_written() const override { return bytes_sent_; }
  void prepare() override {}
  void commit() override {}
  void uncommit() noexcept override {}
  void cancel() noexcept override {}

  // DBSIZE of every primary now (before: call before begin(); after: end() does it).
  void count_keys_before();
  // The sum of the primaries' DBSIZE before (-1 when one is unknown).
  int64_t total_dbsize_before() const;
  void set_checkpoint(std::function<void(const RestoreProgress&)> save) { settings_.checkpoint = std::move(save); }
  // Per primary, in the order they were found.
  const std::vector<NodeTally>& nodes() const { return tallies_; }
  uint64_t expired_at_send() const { return expired_at_send_; }
  uint64_t module_aux_not_restored() const { return module_aux_; }
  uint64_t aux_not_restored() const { return aux_ignored_; }
  // Records not sent because an earlier run settled them (resume_below).
  uint64_t settled_earlier() const { return settled_earlier_; }
  const RestoreProgress& progress() const { return progress_; }
  // Whether begin() was called (the sending pass has started).
  bool begun() const { return begun_; }
  // For a progress line: "in flight: 1,234" (one server) or per primary "in flight: HOST:PORT n, ...".
  std::string in_flight_summary() const;
  // Empty when every primary's key count grew by what it acknowledged and the primaries' total
  // by what was restored (over every run, resuming); otherwise what differs.
  std::string count_check() const;
  // Cluster: slots changed owner during the restore (redirects, or another topology at the end):
  // keys moved between primaries, so count_check compares the primaries' total only.
  bool slots_moved() const { return slots_moved_; }
  // Cluster: where the topology came from: "CLUSTER SHARDS", or "CLUSTER SLOTS (why not SHARDS)".
  const std::string& topology_source() const { return topology_source_; }

 private:
  struct Pending {
    // The whole command while it is off any connection (waiting to be resent); empty while a
    // connection holds it (RedisConnection keeps a command's bytes until its reply).
    std::string command;
    uint64_t size = 0;       // its bytes
    uint16_t slot = 0;
    bool asking = false;     // preceded by ASKING (its reply is taken first)
    bool function = false;
    bool maybe_sent = false; // an interrupted run or a broken connection may have delivered it (BUSYKEY: ours)
    int attempts = 1;
    int64_t expire_ms = 0;   // 0: no TTL
    uint64_t seq = 0;        // the record's sequence number
    RedisEndpoint target;    // a function's primary (resent there, not by slot)
  };
  // A record between `acknowledged` and the last sequence number handed out.
  struct Unsettled {
    uint32_t outstanding = 0;  // commands not answered yet (a function: one per primary)
    bool restored = false;
    bool with_ttl = false;
    bool failed = false;       // never settles (the restore stopped on it)
  };
  // One connection to a server. A primary's first Node is the one node_for() finds; with
  // several connections per primary the others are Nodes too, with the same endpoint and tally.
  struct Node {
    RedisEndpoint endpoint;
    std::unique_ptr<RedisConnection> conn;
    std::deque<Pending> in_flight;
    size_t tally = 0;  // index into tallies_
    int reconnects_in_a_row = 0;
    size_t bytes_in_flight = 0;
    std::vector<size_t> lanes;  // a first Node's connections, itself first (empty with --connections 1)
  };
  struct Retry {
    std::chrono::steady_clock::time_point due;
    Pending p;
  };

  size_t node_for(const RedisEndpoint& endpoint);
  RedisConnection& connection(size_t node);
  // One command outside the pipeline (nothing in flight on that node), on a new connection
  // when the last one broke (bounded, as the pipeline's reconnects).
  RedisReply call(size_t node, std::initializer_list<std::string_view> args);
  // The connection of `node`'s server a new command goes to (settings_.connections).
  size_t lane_for(size_t node);
  // The commands in flight to a server, over its connections.
  size_t in_flight_to(size_t node) const;
  void read_topology();
  // From CLUSTER SHARDS: "" when applied, else why it cannot be used.
  std::string apply_shards(const RedisReply& shards, const std::string& from);
  void apply_topology(const RedisReply& slots, const std::string& from);
  void set_topology(std::vector<uint32_t> owner, const std::vector<size_t>& primaries);
  // Queues `p` on the node's connection: its command made from `args`, or (none given) the one
  // it holds. When the node cannot be reached for now, `p` goes to the retries (after a
  // back-off) and false is returned; past max_reconnects in a row it throws.
  bool send(Pending p, size_t node, std::span<const std::string_view> args = {});
  void send_key(std::string_view name, const std::string& payload, const KeyPrefix& prefix, uint64_t seq);
  // Until nothing is in flight on this connection.
  void drain(size_t node);
  // Sends, reads and handles replies until the bytes in flight are at most `limit`.
  void pump_until(size_t limit);
  void pump_once(int timeout_ms);
  // `command`: the bytes of p's command, as its connection holds them (valid until it is
  // written to again).
  void handle(size_t node, Pending p, const RedisReply& reply, std::string_view command);
  void resend_due();
  void take_replies(size_t node);
  void connection_broke(size_t node, const Error& why);
  // A new record's sequence number (renews the promise first when needed).
  uint64_t next_seq(bool with_ttl);
  // Whether an interrupted run may have delivered the record.
  bool maybe_sent_earlier(uint64_t seq) const;
  // The record will not be in the target: the settled prefix stops before it.
  void mark_not_restored(uint64_t seq);
  void settle(uint64_t seq, bool restored);
  void save_progress(bool force);
  // The first error that stops the restore: nothing more is sent; thrown once the replies in
  // flight are in.
  void fail(Errc code, std::string what);
  [[noreturn]] void stop(Errc code, const std::string& what) const;
  // A SIGINT/SIGTERM/SIGHUP since begin() stops the restore as a failure does (signals.h).
  void check_stop_signal();
  uint64_t restored_so_far() const;

  RestoreSettings settings_;
  RedisEndpoint seed_;
  std::vector<Node> nodes_;
  std::vector<NodeTally> tallies_;
  std::vector<size_t> primaries_;           // node indices of the primaries known
  std::vector<uint32_t> slot_node_;         // cluster: slot -> node index
  std::vector<uint32_t> slot_node_at_start_;  // as it was at count_keys_before()
  bool slots_moved_ = false;
  bool topology_stale_ = false;
  bool shards_refused_ = false;  // CLUSTER SHARDS answered an error: not asked again
  std::string topology_source_;
  std::deque<Retry> retries_;
  size_t bytes_in_flight_ = 0;
  size_t appended_since_pump_ = 0;  // command bytes queued since the last pump_once
  uint64_t bytes_sent_ = 0;
  uint64_t expired_at_send_ = 0, aux_ignored_ = 0, module_aux_ = 0;
  std::string payload_;
  std::string name_;  // the key's new name, assembled here (its buffer reused key after key)
  std::unique_ptr<ByteSink> payload_sink_;
  std::chrono::steady_clock::time_point last_progress_, last_saved_;
  uint64_t next_seq_ = 0, settled_earlier_ = 0;
  std::deque<Unsettled> unsettled_;   // sequence numbers progress_.acknowledged, ...
  std::vector<uint64_t> not_restored_;  // refused, or dropped from the retries by a failure
  uint64_t sent_high_ = 0;              // 1 + the highest sequence number sent
  RestoreProgress progress_;
  bool failed_ = false, draining_ = false, begun_ = false;
  Errc fail_code_ = Errc::kInternal;
  std::string fail_what_;
};

}  // namespace rdbrekey
