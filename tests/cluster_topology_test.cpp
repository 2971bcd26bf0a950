// Cluster topologies: samples captured from redis-server/redis-cli 7.0 (a 3-primary cluster, a
// replica, an empty primary, slot 100 being migrated; ids and ports as captured), hand-edited
// variants for the rare cases, the checks and their messages, the even split, and real clusters:
// every printed form of CLUSTER SHARDS, CLUSTER NODES of every node and every nodes.conf parse
// to one topology, and redis-cli --cluster create splits the slots as even_split_topology does.
#include "rdbrekey/cluster_topology.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rdbrekey/error.h"
#include "support/process.h"
#include "support/redis_server.h"

namespace rdbrekey {
namespace {

// ---- samples ---------------------------------------------------------------------------------

const std::string kId1 = "baf4d126ce75f9397d4d930ffe962fd0ae3de60c";  // 127.0.0.1:17001, 0-5460, hostname node1.example
const std::string kId2 = "11bb1fc5d7455f648649373b4e8a51d154aafa28";  // 127.0.0.1:17002, 5461-10922, importing 100
const std::string kId3 = "f926a7e65010c9c7ea6990229008cb917703643d";  // 127.0.0.1:17003, 10923-16383
const std::string kId5 = "a2de2d4ffe2417989a41a8516d98a35ad5efb03c";  // 127.0.0.1:17005, a primary without slots
// 127.0.0.1:17004 (fb120ff9...) replicates 17001.

// What every sample says.
std::vector<ClusterPrimary> sample_primaries() {
  return {{kId1, "127.0.0.1", 17001, {{0, 5460}}},
          {kId2, "127.0.0.1", 17002, {{5461, 10922}}},
          {kId3, "127.0.0.1", 17003, {{10923, 16383}}},
          {kId5, "127.0.0.1", 17005, {}}};
}

// CLUSTER NODES asked of 17002.
constexpr std::string_view kClusterNodes = R"txt(
f926a7e65010c9c7ea6990229008cb917703643d 127.0.0.1:17003@27003 master - 0 1796099146518 3 connected 10923-16383
a2de2d4ffe2417989a41a8516d98a35ad5efb03c 127.0.0.1:17005@27005 master - 0 1796099144000 0 connected
11bb1fc5d7455f648649373b4e8a51d154aafa28 127.0.0.1:17002@27002 myself,master - 0 1796099143000 2 connected 5461-10922 [100-<-baf4d126ce75f9397d4d930ffe962fd0ae3de60c]
fb120ff9d672eba0fa3fb928495a6804ae4f9f17 127.0.0.1:17004@27004 slave baf4d126ce75f9397d4d930ffe962fd0ae3de60c 0 1796099144507 1 connected
baf4d126ce75f9397d4d930ffe962fd0ae3de60c 127.0.0.1:17001@27001,node1.example master - 0 1796099145513 1 connected 0-5460
)txt";

// nodes.conf of 17001 (after CLUSTER SAVECONFIG).
constexpr std::string_view kNodesConf = R"txt(
a2de2d4ffe2417989a41a8516d98a35ad5efb03c 127.0.0.1:17005@27005 master - 0 1796099144623 0 connected
baf4d126ce75f9397d4d930ffe962fd0ae3de60c 127.0.0.1:17001@27001,node1.example myself,master - 0 1796099145000 1 connected 0-5460 [100->-11bb1fc5d7455f648649373b4e8a51d154aafa28]
f926a7e65010c9c7ea6990229008cb917703643d 127.0.0.1:17003@27003 master - 0 1796099146000 3 connected 10923-16383
11bb1fc5d7455f648649373b4e8a51d154aafa28 127.0.0.1:17002@27002 master - 0 1796099146636 2 connected 5461-10922
fb120ff9d672eba0fa3fb928495a6804ae4f9f17 127.0.0.1:17004@27004 slave baf4d126ce75f9397d4d930ffe962fd0ae3de60c 0 1796099144000 1 connected
vars currentEpoch 3 lastVoteEpoch 0
)txt";

// redis-cli --no-raw cluster shards (as on a terminal).
constexpr std::string_view kShardsTerminal = R"txt(
1) 1) "slots"
   2) 1) (integer) 10923
      2) (integer) 16383
   3) "nodes"
   4) 1)  1) "id"
          2) "f926a7e65010c9c7ea6990229008cb917703643d"
          3) "port"
          4) (integer) 17003
          5) "ip"
          6) "127.0.0.1"
          7) "endpoint"
          8) "127.0.0.1"
          9) "role"
         10) "master"
         11) "replication-offset"
         12) (integer) 0
         13) "health"
         14) "online"
2) 1) "slots"
   2) (empty array)
   3) "nodes"
   4) 1)  1) "id"
          2) "a2de2d4ffe2417989a41a8516d98a35ad5efb03c"
          3) "port"
          4) (integer) 17005
          5) "ip"
          6) "127.0.0.1"
          7) "endpoint"
          8) "127.0.0.1"
          9) "role"
         10) "master"
         11) "replication-offset"
         12) (integer) 0
         13) "health"
         14) "online"
3) 1) "slots"
   2) 1) (integer) 5461
      2) (integer) 10922
   3) "nodes"
   4) 1)  1) "id"
          2) "11bb1fc5d7455f648649373b4e8a51d154aafa28"
          3) "port"
          4) (integer) 17002
          5) "ip"
          6) "127.0.0.1"
          7) "endpoint"
          8) "127.0.0.1"
          9) "role"
         10) "master"
         11) "replication-offset"
         12) (integer) 0
         13) "health"
         14) "online"
