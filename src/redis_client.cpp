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
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string percent_decoded(std::string_view s, const char* what, std::string_view url_from) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size())
      throw Error(Errc::kBadOption, fmt::format("{}: a % escape in the {} is cut short", url_from, what));
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || p != s.data() + i + 3)
      throw Error(Errc::kBadOption, fmt::format("{}: a % escape in the {} is not two hex digits", url_from, what));
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

}  // namespace

RedisUrl parse_redis_url(std::string_view url, std::string_view what) {
  RedisUrl u;
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("rediss://")) {
    rest = url.substr(9);
    u.tls = true;
  } else {
    throw Error(Errc::kBadOption,
                fmt::format("{}: expected redis://[USER[:PASSWORD]@]HOST:PORT (or rediss:// for TLS)", what));
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // redis://PASSWORD@host, as redis-cli -u reads it
      u.credentials.password = percent_decoded(userinfo, "password", what);
    } else {
      u.credentials.user = percent_decoded(userinfo.substr(0, colon), "user name", what);
      u.credentials.password = percent_decoded(userinfo.substr(colon + 1), "password", what);
    }
  }
  // A query or fragment after HOST:PORT[/DB] names nothing this tool uses.
  rest = rest.substr(0, rest.find_first_of("?#"));
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), u.db);
      if (ec != std::errc() || p != db.data() + db.size() || u.db < 0)
        throw Error(Errc::kBadOption, fmt::format("{}: database \"{}\" is not a number", what, db));
    }
  }
  std::string_view host = rest, port;
  if (rest.starts_with("[")) {  // [IPv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) throw Error(Errc::kBadOption, fmt::format("{}: an IPv6 address without its ']'", what));
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') throw Error(Errc::kBadOption, fmt::format("{}: expected :PORT after the IPv6 address", what));
      port = rest.substr(close + 2);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) throw Error(Errc::kBadOption, fmt::format("{}: no host", what));
  u.endpoint.host = std::string(host);
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
      throw Error(Errc::kBadOption, fmt::format("{}: port \"{}\" is not 1..65535", what, port));
    u.endpoint.port = static_cast<uint16_t>(v);
  }
  return u;
}

// ---- TLS ----------------------------------------------------------------------------------------

namespace {

// OpenSSL's queued errors as one line (and the queue emptied).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

TlsContext::TlsContext(TlsOptions options) : options_(std::move(options)) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) throw Error(Errc::kInternal, "TLS: cannot make a context: " + openssl_errors());
  ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Partial writes, from a buffer that may move between the tries of one write (out_ grows).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  auto fail = [&](const std::string& what) {
    std::string detail = openssl_errors();
    SSL_CTX_free(ctx);
    ctx_ = nullptr;
    throw Error(Errc::kBadOption, fmt::format("TLS: {}: {}", what, detail));
  };
  if (options_.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (options_.ca_file.empty() && options_.ca_dir.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) fail("cannot load the system's certificate authorities");
    } else if (SSL_CTX_load_verify_locations(ctx, options_.ca_file.empty() ? nullptr : options_.ca_file.c_str(),
                                             options_.ca_dir.empty() ? nullptr : options_.ca_dir.c_str()) != 1) {
      fail(fmt::format("cannot load the certificate authorities of --cacert {} / --cacertdir {}",
                       options_.ca_file.empty() ? "-" : options_.ca_file, options_.ca_dir.empty() ? "-" : options_.ca_dir));
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (options_.cert_file.empty() != options_.key_file.empty())
    fail("--cert and --key go together (a client certificate and its private key)");
  if (!options_.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options_.cert_file.c_str()) != 1)
      fail("cannot use the client certificate --cert " + options_.cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      fail("cannot use the private key --key " + options_.key_file);
    if (SSL_CTX_check_private_key(ctx) != 1) fail("--key does not belong to --cert");
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

void RedisConnection::handshake(const TlsContext& tls, int timeout_ms) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(tls.ssl_ctx()));
  if (!ssl) throw Error(Errc::kInternal, "TLS: " + openssl_errors());
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  const std::string& name = tls.options().server_name.empty() ? endpoint_.host : tls.options().server_name;
  if (!is_ip_literal(name)) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (tls.options().verify) {
    // The certificate must name the host (an IP address in an IP SAN).
    if (is_ip_literal(name) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1
                            : SSL_set1_host(ssl, name.c_str()) != 1)
      throw Error(Errc::kBadOption, fmt::format("TLS: cannot check the name {}: {}", name, openssl_errors()));
  }
  // A server that does not speak TLS on that port never answers: at most 10 s for the handshake.
  auto deadline = Clock::now() + std::chrono::milliseconds(std::min(timeout_ms, 10000));
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl);
    if (rc == 1) return;
    int err = SSL_get_error(ssl, rc);
    short wait = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (wait == 0) {
      long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK)
        throw Error(Errc::kTargetRefused,
                    fmt::format("{}: TLS: the server's certificate is not trusted: {}. Give its CA with --cacert "
                                "(or --cacertdir), its name with --sni, or skip the check with --insecure",
                                endpoint_.address(), X509_verify_cert_error_string(verify)));
      std::string detail = openssl_errors();
      if (err == SSL_ERROR_SYSCALL && detail == "no detail from OpenSSL")
        detail = errno ? std::strerror(errno) : "the server closed the connection (is it a TLS port? does it want a "
                                                "client certificate: --cert, --key?)";
      throw Error(Errc::kTargetRefused, fmt::format("{}: TLS handshake failed: {}", endpoint_.address(), detail));
    }
    int left = ms_left(deadline);
    if (left <= 0)
      throw Error(Errc::kTargetUnavailable,
                  fmt::format("{}: TLS handshake timed out (if that port does not speak TLS, use redis://)",
                              endpoint_.address()));
    pollfd p{fd_, wait, 0};
    if (::poll(&p, 1, left) < 0 && errno != EINTR)
      throw Error(Errc::kTargetUnavailable, fmt::format("{}: poll: {}", endpoint_.address(), std::strerror(errno)));
  }
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

