// Cluster topology: which primary serves each of the 16384 hash slots, read from what the
// servers and redis-cli print, or split evenly over N primaries as `redis-cli --cluster create`
// does. Whatever the source, the result is checked: every slot is served by exactly one primary.
//
// Accepted inputs (the format is detected from the text):
//
//  "primaries" — a whole number N (1..16384) given instead of a file: N primaries without
//    addresses, slots split as `redis-cli --cluster create` splits them (3 -> 0-5460,
//    5461-10922, 10923-16383).
//
//  "cluster-nodes" — CLUSTER NODES output or a node's nodes.conf file; one line per node:
//      <id> <ip:port@cport[,hostname[,aux=...]]> <flags> <primary-id|-> <ping> <pong> <epoch> <link> <slot>...
//    e.g.
//      baf4d126... 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460 [100->-11bb1fc5...]
//      fb120ff9... 127.0.0.1:7004@17004 slave baf4d126... 0 1796098716 1 connected
//      vars currentEpoch 3 lastVoteEpoch 0
//    Primaries are the nodes flagged "master" (or "primary"); replicas, "vars" lines and blank
//    lines are skipped. Slots are "N" or "A-B"; a node's slot list ends at the first "[...]"
//    (a slot being migrated or imported stays with its current owner). A primary without an
//    address (":0@0", flags noaddr/handshake) is kept only when it serves slots; its address is
//    then "" and its id names it. "fail" flags change nothing: the slots are still its.
//
//  "cluster-shards" — CLUSTER SHARDS output as redis-cli prints it, in any of its text forms:
//    on a terminal or with --no-raw (RESP2 numbered, RESP3 with "1# key => value"):
//      1) 1) "slots"
//         2) 1) (integer) 0
//            2) (integer) 5460
//         3) "nodes"
//         4) 1)  1) "id"
//                2) "baf4d126..."
//                3) "port"
//                4) (integer) 7001
//                ...
//    or piped (raw: one element a line; RESP3 raw puts "key value" on one line):
//      slots
//      0
//      5460
//      nodes
//      id
//      baf4d126...
//      port
//      7001
//      ...
//    Each shard lists its slots as start,end pairs, then its nodes as key/value lists; the node
//    whose role is "master" (or "primary") serves the shard's slots. Its address is "ip" (else
//    "endpoint") and "port" (else "tls-port"). A shard without slots is allowed.
//
//  "cluster-shards-json" — CLUSTER SHARDS as `redis-cli --json` prints it: RESP3 (the default,
//    and -3) gives objects, -2 gives nested arrays of flat key/value lists:
//      [{"slots":[0,5460],"nodes":[{"id":"baf4d126...","port":7001,"ip":"127.0.0.1","role":"master",...}]}]
//      [["slots",[0,5460],"nodes",[["id","baf4d126...","port",7001,"ip","127.0.0.1","role","master",...]]]]
//
// Every problem is an Error with code Errc::kBadTopology (a file that cannot be read:
// Errc::kCannotOpen): unknown text (the message lists the accepted formats), a malformed line
// or element (with its line number), a slot above 16383, a node id given twice, N out of range,
// slots served by no primary or claimed by two.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rdbrekey/hash_slot.h"

namespace rdbrekey {

// Slots first..last, both included.
struct SlotRange {
  uint16_t first = 0, last = 0;
  bool operator==(const SlotRange&) const = default;
};

struct ClusterPrimary {
  std::string id;                // node id (40 hex chars) as the topology gives it; empty for "N primaries"
  std::string host;              // ip or endpoint; empty for "N primaries" and when the topology has none
  int port = 0;                  // 0 when unknown
  std::vector<SlotRange> slots;  // sorted, adjacent ranges merged

  // "host:port", "[v6]:port" for an IPv6 host, "" when unknown.
  std::string address() const;
  uint32_t slot_count() const;
  bool operator==(const ClusterPrimary&) const = default;
};

struct ClusterTopology {
  // "cluster-nodes", "cluster-shards", "cluster-shards-json", "cluster-shards-reply" or "primaries".
  std::string format;
  // Primaries with slots ordered by their first slot, then those without slots (by address, id).
  std::vector<ClusterPrimary> primaries;
  // kClusterSlots entries: the index in `primaries` of each slot's primary.
  std::vector<uint16_t> owner;
  // What is odd about the cluster but does not stop a conversion: a primary marked failed, slots
  // being migrated (their keys go to the current owner), a primary that serves no slots (its
  // file holds no keys). Shown to the operator and listed in the manifest.
  std::vector<std::string> warnings;
};

// A topology argument: a whole number N (1..16384) means N primaries split evenly
// (even_split_topology); anything else is the path of a file read with parse_topology. (A file
// whose name is a number is given as "./3".)
ClusterTopology load_topology(const std::string& arg);

// Detects the format of `text` and parses it; `source` names the input in error messages.
ClusterTopology parse_topology(std::string_view text, std::string_view source);

// CLUSTER SHARDS as a server answers it, already taken apart (restore reads it off the wire):
// per shard its slot bounds (start, end, ...) and each node's fields ("id", "ip", "endpoint",
// "port", "tls-port", "role", "health"...; numbers as their decimal text). Read and checked as
// the other CLUSTER SHARDS forms (format "cluster-shards-reply"); `source` names the server.
struct ClusterShardFields {
  std::vector<uint32_t> bounds;
  std::vector<std::map<std::string, std::string>> nodes;
};
ClusterTopology topology_of_cluster_shards(const std::vector<ClusterShardFields>& shards, std::string_view source);

// N primaries with the slots split exactly as `redis-cli --cluster create` splits them (in single
// precision, as it does). For some large N (7542 is the first) that arithmetic runs past slot
// 16383 and redis-cli cannot create the cluster either: kBadTopology.
ClusterTopology even_split_topology(int primaries);

// "0-5460,5462,5464-5470" (messages and manifests); "" for no ranges.
std::string format_ranges(const std::vector<SlotRange>& ranges);

}  // namespace rdbrekey