4) 1) "slots"
   2) 1) (integer) 0
      2) (integer) 5460
   3) "nodes"
   4) 1)  1) "id"
          2) "baf4d126ce75f9397d4d930ffe962fd0ae3de60c"
          3) "port"
          4) (integer) 17001
          5) "ip"
          6) "127.0.0.1"
          7) "endpoint"
          8) "127.0.0.1"
          9) "hostname"
         10) "node1.example"
         11) "role"
         12) "master"
         13) "replication-offset"
         14) (integer) 602
         15) "health"
         16) "online"
      2)  1) "id"
          2) "fb120ff9d672eba0fa3fb928495a6804ae4f9f17"
          3) "port"
          4) (integer) 17004
          5) "ip"
          6) "127.0.0.1"
          7) "endpoint"
          8) "127.0.0.1"
          9) "role"
         10) "replica"
         11) "replication-offset"
         12) (integer) 602
         13) "health"
         14) "online"
)txt";

// redis-cli cluster shards > file (raw).
constexpr std::string_view kShardsPiped = R"txt(
slots
10923
16383
nodes
id
f926a7e65010c9c7ea6990229008cb917703643d
port
17003
ip
127.0.0.1
endpoint
127.0.0.1
role
master
replication-offset
0
health
online
slots

nodes
id
a2de2d4ffe2417989a41a8516d98a35ad5efb03c
port
17005
ip
127.0.0.1
endpoint
127.0.0.1
role
master
replication-offset
0
health
online
slots
5461
10922
nodes
id
11bb1fc5d7455f648649373b4e8a51d154aafa28
port
17002
ip
127.0.0.1
endpoint
127.0.0.1
role
master
replication-offset
0
health
online
slots
0
5460
nodes
id
baf4d126ce75f9397d4d930ffe962fd0ae3de60c
port
17001
ip
127.0.0.1
endpoint
127.0.0.1
hostname
node1.example
role
master
replication-offset
602
health
online
id
fb120ff9d672eba0fa3fb928495a6804ae4f9f17
port
17004
ip
127.0.0.1
endpoint
127.0.0.1
role
replica
replication-offset
602
health
online
)txt";

// redis-cli -3 --no-raw cluster shards.
constexpr std::string_view kShardsTerminalResp3 = R"txt(
1) 1# "slots" => 
      1) (integer) 10923
      2) (integer) 16383
   2# "nodes" => 
      1) 1# "id" => "f926a7e65010c9c7ea6990229008cb917703643d"
         2# "port" => (integer) 17003
         3# "ip" => "127.0.0.1"
         4# "endpoint" => "127.0.0.1"
         5# "role" => "master"
         6# "replication-offset" => (integer) 0
         7# "health" => "online"
2) 1# "slots" => (empty array)
   2# "nodes" => 
      1) 1# "id" => "a2de2d4ffe2417989a41a8516d98a35ad5efb03c"
         2# "port" => (integer) 17005
         3# "ip" => "127.0.0.1"
         4# "endpoint" => "127.0.0.1"
         5# "role" => "master"
         6# "replication-offset" => (integer) 0
         7# "health" => "online"
3) 1# "slots" => 
      1) (integer) 5461
      2) (integer) 10922
   2# "nodes" => 
      1) 1# "id" => "11bb1fc5d7455f648649373b4e8a51d154aafa28"
         2# "port" => (integer) 17002
         3# "ip" => "127.0.0.1"
         4# "endpoint" => "127.0.0.1"
         5# "role" => "master"
         6# "replication-offset" => (integer) 0
         7# "health" => "online"
4) 1# "slots" => 
      1) (integer) 0
      2) (integer) 5460
   2# "nodes" => 
      1) 1# "id" => "baf4d126ce75f9397d4d930ffe962fd0ae3de60c"
         2# "port" => (integer) 17001
         3# "ip" => "127.0.0.1"
         4# "endpoint" => "127.0.0.1"
         5# "hostname" => "node1.example"
         6# "role" => "master"
         7# "replication-offset" => (integer) 602
         8# "health" => "online"
      2) 1# "id" => "fb120ff9d672eba0fa3fb928495a6804ae4f9f17"
         2# "port" => (integer) 17004
         3# "ip" => "127.0.0.1"
         4# "endpoint" => "127.0.0.1"
         5# "role" => "replica"
         6# "replication-offset" => (integer) 602
         7# "health" => "online"
)txt";

// redis-cli -3 cluster shards > file.
constexpr std::string_view kShardsPipedResp3 = R"txt(
slots 10923
16383
nodes id f926a7e65010c9c7ea6990229008cb917703643d
port 17003
ip 127.0.0.1
endpoint 127.0.0.1
role master
replication-offset 0
health online
slots 
nodes id a2de2d4ffe2417989a41a8516d98a35ad5efb03c
port 17005
ip 127.0.0.1
endpoint 127.0.0.1
role master
replication-offset 0
health online
slots 5461
10922
nodes id 11bb1fc5d7455f648649373b4e8a51d154aafa28
port 17002
ip 127.0.0.1
endpoint 127.0.0.1
role master
replication-offset 0
health online
slots 0
5460
nodes id baf4d126ce75f9397d4d930ffe962fd0ae3de60c
port 17001
ip 127.0.0.1
endpoint 127.0.0.1
hostname node1.example
role master
replication-offset 602
health online
id fb120ff9d672eba0fa3fb928495a6804ae4f9f17
port 17004
ip 127.0.0.1
endpoint 127.0.0.1
role replica
replication-offset 602
health online
)txt";