namespace {

void append_array_header(std::string& out, size_t count) {
  char buf[32];
  buf[0] = '*';
  auto [p, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, count);
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<size_t>(p - buf));
}

void append_bulk(std::string& out, std::string_view a) {
  append_bulk_header(out, a.size());
  out.append(a);
  out.append("\r\n", 2);
}

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> args) {
  append_array_header(out, args.size());
  for (std::string_view a : args) append_bulk(out, a);
}

void wrap_command(std::string& buffer, std::span<const std::string_view> args, size_t at) {
  std::string head;
  append_array_header(head, args.size());
  for (size_t i = 0; i < at; ++i) append_bulk(head, args[i]);
  append_bulk_header(head, buffer.size());
  buffer.insert(0, head);
  buffer.append("\r\n", 2);
  for (size_t i = at + 1; i < args.size(); ++i) append_bulk(buffer, args[i]);
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

}  // namespace

// ---- replies -------------------------------------------------------------------------------------

RespReplyReader::RespReplyReader() {
  reader_ = redisReaderCreate();
  if (!reader_) throw std::bad_alloc();
  reader_->maxbuf = 0;  // keep the reader's buffer between replies (no shrinking at every reply)
}

RespReplyReader::~RespReplyReader() { redisReaderFree(reader_); }

bool RespReplyReader::fail(std::string what) {
  error_ = std::move(what);
  return false;
}

bool RespReplyReader::feed(const char* data, size_t size) {
  if (!error_.empty()) return false;
  size_t i = 0;
  while (i < size) {
    if (reader_busy_) {
      if (redisReaderFeed(reader_, data + i, size - i) != REDIS_OK) return fail("could not buffer a reply");
      return take_from_hiredis();
    }
    char type = partial_.empty() ? data[i] : partial_[0];
    if (type != '+' && type != '-' && type != ':') {
      reader_busy_ = true;
      continue;
    }
    const char* nl = static_cast<const char*>(std::memchr(data + i, '\n', size - i));
    if (!nl) {
      partial_.append(data + i, size - i);
      if (partial_.size() > (size_t{1} << 20)) return fail("the server sent a reply line longer than 1 MiB");
      return true;
    }
    size_t end = static_cast<size_t>(nl - data) + 1;
    std::string_view line(data + i, end - i);
    if (!partial_.empty()) {
      partial_.append(line);
      line = partial_;
    }
    i = end;
    if (line.size() < 3 || line[line.size() - 2] != '\r')
      return fail(fmt::format("the server sent something that is not RESP: {}", quote_bytes(line.data(), line.size())));
    line = line.substr(1, line.size() - 3);
    ++ready_;
    if (type == '+' && line == "OK") {
      ++ok_tail_;
    } else {
      Parsed& p = parsed_.emplace_back();
      p.oks_before = ok_tail_;
      ok_tail_ = 0;
      if (type == ':') {
        p.reply.kind = RedisReply::Kind::kInteger;
        auto [q, ec] = std::from_chars(line.data(), line.data() + line.size(), p.reply.integer);
        if (ec != std::errc() || q != line.data() + line.size())
          return fail(fmt::format("the server sent something that is not RESP (an integer reply that is not a number): {}", quote_bytes(line.data(), line.size())));
      } else {
        p.reply.kind = type == '+' ? RedisReply::Kind::kStatus : RedisReply::Kind::kError;
        p.reply.str.assign(line);
      }
    }
    partial_.clear();
  }
  return true;
}

