// A client connection to a Redis or Valkey server, for `rdbrekey restore`: commands are written
// by append_command (their payloads are already bytes: nothing to format), replies are parsed by
// hiredis' reader (libhiredis-dev), and many commands may be in flight (pipelining) over one
// non-blocking socket that is written and read in turns, so that neither side's buffers fill up
// and stall the other. Over TLS (OpenSSL) the same, through SSL_write/SSL_read.
//
//   RedisConnection c(endpoint, credentials);   connects, AUTH, checks PING
//   c.call({"INFO", "server"})                   one command, its reply (nothing else in flight)
//   append_command(c.out(), args); c.end_command()   a pipelined command, sent by pump()
//   c.pump(timeout_ms); c.take_reply(reply, &cmd)     send what is queued, collect what has come
//                                                     back (with the command it answers)
//
// A command's bytes are written from out() and stay there until its reply is taken: the one copy
// a caller needs to resend it (after a redirection, or to another connection when this one
// breaks). Replies are parsed by RespReplyReader.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace rdbrekey {

struct RedisEndpoint {
  std::string host;
  uint16_t port = 6379;
  std::string address() const;  // "host:port" ("[::1]:port" for an IPv6 literal)
  friend bool operator==(const RedisEndpoint&, const RedisEndpoint&) = default;
};

// TLS settings, named as redis-cli names them (--cacert, --cacertdir, --cert, --key, --sni,
// --insecure).
struct TlsOptions {
  std::string ca_file;      // CAs to trust; with neither this nor ca_dir: the system's (ca-certificates)
  std::string ca_dir;
  std::string cert_file;    // a client certificate, for servers with tls-auth-clients yes
  std::string key_file;
  std::string server_name;  // SNI and the name checked in the certificate (default: the host)
  bool verify = true;       // false: --insecure, the server's certificate is not checked
};

// An OpenSSL client context made once from TlsOptions and shared by every connection. Throws
// Error(kBadOption) when a file cannot be used.
class TlsContext {
 public:
  explicit TlsContext(TlsOptions options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  const TlsOptions& options() const { return options_; }
  void* ssl_ctx() const { return ctx_; }  // SSL_CTX*

 private:
  TlsOptions options_;
  void* ctx_ = nullptr;
};

struct RedisCredentials {
  std::string user;      // empty: the default user (AUTH password)
  std::string password;  // empty: no AUTH
  std::shared_ptr<const TlsContext> tls;  // null: plain TCP
};

// redis://[USER[:PASSWORD]@]HOST[:PORT][/DB][?QUERY][#FRAGMENT]; rediss:// for TLS. Percent-escapes
// in USER and PASSWORD are decoded; a query or fragment is ignored. Throws Error(kBadOption)
// naming what is wrong, each message starting with `what` (the option or file:line the URL came
// from; the password is never repeated in a message).
struct RedisUrl {
  RedisEndpoint endpoint;
  RedisCredentials credentials;
  bool tls = false;
  int db = 0;
};
RedisUrl parse_redis_url(std::string_view url, std::string_view what = "--to");

// A reply, copied out of hiredis' objects.
struct RedisReply {
  enum class Kind : uint8_t { kString, kStatus, kError, kInteger, kNil, kArray };
  Kind kind = Kind::kNil;
  std::string str;  // string, status or error text
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool is_error() const { return kind == Kind::kError; }
  bool is_ok() const { return kind == Kind::kStatus && str == "OK"; }
  // The first word of an error ("BUSYKEY", "MOVED", "OOM", ...).
  std::string_view error_code() const;
  std::string describe() const;  // for messages
};

// Appends one command in RESP (an array of bulk strings).
void append_command(std::string& out, std::span<const std::string_view> args);
void append_command(std::string& out, std::initializer_list<std::string_view> args);
// The header of a bulk string of `size` bytes ("$size\r\n"); the caller appends the bytes and
// "\r\n".
void append_bulk_header(std::string& out, size_t size);
// Turns `buffer`, which holds argument `at` of `args`, into the whole command: the RESP before
// that argument is inserted in front of its bytes and the rest appended, so that a large
// argument is not copied into a second buffer (args[at] itself is not read).
void wrap_command(std::string& buffer, std::span<const std::string_view> args, size_t at);

// Replies parsed from the bytes a server sent, in order. Simple replies (+status, -error,
// :integer) are one line each and parsed here without allocating (a run of +OK is only counted);
// a bulk string or an array goes to hiredis' reader, with what follows it until hiredis has
// consumed everything it was given.
class RespReplyReader {
 public:
  RespReplyReader();
  ~RespReplyReader();
  RespReplyReader(const RespReplyReader&) = delete;
  RespReplyReader& operator=(const RespReplyReader&) = delete;