// redis-cli --json cluster shards (RESP3 is --json's default; -3 --json prints the same).
constexpr std::string_view kShardsJson = R"txt([{"slots":[10923,16383],"nodes":
  [{"id":"f926a7e65010c9c7ea6990229008cb917703643d","port":17003,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master","replication-offset":0,"health":"online"}]},
 {"slots":[],"nodes":
  [{"id":"a2de2d4ffe2417989a41a8516d98a35ad5efb03c","port":17005,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master","replication-offset":0,"health":"online"}]},
 {"slots":[5461,10922],"nodes":
  [{"id":"11bb1fc5d7455f648649373b4e8a51d154aafa28","port":17002,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"master","replication-offset":0,"health":"online"}]},
 {"slots":[0,5460],"nodes":
  [{"id":"baf4d126ce75f9397d4d930ffe962fd0ae3de60c","port":17001,"ip":"127.0.0.1","endpoint":"127.0.0.1","hostname":"node1.example","role":"master","replication-offset":602,"health":"online"},
   {"id":"fb120ff9d672eba0fa3fb928495a6804ae4f9f17","port":17004,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"replica","replication-offset":602,"health":"online"}]}])txt";

// redis-cli -2 --json cluster shards.
constexpr std::string_view kShardsJsonResp2 = R"txt([["slots",[10923,16383],"nodes",
  [["id","f926a7e65010c9c7ea6990229008cb917703643d","port",17003,"ip","127.0.0.1","endpoint","127.0.0.1","role","master","replication-offset",0,"health","online"]]],
 ["slots",[],"nodes",
  [["id","a2de2d4ffe2417989a41a8516d98a35ad5efb03c","port",17005,"ip","127.0.0.1","endpoint","127.0.0.1","role","master","replication-offset",0,"health","online"]]],
 ["slots",[5461,10922],"nodes",
  [["id","11bb1fc5d7455f648649373b4e8a51d154aafa28","port",17002,"ip","127.0.0.1","endpoint","127.0.0.1","role","master","replication-offset",0,"health","online"]]],
 ["slots",[0,5460],"nodes",
  [["id","baf4d126ce75f9397d4d930ffe962fd0ae3de60c","port",17001,"ip","127.0.0.1","endpoint","127.0.0.1","hostname","node1.example","role","master","replication-offset",602,"health","online"],
   ["id","fb120ff9d672eba0fa3fb928495a6804ae4f9f17","port",17004,"ip","127.0.0.1","endpoint","127.0.0.1","role","replica","replication-offset",602,"health","online"]]]])txt";

// ---- helpers -------------------------------------------------------------------------------------

// One line per primary ("id host port ranges"): a readable way to compare topologies.
std::string summary(const std::vector<ClusterPrimary>& primaries) {
  std::string out;
  for (const ClusterPrimary& p : primaries) {
    out += p.id + " " + p.host + " " + std::to_string(p.port) + " [" + format_ranges(p.slots) + "]\n";
  }
  return out;
}

// The owner table agrees with the primaries' ranges.
void expect_owners_match(const ClusterTopology& t) {
  ASSERT_EQ(t.owner.size(), static_cast<size_t>(kClusterSlots));
  for (size_t i = 0; i < t.primaries.size(); ++i) {
    for (SlotRange r : t.primaries[i].slots) {
      for (int slot = r.first; slot <= r.last; ++slot) ASSERT_EQ(t.owner[slot], i) << "slot " << slot;
    }
  }
}

void expect_same(const ClusterTopology& got, const ClusterTopology& want, const std::string& what) {
  EXPECT_EQ(summary(got.primaries), summary(want.primaries)) << what;
  EXPECT_EQ(got.owner, want.owner) << what;
}