bool RespReplyReader::take_from_hiredis() {
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
      return fail(fmt::format("the server sent something that is not RESP: {}", reader_->errstr));
    if (!raw) break;
    Parsed& p = parsed_.emplace_back();
    p.oks_before = ok_tail_;
    ok_tail_ = 0;
    p.reply = copy_reply(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    ++ready_;
  }
  // Everything given to hiredis is consumed (no reply half read): back to the simple path.
  reader_busy_ = !(reader_->ridx == -1 && reader_->pos >= reader_->len);
  return true;
}

bool RespReplyReader::take(RedisReply& reply) {
  if (ready_ == 0) return false;
  if (!parsed_.empty() && parsed_.front().oks_before == 0) {
    reply = std::move(parsed_.front().reply);
    parsed_.pop_front();
  } else {
    if (!parsed_.empty()) --parsed_.front().oks_before;
    else --ok_tail_;
    reply.kind = RedisReply::Kind::kStatus;
    reply.str.assign("OK", 2);
    reply.integer = 0;
    reply.elements.clear();
  }
  --ready_;
  return true;
}

// ---- the connection -----------------------------------------------------------------------------

RedisConnection::RedisConnection(const RedisEndpoint& endpoint, const RedisCredentials& credentials, int timeout_ms)
    : endpoint_(endpoint) {
  try {
    connect_socket(timeout_ms);
    if (credentials.tls) handshake(*credentials.tls, timeout_ms);
    greet(credentials, timeout_ms);
  } catch (...) {
    release();  // no destructor runs for a constructor that throws
    throw;
  }
}

void RedisConnection::release() noexcept {
  SSL_free(static_cast<SSL*>(ssl_));
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RedisConnection::greet(const RedisCredentials& credentials, int timeout_ms) {
  try {
    greet_once(credentials, timeout_ms);
  } catch (const Error& e) {
    if (e.code() != Errc::kTargetUnavailable) throw;
    // Closed before the first reply: the usual signs of a TLS mismatch.
    std::string hint = !credentials.tls ? "; if that port speaks TLS, use rediss://"
                       : credentials.tls->options().cert_file.empty()
                           ? "; a TLS server that wants a client certificate (tls-auth-clients) closes the connection "
                             "like this: give --cert and --key"
                           : "";
    throw Error(e.code(), e.what() + hint);
  }
}

void RedisConnection::greet_once(const RedisCredentials& credentials, int timeout_ms) {
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

RedisConnection::~RedisConnection() { release(); }

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
              fmt::format("{}: {} ({} command(s) had no reply yet)", endpoint_.address(), what, in_flight()));
}

short RedisConnection::poll_events() const {
  short events = 0;
  if (sizes_.size() > replies_.ready()) events |= POLLIN;
  if (sent_ < marked_) events |= POLLOUT;
  if (write_wants_read_) events |= POLLIN;
  if (read_wants_write_) events |= POLLOUT;
  return events;
}

// TLS: how an SSL_write/SSL_read that did not move bytes ended; true when it is to be tried
// again once the socket is ready (`want_read`/`want_write` say for what).
static bool tls_retry(void* ssl, int rc, bool& want_read, bool& want_write, std::string& why) {
  int err = SSL_get_error(static_cast<SSL*>(ssl), rc);
  if (err == SSL_ERROR_WANT_READ) return want_read = true;
  if (err == SSL_ERROR_WANT_WRITE) return want_write = true;
  if (err == SSL_ERROR_ZERO_RETURN) why = "the server closed the connection";
  else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) why = rc == 0 || errno == 0 ? "the server closed the connection" : std::strerror(errno);
  else why = "TLS: " + openssl_errors();
  return false;
}

