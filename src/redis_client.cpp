#include "rdbrekey/redis_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "rdbrekey/error.h"

namespace rdbrekey {

// ---- addresses ----------------------------------------------------------------------------------

std::string RedisEndpoint::address() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

namespace {

std::string percent_decoded(std::string_view s, const char* what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size())
      throw Error(Errc::kBadOption, fmt::format("--to: a % escape in the {} is cut short", what));
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || p != s.data() + i + 3)
      throw Error(Errc::kBadOption, fmt::format("--to: a % escape in the {} is not two hex digits", what));
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

}  // namespace

RedisUrl parse_redis_url(std::string_view url) {
  RedisUrl u;
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("rediss://")) {
    rest = url.substr(9);
    u.tls = true;
  } else {
    throw Error(Errc::kBadOption, "--to: expected redis://[USER[:PASSWORD]@]HOST:PORT (or rediss:// for TLS)");
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // redis://PASSWORD@host, as redis-cli -u reads it
      u.credentials.password = percent_decoded(userinfo, "password");
    } else {
      u.credentials.user = percent_decoded(userinfo.substr(0, colon), "user name");
      u.credentials.password = percent_decoded(userinfo.substr(colon + 1), "password");
    }
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), u.db);
      if (ec != std::errc() || p != db.data() + db.size() || u.db < 0)
        throw Error(Errc::kBadOption, fmt::format("--to: database \"{}\" is not a number", db));
    }
  }
  std::string_view host = rest, port;
  if (rest.starts_with("[")) {  // [IPv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) throw Error(Errc::kBadOption, "--to: an IPv6 address without its ']'");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') throw Error(Errc::kBadOption, "--to: expected :PORT after the IPv6 address");
      port = rest.substr(close + 2);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) throw Error(Errc::kBadOption, "--to: no host");
  u.endpoint.host = std::string(host);
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
      throw Error(Errc::kBadOption, fmt::format("--to: port \"{}\" is not 1..65535", port));
    u.endpoint.port = static_cast<uint16_t>(v);
  }
  return u;
}

// ---- RESP ---------------------------------------------------------------------------------------

std::string_view RedisReply::error_code() const {
  std::string_view s = str;
  return s.substr(0, s.find(' '));
}

std::string RedisReply::describe() const {
  switch (kind) {
    case Kind::kString: return fmt::format("\"{}\"", quote_bytes(str.data(), str.size()));
    case Kind::kStatus: return str;
    case Kind::kError: return "-" + str;
    case Kind::kInteger: return std::to_string(integer);
    case Kind::kNil: return "(nil)";
    case Kind::kArray: return fmt::format("({} elements)", elements.size());
  }
  return "?";
}

void append_bulk_header(std::string& out, size_t size) {
  char buf[32];
  buf[0] = '$';
  auto [p, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, size);
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<size_t>(p - buf));
}

void append_command(std::string& out, std::span<const std::string_view> args) {
  char buf[32];
  buf[0] = '*';
  auto [p, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, args.size());
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<size_t>(p - buf));
  for (std::string_view a : args) {
    append_bulk_header(out, a.size());
    out.append(a);
    out.append("\r\n", 2);
  }
}

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

namespace {

RedisReply copy_reply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.kind = RedisReply::Kind::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = RedisReply::Kind::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = RedisReply::Kind::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = RedisReply::Kind::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = RedisReply::Kind::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      out.kind = RedisReply::Kind::kNil;
  }
  return out;
}

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

// ---- the connection -----------------------------------------------------------------------------