// The message of the kBadTopology error that parsing `text` throws ("" and a failure if none).
std::string topology_error(std::string_view text, std::string_view source = "topo.txt") {
  try {
    parse_topology(text, source);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBadTopology) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return {};
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

// A CLUSTER NODES line of a primary.
std::string primary_line(const std::string& id, const std::string& address, const std::string& slots,
                         const std::string& flags = "master") {
  return id + " " + address + " " + flags + " - 0 1796099146518 1 connected " + slots + "\n";
}

// ---- the samples ---------------------------------------------------------------------------------

TEST(ClusterTopology, EverySampleFormGivesOneTopology) {
  const struct {
    std::string_view text;
    const char* format;
    const char* name;
  } samples[] = {
      {kClusterNodes, "cluster-nodes", "CLUSTER NODES"},       {kNodesConf, "cluster-nodes", "nodes.conf"},
      {kShardsTerminal, "cluster-shards", "--no-raw"},         {kShardsPiped, "cluster-shards", "piped"},
      {kShardsTerminalResp3, "cluster-shards", "-3 --no-raw"}, {kShardsPipedResp3, "cluster-shards", "-3 piped"},
      {kShardsJson, "cluster-shards-json", "--json"},          {kShardsJsonResp2, "cluster-shards-json", "-2 --json"},
  };
  for (const auto& s : samples) {
    const ClusterTopology t = parse_topology(s.text, s.name);
    EXPECT_EQ(t.format, s.format) << s.name;
    EXPECT_EQ(summary(t.primaries), summary(sample_primaries())) << s.name;
    expect_owners_match(t);
  }
}

TEST(ClusterTopology, PrimaryAddressAndSlotCount) {
  const ClusterTopology t = parse_topology(kClusterNodes, "nodes");
  EXPECT_EQ(t.primaries[0].address(), "127.0.0.1:17001");
  EXPECT_EQ(t.primaries[0].slot_count(), 5461u);
  EXPECT_EQ(t.primaries[1].slot_count(), 5462u);
  EXPECT_EQ(t.primaries[3].slot_count(), 0u);
  EXPECT_EQ((ClusterPrimary{"", "::1", 7000, {}}.address()), "[::1]:7000");
  EXPECT_EQ((ClusterPrimary{"", "", 0, {}}.address()), "");
  EXPECT_EQ((ClusterPrimary{"", "", 7000, {}}.address()), "");
}

TEST(ClusterTopology, FormatRanges) {
  EXPECT_EQ(format_ranges({}), "");
  EXPECT_EQ(format_ranges({{0, 5460}}), "0-5460");
  EXPECT_EQ(format_ranges({{0, 5460}, {5462, 5462}, {5464, 5470}}), "0-5460,5462,5464-5470");
}

// ---- CLUSTER NODES, hand-edited ---------------------------------------------------------------

TEST(ClusterTopology, NodesMigratingMarkersMultipleRangesAndUnorderedSlots) {
  const std::string text =
      primary_line(kId2, "127.0.0.1:17002@27002", "200 5461-10922 [100-<-" + kId1 + "]") +
      primary_line(kId1, "127.0.0.1:17001@27001", "201-5460 0-99 101-199 100 [200->-" + kId2 + "]") +
      primary_line(kId3, "127.0.0.1:17003@27003", "10923-16383");
  const ClusterTopology t = parse_topology(text, "nodes");
  ASSERT_EQ(t.primaries.size(), 3u);
  EXPECT_EQ(format_ranges(t.primaries[0].slots), "0-199,201-5460");
  EXPECT_EQ(format_ranges(t.primaries[1].slots), "200,5461-10922");
  EXPECT_EQ(t.owner[200], 1);
  EXPECT_EQ(t.owner[100], 0);
  // Each marker is a warning naming the primary it is on.
  ASSERT_EQ(t.warnings.size(), 2u);
  EXPECT_NE(t.warnings[0].find("being migrated"), std::string::npos) << t.warnings[0];
  EXPECT_NE(t.warnings[0].find("127.0.0.1:17002"), std::string::npos) << t.warnings[0];
  EXPECT_NE(t.warnings[1].find("[200->-"), std::string::npos) << t.warnings[1];
}

TEST(ClusterTopology, NodesFailedPrimaryKeepsItsSlots) {
  const std::string text = replace_all(std::string(kClusterNodes), "17003@27003 master - 0 1796099146518 3 connected",
                                       "17003@27003 master,fail - 1796099159725 1796099156688 3 disconnected");
  ASSERT_NE(text, kClusterNodes);
  ClusterTopology t = parse_topology(text, "nodes");
  EXPECT_EQ(summary(t.primaries), summary(sample_primaries()));
  auto failed = [](const ClusterTopology& topology) {
    std::vector<std::string> found;
    for (const auto& w : topology.warnings)
      if (w.find("marked failed") != std::string::npos) found.push_back(w);
    return found;
  };
  ASSERT_EQ(failed(t).size(), 1u);
  EXPECT_NE(failed(t)[0].find("127.0.0.1:17003"), std::string::npos) << failed(t)[0];
  EXPECT_TRUE(failed(parse_topology(kClusterNodes, "nodes")).empty());
}

TEST(ClusterTopology, NodesWithoutAddress) {
  const std::string lost = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1";
  const std::string handshake = "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2";
  const std::string text = primary_line(kId1, "127.0.0.1:17001@27001", "0-5460") +
                           primary_line(lost, ":0@0", "5461-10922", "master,fail,noaddr") +
                           primary_line(kId3, "127.0.0.1:17003@27003", "10923-16383") +
                           primary_line(kId5, ":0@0", "", "master,noaddr") +
                           primary_line(handshake, "127.0.0.1:17009@27009", "", "master,handshake");
  const ClusterTopology t = parse_topology(text, "nodes");
  ASSERT_EQ(t.primaries.size(), 3u);
  EXPECT_EQ(t.primaries[1].id, lost);
  EXPECT_EQ(t.primaries[1].host, "");
  EXPECT_EQ(t.primaries[1].port, 0);
  EXPECT_EQ(t.primaries[1].address(), "");
}

TEST(ClusterTopology, NodeThatDoesNotKnowItsOwnIp) {
  // Captured from a single node that was given every slot and never met another: its own ip is
  // unknown (empty in both outputs), its port is known.
  const std::string nodes =
      "8ceb8923d3f2066320833361616f4718ae050ab6 :17021@27021 myself,master - 0 0 0 connected 0-16383\n";
  const std::string piped =
      "slots\n0\n16383\nnodes\nid\n8ceb8923d3f2066320833361616f4718ae050ab6\nport\n17021\nip\n\nendpoint\n\n"
      "role\nmaster\nreplication-offset\n0\nhealth\nonline\n";
  const ClusterTopology t = parse_topology(nodes, "nodes");
  ASSERT_EQ(t.primaries.size(), 1u);
  EXPECT_EQ(t.primaries[0].host, "");
  EXPECT_EQ(t.primaries[0].port, 17021);
  EXPECT_EQ(t.primaries[0].address(), "");
  EXPECT_EQ(summary(parse_topology(piped, "shards").primaries), summary(t.primaries));
}

TEST(ClusterTopology, NodesIpv6HostnamesAuxFieldsOldAddressesAndPrimaryFlag) {
  const std::string text =
      primary_line(kId1, "::1:7001@17001,node1.example,shard-id=abcd,tls-port=0", "0-5460", "myself,primary") +
      primary_line(kId2, "10.0.0.2:7002", "5461-10922") +
      primary_line(kId3, "10.0.0.3:7003@17003,", "10923-16383", "master,nofailover") +
      "vars currentEpoch 3 lastVoteEpoch 0\n";
  const ClusterTopology t = parse_topology(text, "nodes");
  ASSERT_EQ(t.primaries.size(), 3u);
  EXPECT_EQ(t.primaries[0].address(), "[::1]:7001");
  EXPECT_EQ(t.primaries[1].address(), "10.0.0.2:7002");
  EXPECT_EQ(t.primaries[2].address(), "10.0.0.3:7003");
}

TEST(ClusterTopology, PrimariesWithoutSlotsComeLastByAddress) {
  const std::string text =
      primary_line(kId5, "127.0.0.1:7009@17009", "") + primary_line(kId3, "127.0.0.1:7008@17008", "") +
      primary_line(kId1, "127.0.0.1:7001@17001", "8192-16383") + primary_line(kId2, "127.0.0.1:7002@17002", "0-8191");
  const ClusterTopology t = parse_topology(text, "nodes");
  ASSERT_EQ(t.primaries.size(), 4u);
  EXPECT_EQ(t.primaries[0].id, kId2);
  EXPECT_EQ(t.primaries[1].id, kId1);
  EXPECT_EQ(t.primaries[2].id, kId3);
  EXPECT_EQ(t.primaries[3].id, kId5);
  ASSERT_EQ(t.warnings.size(), 2u);  // their files hold no keys: said, not refused
  EXPECT_NE(t.warnings[0].find("serves no slots"), std::string::npos) << t.warnings[0];
}

// ---- CLUSTER SHARDS, hand-edited --------------------------------------------------------------

TEST(ClusterTopology, ShardsPipedWithEmptyValuesAndTlsPort) {
  // A replica whose ip is empty prints as an empty line; a TLS-only primary has "tls-port".
  const std::string text =
      "slots\n0\n16383\nnodes\n"
      "id\n" +
      kId2 +
      "\ntls-port\n7002\nip\n10.0.0.2\nendpoint\n10.0.0.2\nrole\nprimary\nhealth\nonline\n"
      "id\n" +
      kId1 + "\nport\n7001\nip\n\nendpoint\n?\nrole\nreplica\nhealth\nfail\n";
  const ClusterTopology t = parse_topology(text, "shards");
  ASSERT_EQ(t.primaries.size(), 1u);
  EXPECT_EQ(t.primaries[0].address(), "10.0.0.2:7002");
  EXPECT_EQ(t.primaries[0].id, kId2);
}

TEST(ClusterTopology, ShardsEndpointWhenNoIp) {
  const std::string text = R"([{"slots":[0,16383],"nodes":[{"id":")" + kId1 +
                           R"(","port":7001,"ip":"","endpoint":"node1.example","role":"master","health":"online"}]}])";
  EXPECT_EQ(parse_topology(text, "json").primaries[0].address(), "node1.example:7001");
}

