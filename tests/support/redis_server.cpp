#include "redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace rdbrekey::test {

namespace {

using Clock = std::chrono::steady_clock;

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string read_file_or_empty(const std::string& path) {
  try {
    return read_file(path);
  } catch (...) {
    return {};
  }
}

}  // namespace

std::string redis_server_binary() {
  if (const char* env = std::getenv("RDBREKEY_REDIS_SERVER"); env && *env) return env;
  if (const char* path = std::getenv("PATH"); path && *path) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      std::string dir = p.substr(start, end - start);
      if (!dir.empty()) {
        std::string cand = dir + "/redis-server";
        if (is_executable(cand)) return cand;
      }
      start = end + 1;
    }
  }
  return "/usr/bin/redis-server";
}

int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind: ") + std::strerror(e));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error(std::string("getsockname: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string tail_lines(const std::string& text, size_t max_lines) {
  if (text.empty()) return text;
  size_t end = text.size();
  if (text.back() == '\n') --end;
  size_t pos = end;
  size_t lines = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++lines == max_lines) break;
    --pos;
  }
  return text.substr(pos);
}

RedisServer::RedisServer(RedisServerOptions options, NoStart) : options_(std::move(options)) {
  if (options_.dir.empty()) {
    own_dir_ = std::make_unique<TempDir>();
    dir_ = own_dir_->path();
  } else {
    dir_ = std::filesystem::absolute(options_.dir).string();
  }
}

RedisServer::RedisServer(RedisServerOptions options) : RedisServer(std::move(options), NoStart{}) {
  std::string err;
  for (int attempt = 0; attempt < 5; ++attempt) {
    err = start_once();
    if (err.empty()) return;
    // Someone took the port between pick_free_port() and the server's bind: try another one.
    if (err.find("Address already in use") == std::string::npos) break;
  }
  throw std::runtime_error(err);
}

RedisServer::StartResult RedisServer::try_start(RedisServerOptions options) {
  StartResult r;
  std::unique_ptr<RedisServer> s(new RedisServer(std::move(options), NoStart{}));
  for (int attempt = 0; attempt < 5; ++attempt) {
    r.error = s->start_once();
    if (r.error.empty()) {
      r.server = std::move(s);
      return r;
    }
    r.log = s->log();
    if (r.error.find("Address already in use") == std::string::npos) break;
  }
  return r;
}

std::unique_ptr<RedisServer> RedisServer::on_rdb(const std::string& rdb_path) {
  std::filesystem::path p = std::filesystem::absolute(rdb_path);
  RedisServerOptions o;
  o.dir = p.parent_path().string();
  o.dbfilename = p.filename().string();
  return std::make_unique<RedisServer>(std::move(o));
}

RedisServer::StartResult RedisServer::try_start_on_rdb(const std::string& rdb_path) {
  std::filesystem::path p = std::filesystem::absolute(rdb_path);
  RedisServerOptions o;
  o.dir = p.parent_path().string();
  o.dbfilename = p.filename().string();
  return try_start(std::move(o));
}

std::string RedisServer::start_once() {
  port_ = pick_free_port();
  log_path_ = dir_ + "/redis-" + std::to_string(port_) + ".log";
  ::unlink(log_path_.c_str());

  const std::string bin = redis_server_binary();
  std::vector<std::string> argv = {bin,
                                   "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1",
                                   "--dir", dir_,
                                   "--dbfilename", options_.dbfilename,
                                   "--logfile", log_path_,
                                   "--save", "",
                                   "--appendonly", "no",
                                   "--databases", "16",
                                   "--daemonize", "no",
                                   "--protected-mode", "no"};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());

  std::string spawn_error;
  pid_t pid = spawn_logged(std::move(argv), log_path_, spawn_error);
  if (pid < 0) return spawn_error;
  pid_ = pid;
  exit_status_ = -1;

  auto deadline = Clock::now() + std::chrono::seconds(options_.start_timeout_s);
  std::string last;
  for (;;) {
    int status = 0;
    pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_) {
      pid_ = -1;
      exit_status_ = status_code(status);
      std::string log = this->log();
      return "redis-server (port " + std::to_string(port_) + ", " + dir_ + "/" + options_.dbfilename + ") " +
             describe_status(status) + " before answering PING; log tail:\n" + tail_lines(log, 25);
    }
    try {
      RespClient c(port_, 5);
      for (;;) {
        Reply r = c.cmd({"PING"});
        if (r.is_status() && r.str == "PONG") {
          client_.emplace(std::move(c));
          return {};
        }
        last = to_string(r);
        // -LOADING while the RDB is loaded: ask again on the same connection.
        if (Clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          exit_status_ = status_code(status);
          return "redis-server (port " + std::to_string(port_) + ") " + describe_status(status) +
                 " while loading; log tail:\n" + tail_lines(this->log(), 25);
        }
      }
    } catch (const std::exception& e) {
      last = e.what();
    }
    if (Clock::now() > deadline) {
      stop(2);
      return "redis-server (port " + std::to_string(port_) + ") did not answer PING within " +
             std::to_string(options_.start_timeout_s) + " s (last: " + last + "); log tail:\n" +
             tail_lines(this->log(), 25);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

RedisServer::~RedisServer() { stop(); }

std::string RedisServer::log() const { return read_file_or_empty(log_path_); }

RespClient RedisServer::connect() const { return RespClient(port_); }

RespClient& RedisServer::client() {
  if (!client_) client_.emplace(port_);
  return *client_;
}

int RedisServer::stop(int timeout_s) {
  client_.reset();
  if (pid_ <= 0) return exit_status_;
  ::kill(pid_, SIGTERM);
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_) break;
    if (w < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    if (Clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  exit_status_ = status < 0 ? -1 : status_code(status);
  return exit_status_;
}

std::unique_ptr<RedisServer> start_cluster_enabled_server() {
  std::string error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    RedisServerOptions options;
    options.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port",
                          std::to_string(pick_free_port())};
    auto started = RedisServer::try_start(std::move(options));
    if (started.server) return std::move(started.server);
    error = started.error;
  }
  throw std::runtime_error(error);
}

}  // namespace rdbrekey::test