  // Bytes as they came (any split). False when they are not RESP: error() says what.
  bool feed(const char* data, size_t size);
  const std::string& error() const { return error_; }
  // Whole replies not taken yet.
  size_t ready() const { return ready_; }
  bool take(RedisReply& reply);

 private:
  bool fail(std::string what);
  bool take_from_hiredis();

  redisReader* reader_ = nullptr;
  bool reader_busy_ = false;  // hiredis holds part of a reply: what comes next goes to it
  // `oks_before` +OK replies come before each of these, and ok_tail_ after the last.
  struct Parsed {
    uint64_t oks_before = 0;
    RedisReply reply;
  };
  std::deque<Parsed> parsed_;
  uint64_t ok_tail_ = 0;
  size_t ready_ = 0;
  std::string partial_;  // the start of a reply line whose end has not come yet
  std::string error_;
};

class RedisConnection {
 public:
  // Connects (within timeout_ms), authenticates and PINGs; throws Error(kTargetUnavailable) when
  // the server cannot be reached and Error(kTargetRefused) when it refuses the credentials.
  RedisConnection(const RedisEndpoint& endpoint, const RedisCredentials& credentials, int timeout_ms = 10000);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  const RedisEndpoint& endpoint() const { return endpoint_; }

  // One command and its reply; nothing else may be in flight. Throws on a broken connection or
  // after timeout_ms without the reply.
  RedisReply call(std::initializer_list<std::string_view> args, int timeout_ms = 30000);

  // Pipelining: append one command to out(), then mark its end with end_command().
  std::string& out() { return out_; }
  void end_command();
  // A whole command made elsewhere, appended; or, when nothing is in out() (every command
  // answered, none being appended), taken as out() without a copy. `command` is left empty.
  // Then end_command().
  void append_whole(std::string& command);
  // Commands sent or queued whose replies have not been taken yet.
  size_t in_flight() const { return sizes_.size(); }
  // Writes what is queued and reads what has arrived, waiting at most timeout_ms for either to
  // make progress (0: do not wait). Throws Error(kTargetUnavailable) when the connection breaks.
  void pump(int timeout_ms);
  // Writes what is queued unless the socket was found full and has not been polled writable
  // since (no system call then). Throws as pump() does.
  void flush();
  // The socket, and what pump() waits for on it (POLLIN | POLLOUT), for a caller polling many.
  int fd() const { return fd_; }
  short poll_events() const;
  // Called by a caller that polled fd(): writes and reads without waiting.
  void on_ready(short revents);
  // The next reply, in command order; false when none has come yet. `command` (when given) is
  // set to the bytes of the command it answers, valid until the next call that appends to or
  // writes out().
  bool take_reply(RedisReply& reply, std::string_view* command = nullptr);
  // The commands not answered yet, in order (those of a broken connection, to resend them).
  std::vector<std::string_view> unanswered() const;

 private:
  void connect_socket(int timeout_ms);
  void handshake(const TlsContext& tls, int timeout_ms);
  void greet(const RedisCredentials& credentials, int timeout_ms);  // AUTH, PING (with hints)
  void greet_once(const RedisCredentials& credentials, int timeout_ms);
  void release() noexcept;  // closes everything (the destructor; a constructor that throws)
  void write_some();
  void read_some();
  void ingest(const char* data, size_t size);
  [[noreturn]] void broken(const std::string& what);

  RedisEndpoint endpoint_;
  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL*, over fd_ (TLS)
  // TLS: a write that needs the socket readable first, or a read that needs it writable.
  bool write_wants_read_ = false, read_wants_write_ = false;
  bool write_blocked_ = false;  // the last write found the socket full
  RespReplyReader replies_;
  // out_: [0, acked_) answered (dropped now and then), [acked_, sent_) sent, [sent_, marked_)
  // whole commands to send, [marked_, end) a command being appended.
  std::string out_;
  size_t acked_ = 0, sent_ = 0, marked_ = 0;
  std::deque<uint64_t> sizes_;  // of the commands not answered yet, in order
};

}  // namespace rdbrekey