TEST(ClusterTopology, ShardsJsonQuotedAndMultipleRanges) {
  // --quoted-json escapes the same way; several ranges per shard.
  const std::string text = R"([{"slots":[0,199,201,5460],"nodes":[{"id":")" + kId1 +
                           R"(","port":17001,"ip":"127.0.0.1","role":"master"}]},)"
                           R"({"slots":[200,200,5461,16383],"nodes":[{"id":")" +
                           kId2 + R"(","port":17002,"ip":"127.0.0.1","role":"master"}]}])";
  const ClusterTopology t = parse_topology(text, "json");
  EXPECT_EQ(format_ranges(t.primaries[0].slots), "0-199,201-5460");
  EXPECT_EQ(format_ranges(t.primaries[1].slots), "200,5461-16383");
}

TEST(ClusterTopology, ShardWithOnlyAReplicaLeavesItsSlotsUnserved) {
  const std::string only_replica =
      replace_all(std::string(kShardsJson), R"("hostname":"node1.example","role":"master")",
                  R"("hostname":"node1.example","role":"replica")");
  ASSERT_NE(only_replica, kShardsJson);
  EXPECT_NE(topology_error(only_replica).find("slots 0-5460 are not served by any primary"), std::string::npos);
}

// CLUSTER SHARDS as restore takes it off the wire: the same reading as the printed forms.
TEST(ClusterTopology, ShardsReplyTakenApart) {
  auto node = [](std::string id, std::string ip, std::string port, std::string role) {
    return std::map<std::string, std::string>{{"id", id}, {"ip", ip}, {"endpoint", ip}, {"port", port},
                                              {"role", role}, {"health", "online"}};
  };
  std::vector<ClusterShardFields> reply{
      {{0, 100, 200, 16383}, {node(kId2, "10.0.0.2", "7001", "replica"), node(kId1, "10.0.0.1", "7000", "master")}},
      {{101, 199}, {node(kId3, "10.0.0.3", "7002", "primary")}},
      {{}, {node("e0e0e0e0", "10.0.0.4", "7003", "replica")}},  // a shard without slots nor primary
  };
  const ClusterTopology t = topology_of_cluster_shards(reply, "10.0.0.1:7000");
  EXPECT_EQ(t.format, "cluster-shards-reply");
  ASSERT_EQ(t.primaries.size(), 2u);
  EXPECT_EQ(t.primaries[0].address(), "10.0.0.1:7000");
  EXPECT_EQ(t.primaries[0].id, kId1);
  EXPECT_EQ(format_ranges(t.primaries[0].slots), "0-100,200-16383");
  EXPECT_EQ(t.primaries[1].address(), "10.0.0.3:7002");
  EXPECT_EQ(format_ranges(t.primaries[1].slots), "101-199");
  EXPECT_EQ(t.owner[150], 1);
  EXPECT_EQ(t.owner[16383], 0);

  // Checked as every topology: slots without a primary are named, with the server.
  reply[1].nodes[0]["role"] = "replica";
  try {
    topology_of_cluster_shards(reply, "10.0.0.1:7000");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBadTopology);
    EXPECT_NE(std::string(e.what()).find("10.0.0.1:7000: slots 101-199 are not served by any primary"), std::string::npos)
        << e.what();
  }
  reply[1].nodes[0]["role"] = "master";
  reply[0].bounds.push_back(5);  // not start,end pairs
  try {
    topology_of_cluster_shards(reply, "10.0.0.1:7000");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shard 1: the slots are not start,end pairs"), std::string::npos) << e.what();
  }
}

// ---- errors ----------------------------------------------------------------------------------

TEST(ClusterTopology, UnservedSlotsAreNamed) {
  const std::string text =
      primary_line(kId1, "127.0.0.1:7000@17000", "0-5460") + primary_line(kId3, "127.0.0.1:7002@17002", "10923-16382");
  EXPECT_EQ(topology_error(text, "nodes.txt"),
            "nodes.txt: slots 5461-10922,16383 are not served by any primary (a cluster in this state does not "
            "accept them; wait for the failover or fix the cluster)");
  EXPECT_NE(topology_error(primary_line(kId1, "127.0.0.1:7000@17000", "1-16383")).find("slot 0 is not served"),
            std::string::npos);
}