RedisConnection::RedisConnection(const RedisEndpoint& endpoint, const RedisCredentials& credentials, int timeout_ms)
    : endpoint_(endpoint) {
  reader_ = redisReaderCreate();
  if (!reader_) throw std::bad_alloc();
  reader_->maxbuf = 0;  // keep the reader's buffer between replies (no shrinking at every reply)
  connect_socket(timeout_ms);
  if (!credentials.password.empty()) {
    RedisReply r = credentials.user.empty() ? call({"AUTH", credentials.password}, timeout_ms)
                                            : call({"AUTH", credentials.user, credentials.password}, timeout_ms);
    if (r.is_error())
      throw Error(Errc::kTargetRefused,
                  fmt::format("{}: authentication{} refused: {}", endpoint_.address(),
                              credentials.user.empty() ? "" : fmt::format(" as user \"{}\"", credentials.user), r.str));
  }
  RedisReply pong = call({"PING"}, timeout_ms);
  if (pong.is_error()) {
    std::string_view code = pong.error_code();
    if (code == "NOAUTH")
      throw Error(Errc::kTargetRefused,
                  fmt::format("{}: the server needs a password: give it in --to (redis://USER:PASSWORD@HOST:PORT), "
                              "in RDBREKEY_PASSWORD or with --password-file",
                              endpoint_.address()));
    throw Error(Errc::kTargetRefused, fmt::format("{}: PING answered {}", endpoint_.address(), pong.describe()));
  }
}

RedisConnection::~RedisConnection() {
  if (fd_ >= 0) ::close(fd_);
  if (reader_) redisReaderFree(reader_);
}

void RedisConnection::connect_socket(int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(endpoint_.port);
  if (int rc = ::getaddrinfo(endpoint_.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    throw Error(Errc::kTargetUnavailable,
                fmt::format("{}: cannot resolve the host: {}", endpoint_.address(), ::gai_strerror(rc)));
  std::string why = "no address";
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, ms_left(deadline));
      if (rc == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        rc = -1;
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fd_ = fd;
      break;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) throw Error(Errc::kTargetUnavailable, fmt::format("{}: cannot connect: {}", endpoint_.address(), why));
}

void RedisConnection::broken(const std::string& what) {
  throw Error(Errc::kTargetUnavailable,
              fmt::format("{}: {} ({} command(s) had no reply yet)", endpoint_.address(), what, in_flight_));
}

short RedisConnection::poll_events() const {
  short events = 0;
  if (in_flight_ > replies_.size()) events |= POLLIN;
  if (sent_ < out_.size()) events |= POLLOUT;
  return events;
}

void RedisConnection::write_some() {
  while (sent_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    broken(fmt::format("the connection broke while sending: {}", std::strerror(errno)));
  }
  if (sent_ == out_.size()) {
    out_.clear();
    sent_ = 0;
  } else if (sent_ > (size_t{4} << 20) && sent_ * 2 > out_.size()) {
    out_.erase(0, sent_);  // what was sent is dropped now and then, not at every write
    sent_ = 0;
  }
}

void RedisConnection::read_some() {
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      if (redisReaderFeed(reader_, buf, static_cast<size_t>(n)) != REDIS_OK) broken("could not buffer a reply");
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n == 0) broken("the server closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    broken(fmt::format("the connection broke while receiving: {}", std::strerror(errno)));
  }
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
      broken(fmt::format("the server sent something that is not RESP: {}", reader_->errstr));
    if (!raw) break;
    replies_.push_back(copy_reply(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
}

void RedisConnection::on_ready(short revents) {
  if (revents & POLLOUT) write_some();
  if (revents & (POLLIN | POLLHUP | POLLERR)) read_some();
}

void RedisConnection::pump(int timeout_ms) {
  write_some();
  short events = poll_events();
  if (events == 0) return;
  pollfd p{fd_, events, 0};
  int rc = ::poll(&p, 1, timeout_ms);
  if (rc < 0 && errno != EINTR) broken(fmt::format("poll: {}", std::strerror(errno)));
  if (rc > 0) on_ready(p.revents);
}

bool RedisConnection::take_reply(RedisReply& reply) {
  if (replies_.empty()) return false;
  reply = std::move(replies_.front());
  replies_.pop_front();
  --in_flight_;
  return true;
}

RedisReply RedisConnection::call(std::initializer_list<std::string_view> args, int timeout_ms) {
  append_command(out_, args);
  queued(1);
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  RedisReply r;
  while (!take_reply(r)) {
    if (Clock::now() >= deadline)
      broken(fmt::format("no reply to {} within {} ms", *args.begin(), timeout_ms));
    pump(std::min(ms_left(deadline), 1000));
  }
  return r;
}

}  // namespace rdbrekey