void RedisConnection::flush() {
  if (!write_blocked_) write_some();
}

void RedisConnection::write_some() {
  write_wants_read_ = false;
  write_blocked_ = false;
  while (ssl_ && sent_ < marked_) {
    ERR_clear_error();
    int chunk = static_cast<int>(std::min<size_t>(marked_ - sent_, size_t{1} << 30));
    int n = SSL_write(static_cast<SSL*>(ssl_), out_.data() + sent_, chunk);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      continue;
    }
    bool want_write = false;
    std::string why;
    if (tls_retry(ssl_, n, write_wants_read_, want_write, why)) {
      write_blocked_ = true;
      break;
    }
    broken("the connection broke while sending: " + why);
  }
  while (!ssl_ && sent_ < marked_) {
    ssize_t n = ::send(fd_, out_.data() + sent_, marked_ - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      write_blocked_ = true;  // until poll says POLLOUT
      break;
    }
    broken(fmt::format("the connection broke while sending: {}", std::strerror(errno)));
  }
  // What was answered is dropped now and then, not at every reply: all of it when everything was
  // answered, else once it is over kKeptBuffer and more than half the buffer (each byte is then
  // moved at most once). A buffer that a large value or a burst grew past kKeptBuffer is given
  // back when it is emptied or shrinks to a quarter: the connections of a cluster (and
  // --connections) would otherwise each keep their own high-water mark, and the window bounds
  // only the bytes in flight over all of them.
  constexpr size_t kKeptBuffer = size_t{1} << 20;
  if (acked_ == out_.size()) {
    if (out_.capacity() > kKeptBuffer)
      std::string().swap(out_);
    else
      out_.clear();
    acked_ = sent_ = marked_ = 0;
  } else if (acked_ > kKeptBuffer && acked_ * 2 > out_.size()) {
    out_.erase(0, acked_);
    sent_ -= acked_;
    marked_ -= acked_;
    acked_ = 0;
    if (out_.capacity() > kKeptBuffer && out_.capacity() > 4 * out_.size()) out_.shrink_to_fit();
  }
}

void RedisConnection::append_whole(std::string& command) {
  if (acked_ == out_.size()) {  // then sent_ and marked_ are there too
    out_.swap(command);
    acked_ = sent_ = marked_ = 0;
  } else {
    out_.append(command);
  }
  std::string().swap(command);
}

void RedisConnection::end_command() {
  sizes_.push_back(out_.size() - marked_);
  marked_ = out_.size();
}

void RedisConnection::read_some() {
  char buf[64 << 10];
  read_wants_write_ = false;
  while (ssl_) {  // until OpenSSL has nothing more buffered either
    ERR_clear_error();
    int n = SSL_read(static_cast<SSL*>(ssl_), buf, sizeof(buf));
    if (n > 0) {
      ingest(buf, static_cast<size_t>(n));
      continue;
    }
    bool want_read = false;
    std::string why;
    if (tls_retry(ssl_, n, want_read, read_wants_write_, why)) break;
    broken(why);
  }
  while (!ssl_) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      ingest(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n == 0) broken("the server closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    broken(fmt::format("the connection broke while receiving: {}", std::strerror(errno)));
  }
}

void RedisConnection::ingest(const char* data, size_t size) {
  if (!replies_.feed(data, size)) broken(replies_.error());
  if (replies_.ready() > sizes_.size()) broken("the server sent a reply to no command");
}

void RedisConnection::on_ready(short revents) {
  if (ssl_) {
    // Either direction may be what the other was waiting for: both are tried (neither blocks).
    if (sent_ < marked_) write_some();
    if (sizes_.size() > replies_.ready() || (revents & (POLLHUP | POLLERR))) read_some();
    return;
  }
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

bool RedisConnection::take_reply(RedisReply& reply, std::string_view* command) {
  if (!replies_.take(reply)) return false;
  uint64_t size = sizes_.front();
  if (command) *command = std::string_view(out_).substr(acked_, size);
  acked_ += size;
  sizes_.pop_front();
  return true;
}

std::vector<std::string_view> RedisConnection::unanswered() const {
  std::vector<std::string_view> out;
  size_t at = acked_;
  for (uint64_t size : sizes_) {
    out.push_back(std::string_view(out_).substr(at, size));
    at += size;
  }
  return out;
}

RedisReply RedisConnection::call(std::initializer_list<std::string_view> args, int timeout_ms) {
  append_command(out_, args);
  end_command();
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