TEST(ClusterTopology, SlotsClaimedTwiceAreNamed) {
  const std::string text = primary_line("abc12345ff", "127.0.0.1:7000@17000", "0-200") +
                           primary_line("def67890ff", "127.0.0.1:7001@17001", "100-16383");
  EXPECT_EQ(topology_error(text, "nodes.txt"),
            "nodes.txt: slots 100-200 are claimed by both 127.0.0.1:7000 (abc12345) and 127.0.0.1:7001 (def67890)");
}

TEST(ClusterTopology, MalformedNodesLinesNameTheirLine) {
  const std::string good = primary_line(kId1, "127.0.0.1:7000@17000", "0-16383");
  EXPECT_NE(topology_error(good + kId2 + " 127.0.0.1:7001@17001 master -\n").find("topo.txt: line 2: expected"),
            std::string::npos);
  EXPECT_NE(
      topology_error(good + "\n" + primary_line(kId2, "127.0.0.1", "")).find("line 3: \"127.0.0.1\" is not an address"),
      std::string::npos);
  EXPECT_NE(
      topology_error(primary_line(kId1, "127.0.0.1:7000@17000", "0-16384")).find("line 1: \"0-16384\" is not a slot"),
      std::string::npos);
  EXPECT_NE(topology_error(primary_line(kId1, "127.0.0.1:7000@17000", "16384")).find("line 1"), std::string::npos);
  EXPECT_NE(topology_error(primary_line(kId1, "127.0.0.1:7000@17000", "9-3")).find("line 1"), std::string::npos);
  EXPECT_NE(topology_error(primary_line(kId1, "127.0.0.1:7000@17000", "x")).find("line 1"), std::string::npos);
}

TEST(ClusterTopology, DuplicateNodeIds) {
  const std::string text =
      primary_line(kId1, "127.0.0.1:7000@17000", "0-100") + primary_line(kId1, "127.0.0.1:7001@17001", "101-16383");
  EXPECT_NE(topology_error(text).find("node id " + kId1 + " appears twice"), std::string::npos);
}

TEST(ClusterTopology, UnknownTextListsTheAcceptedFormats) {
  for (std::string_view text : {"hello world\n", "REDIS0011\xfa\x09redis-ver", "1) 1) (integer) 0\n"}) {
    const std::string message = topology_error(text);
    EXPECT_TRUE(message.find("CLUSTER NODES") != std::string::npos || message.find("\"slots\"") != std::string::npos)
        << message;
  }
  EXPECT_NE(topology_error("hello\n").find("CLUSTER SHARDS"), std::string::npos);
  EXPECT_NE(topology_error("").find("empty"), std::string::npos);
  EXPECT_NE(topology_error("\n  \nvars currentEpoch 0 lastVoteEpoch 0\n").find("empty"), std::string::npos);
}

TEST(ClusterTopology, MalformedShards) {
  EXPECT_NE(topology_error("[{\"slots\":[0,16383]").find("not valid JSON"), std::string::npos);
  EXPECT_NE(topology_error("{\"slots\":[]}").find("list of shards"), std::string::npos);
  EXPECT_NE(topology_error("[{\"slots\":[0],\"nodes\":[]}]").find("start,end pairs"), std::string::npos);
  EXPECT_NE(
      topology_error("[{\"slots\":[0,16384],\"nodes\":[{\"id\":\"a\",\"role\":\"master\",\"ip\":\"h\",\"port\":1}]}]")
          .find("0-16384 is not a range"),
      std::string::npos);
  EXPECT_NE(topology_error("slots\n0\n16383\nnodes\nport\n7000\n").find("line 5: expected \"id\""), std::string::npos);
  EXPECT_NE(topology_error("slots\n0\nx\nnodes\n").find("line 3"), std::string::npos);
  EXPECT_NE(topology_error("slots\n0\n16383\n").find("without \"nodes\""), std::string::npos);
  EXPECT_NE(topology_error("slots\n0\n16383\nnodes\nid\n").find("without a value"), std::string::npos);
  EXPECT_NE(topology_error("1) (error) ERR This instance has cluster support disabled\n").find("error"),
            std::string::npos);
  const std::string two_primaries =
      "slots\n0\n16383\nnodes\nid\naa\nip\nh\nport\n1\nrole\nmaster\n"
      "id\nbb\nip\nh\nport\n2\nrole\nmaster\n";
  EXPECT_NE(topology_error(two_primaries).find("two primaries in one shard"), std::string::npos);
}

TEST(ClusterTopology, ClaimedTwiceAcrossShards) {
  const std::string text =
      R"([["slots",[0,16383],"nodes",[["id","aaaa1111","ip","10.0.0.1","port",1,"role","master"]]],)"
      R"(["slots",[16000,16383],"nodes",[["id","bbbb2222","ip","10.0.0.2","port",2,"role","master"]]]])";
  EXPECT_NE(topology_error(text).find(
                "slots 16000-16383 are claimed by both 10.0.0.1:1 (aaaa1111) and 10.0.0.2:2 (bbbb2222)"),
            std::string::npos);
}

// ---- N primaries ------------------------------------------------------------------------------

TEST(ClusterTopology, EvenSplitOfThreeAsRedisCli) {
  const ClusterTopology t = even_split_topology(3);
  EXPECT_EQ(t.format, "primaries");
  ASSERT_EQ(t.primaries.size(), 3u);
  EXPECT_EQ(format_ranges(t.primaries[0].slots), "0-5460");
  EXPECT_EQ(format_ranges(t.primaries[1].slots), "5461-10922");
  EXPECT_EQ(format_ranges(t.primaries[2].slots), "10923-16383");
  EXPECT_EQ(t.primaries[0].id, "");
  EXPECT_EQ(t.primaries[0].address(), "");
  expect_owners_match(t);
}

