// A redis-server process for end-to-end tests: Debian's redis-server on 127.0.0.1 and a free
// port, in a directory of its own (or a given one), with no persistence of its own (save "",
// appendonly no). Stopped by PID (SIGTERM, then SIGKILL) in the destructor.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.h"
#include "resp_client.h"

namespace rdbrekey::test {

struct RedisServerOptions {
  // Directory the server runs in (--dir): its RDB file and its log live there. Empty: a fresh
  // temporary directory owned by the RedisServer object.
  std::string dir;
  // The RDB file name in dir (--dbfilename); the server loads it at start-up when it exists.
  std::string dbfilename = "dump.rdb";
  // Extra "--name value" arguments, e.g. {"--rdbcompression", "yes"}.
  std::vector<std::string> extra_args;
  // How long to wait for the first PONG.
  int start_timeout_s = 10;
};

class RedisServer {
 public:
  // Starts a server; throws std::runtime_error (with the server's log tail) when it does not
  // answer PING within the timeout or exits before.
  explicit RedisServer(RedisServerOptions options = {});
  // Starts a server on an existing RDB file: runs in the file's directory with that file name.
  static std::unique_ptr<RedisServer> on_rdb(const std::string& rdb_path);

  // Starts a server and reports instead of throwing: on success `server` is set and `error` is
  // empty; on failure (e.g. the RDB cannot be loaded and the server exits) `server` is null and
  // `error` says why, with the tail of the server's log.
  struct StartResult {
    std::unique_ptr<RedisServer> server;
    std::string error;
    std::string log;  // the whole log on failure
  };
  static StartResult try_start(RedisServerOptions options);
  static StartResult try_start_on_rdb(const std::string& rdb_path);

  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string rdb_path() const { return dir_ + "/" + options_.dbfilename; }
  std::string log_path() const { return log_path_; }
  std::string log() const;

  // A new connection to the server.
  RespClient connect() const;
  // The server's own connection (created on first use).
  RespClient& client();

  // Stops the server (SIGTERM, waits up to timeout_s, then SIGKILL); returns its exit status
  // (128 + signal when killed). Idempotent: later calls return the first status.
  int stop(int timeout_s = 10);
  bool running() const { return pid_ > 0; }

 private:
  struct NoStart {};
  RedisServer(RedisServerOptions options, NoStart);
  // One attempt on one port; returns an empty string on success, the reason otherwise.
  std::string start_once();

  RedisServerOptions options_;
  std::unique_ptr<TempDir> own_dir_;
  std::string dir_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::optional<RespClient> client_;
};

// The redis-server executable: $RDBREKEY_REDIS_SERVER, else redis-server in PATH, else
// /usr/bin/redis-server.
std::string redis_server_binary();

// A single server with cluster mode on (CLUSTER KEYSLOT, a node to join into a cluster), its
// cluster bus port chosen too: the default (port + 10000) does not exist above port 55535.
// Tries other ports when one was taken meanwhile; throws std::runtime_error after 5 tries.
std::unique_ptr<RedisServer> start_cluster_enabled_server();

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int pick_free_port();

// The last `max_lines` lines of a text.
std::string tail_lines(const std::string& text, size_t max_lines);

}  // namespace rdbrekey::test