TEST(ClusterTopology, EvenSplitEdges) {
  EXPECT_EQ(format_ranges(even_split_topology(1).primaries[0].slots), "0-16383");
  const ClusterTopology all = even_split_topology(kClusterSlots);
  ASSERT_EQ(all.primaries.size(), static_cast<size_t>(kClusterSlots));
  for (int i = 0; i < kClusterSlots; ++i) ASSERT_EQ(all.owner[i], i);
  for (int n : {2, 4, 5, 6, 7, 100, 1000, 7541}) {
    const ClusterTopology t = even_split_topology(n);
    EXPECT_EQ(t.primaries.size(), static_cast<size_t>(n));
    expect_owners_match(t);
  }
  // redis-cli's single-precision cursor runs past slot 16383 for some large counts (7542 is the
  // first); redis-cli itself plans slot 16384 then (RedisCliPlansTheEvenSplit).
  EXPECT_THROW(even_split_topology(7542), Error);
  EXPECT_THROW(even_split_topology(0), Error);
  EXPECT_THROW(even_split_topology(kClusterSlots + 1), Error);
}

TEST(ClusterTopology, LoadTopologyArguments) {
  EXPECT_EQ(load_topology("3").format, "primaries");
  EXPECT_EQ(load_topology("3").primaries.size(), 3u);
  for (const char* bad : {"0", "16385", "99999999999999999999"}) {
    try {
      load_topology(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kBadTopology) << bad;
      EXPECT_NE(std::string(e.what()).find("1 to 16384 primaries"), std::string::npos) << e.what();
    }
  }
  test::TempDir dir;
  try {
    load_topology(dir.file("missing.txt"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCannotOpen);
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos);
  }
  try {
    load_topology(dir.path());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCannotOpen) << e.what();
  }
  test::write_file(dir.file("nodes.txt"), std::string(kClusterNodes));
  const ClusterTopology t = load_topology(dir.file("nodes.txt"));
  EXPECT_EQ(summary(t.primaries), summary(sample_primaries()));
  test::write_file(dir.file("3"), std::string(kShardsJson));
  EXPECT_EQ(load_topology(dir.file("3")).format, "cluster-shards-json");
}

// ---- real servers ---------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

bool have_redis_cli() { return test::run({"redis-cli", "--version"}, 10).exit_code == 0; }


std::string address_of(const test::RedisServer& server) { return "127.0.0.1:" + std::to_string(server.port()); }

// redis-cli against one server; its standard output.
std::string redis_cli(const test::RedisServer& server, std::vector<std::string> args) {
  args.insert(args.begin(), {"redis-cli", "-p", std::to_string(server.port())});
  const test::RunResult r = test::run(args, 60);
  if (r.exit_code != 0) throw std::runtime_error("redis-cli failed: " + r.err + r.out);
  return r.out;
}

// Retries `step` (which throws or returns false while not yet done) for up to `seconds`.
void retry_until(const std::function<bool()>& step, int seconds, const std::function<std::string()>& what) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::string last;
  for (;;) {
    try {
      if (step()) return;
      last.clear();
    } catch (const std::exception& e) {
      last = e.what();
    }
    if (Clock::now() > deadline) throw std::runtime_error("timed out waiting for " + what() + " (" + last + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Servers made one cluster by `redis-cli --cluster create`, and nodes added to it later.
class RealCluster {
 public:
  explicit RealCluster(int primaries) {
    std::vector<std::string> args = {"redis-cli", "--cluster", "create"};
    for (int i = 0; i < primaries; ++i) {
      nodes_.push_back(test::start_cluster_enabled_server());
      args.push_back(address_of(*nodes_.back()));
    }
    args.push_back("--cluster-yes");
    const test::RunResult r = test::run(args, 120);
    if (r.exit_code != 0) throw std::runtime_error("redis-cli --cluster create failed: " + r.out + r.err);
  }

  size_t size() const { return nodes_.size(); }
  test::RedisServer& node(size_t i) { return *nodes_[i]; }
  std::string id(size_t i) { return node(i).client().ok({"CLUSTER", "MYID"}).text(); }

  // A new node that met the cluster: a primary without slots until told otherwise.
  test::RedisServer& add_node() {
    nodes_.push_back(test::start_cluster_enabled_server());
    // The bus port is given: the default (port + 10000) is not node 0's.
    const std::string bus_port = node(0).client().ok({"CONFIG", "GET", "cluster-port"}).strings().at(1);
    nodes_.back()->client().ok({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(0).port()), bus_port});
    return *nodes_.back();
  }

  // Waits until every node's CLUSTER NODES parses to one topology that `done` accepts (given
  // the topology and one node's text); returns that topology.
  ClusterTopology wait_until_agreed(const std::function<bool(const ClusterTopology&, const std::string&)>& done) {
    ClusterTopology agreed;
    std::string views;  // the last CLUSTER NODES of each node, for the message on a timeout
    retry_until(
        [&] {
          views.clear();
          bool same = true;
          for (size_t i = 0; i < size(); ++i) {
            const std::string text = node(i).client().ok({"CLUSTER", "NODES"}).text();
            views += "node " + std::to_string(i) + ":\n" + text;
            const ClusterTopology t = parse_topology(text, "CLUSTER NODES of node " + std::to_string(i));
            same = same && done(t, text) && (i == 0 || summary(t.primaries) == summary(agreed.primaries));
            agreed = t;
          }
          return same;
        },
        30, [&] { return "the nodes to agree on the topology; last views:\n" + views; });
    return agreed;
  }

 private:
  std::vector<std::unique_ptr<test::RedisServer>> nodes_;
};

std::vector<std::string> slot_lists(const ClusterTopology& t) {
  std::vector<std::string> lists;
  for (const ClusterPrimary& p : t.primaries) lists.push_back(format_ranges(p.slots));
  return lists;
}

TEST(ClusterTopology, RealClusterEveryOutputParsesLikeClusterNodes) {
  if (!have_redis_cli()) GTEST_SKIP() << "redis-cli not found";
  RealCluster cluster(3);
  const ClusterTopology created =
      cluster.wait_until_agreed([](const ClusterTopology&, const std::string&) { return true; });
  EXPECT_EQ(slot_lists(created), slot_lists(even_split_topology(3)));

  // A replica of node 0, a primary without slots, node 0 announcing a hostname, slot 100 being
  // migrated from node 0 to node 1, slot 200 moved to node 1.
  test::RedisServer& replica = cluster.add_node();
  cluster.add_node();
  const std::string id0 = cluster.id(0), id1 = cluster.id(1);
  retry_until(
      [&] {
        return replica.client().ok({"CLUSTER", "REPLICATE", id0}).is_status();
      },
      30, [] { return "CLUSTER REPLICATE"; });
  cluster.node(0).client().ok({"CONFIG", "SET", "cluster-announce-hostname", "node0.example"});
  cluster.node(1).client().ok({"CLUSTER", "SETSLOT", "100", "IMPORTING", id0});
  cluster.node(0).client().ok({"CLUSTER", "SETSLOT", "100", "MIGRATING", id1});
  cluster.node(1).client().ok({"CLUSTER", "SETSLOT", "200", "IMPORTING", id0});
  cluster.node(0).client().ok({"CLUSTER", "SETSLOT", "200", "MIGRATING", id1});
  cluster.node(1).client().ok({"CLUSTER", "SETSLOT", "200", "NODE", id1});
  cluster.node(0).client().ok({"CLUSTER", "SETSLOT", "200", "NODE", id1});
  const ClusterTopology want = cluster.wait_until_agreed([](const ClusterTopology& t, const std::string& text) {
    return t.primaries.size() == 4 && t.owner[200] == 1 && text.find("slave ") != std::string::npos &&
           text.find("node0.example") != std::string::npos;
  });
  EXPECT_EQ(slot_lists(want), (std::vector<std::string>{"0-199,201-5460", "200,5461-10922", "10923-16383", ""}));

  // Every node's nodes.conf.
  for (size_t i = 0; i < cluster.size(); ++i) {
    cluster.node(i).client().ok({"CLUSTER", "SAVECONFIG"});
    const ClusterTopology t = parse_topology(test::read_file(cluster.node(i).dir() + "/nodes.conf"), "nodes.conf");
    expect_same(t, want, "nodes.conf of node " + std::to_string(i));
  }
  // Every printed form of CLUSTER SHARDS, asked of the node importing slot 100.
  const struct {
    std::vector<std::string> args;
    const char* format;
  } forms[] = {
      {{"--no-raw", "cluster", "shards"}, "cluster-shards"},
      {{"cluster", "shards"}, "cluster-shards"},
      {{"-3", "--no-raw", "cluster", "shards"}, "cluster-shards"},
      {{"-3", "cluster", "shards"}, "cluster-shards"},
      {{"--json", "cluster", "shards"}, "cluster-shards-json"},
      {{"-2", "--json", "cluster", "shards"}, "cluster-shards-json"},
      {{"-3", "--json", "cluster", "shards"}, "cluster-shards-json"},
      {{"--quoted-json", "cluster", "shards"}, "cluster-shards-json"},
  };
  for (const auto& form : forms) {
    std::string name = "redis-cli";
    for (const auto& a : form.args) name += " " + a;
    const std::string text = redis_cli(cluster.node(1), form.args);
    const ClusterTopology t = parse_topology(text, name);
    EXPECT_EQ(t.format, form.format) << name;
    expect_same(t, want, name + ":\n" + text);
  }
}

TEST(ClusterTopology, RealClusterOfFivePrimariesIsSplitAsEvenSplit) {
  if (!have_redis_cli()) GTEST_SKIP() << "redis-cli not found";
  RealCluster cluster(5);
  const ClusterTopology t = cluster.wait_until_agreed([](const ClusterTopology&, const std::string&) { return true; });
  EXPECT_EQ(slot_lists(t), slot_lists(even_split_topology(5)));
  for (size_t i = 0; i < cluster.size(); ++i) {
    // redis-cli gives the ranges in the order of its arguments.
    EXPECT_EQ(t.primaries[i].address(), address_of(cluster.node(i)));
  }
}

// The plan `redis-cli --cluster create` prints before asking: one node's address given N times
// is enough for it (the answer "no" stops it there).
std::vector<std::string> redis_cli_plan(const test::RedisServer& server, int primaries, const std::string& stdin_path) {
  std::vector<std::string> args = {"redis-cli", "--cluster", "create"};
  for (int i = 0; i < primaries; ++i) args.push_back(address_of(server));
  const test::RunResult r = test::run(args, 120, stdin_path);
  static const std::regex kLine(R"(Master\[\d+\] -> Slots (\d+) - (\d+))");
  std::vector<std::string> plan;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), kLine); it != std::sregex_iterator(); ++it) {
    plan.push_back((*it)[1] == (*it)[2] ? (*it)[1].str() : (*it)[1].str() + "-" + (*it)[2].str());
  }
  return plan;
}

TEST(ClusterTopology, RedisCliPlansTheEvenSplit) {
  if (!have_redis_cli()) GTEST_SKIP() << "redis-cli not found";
  auto server = test::start_cluster_enabled_server();
  test::TempDir dir;
  test::write_file(dir.file("answer"), "no\n");
  std::vector<int> counts;
  for (int n = 3; n <= 17; ++n) counts.push_back(n);
  for (int n : {31, 64, 100, 500}) counts.push_back(n);
  for (int n : counts) {
    EXPECT_EQ(redis_cli_plan(*server, n, dir.file("answer")), slot_lists(even_split_topology(n))) << n << " primaries";
  }
  // The first count where redis-cli's rounding runs past the last slot: it plans slot 16384.
  // (redis-cli holds one connection per address: that needs a file limit above 7542.)
  const std::vector<std::string> plan = redis_cli_plan(*server, 7542, dir.file("answer"));
  if (plan.empty()) GTEST_SKIP() << "redis-cli could not open 7542 connections (ulimit -n?)";
  ASSERT_EQ(plan.size(), 7542u);
  EXPECT_EQ(plan.back(), "16384");
  EXPECT_THROW(even_split_topology(7542), Error);
}

}  // namespace
}  // namespace rdbrekey
