#include "resp_client.h"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace rdbrekey::test {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("RespClient: " + what); }

long long parse_int(const std::string& s) {
  if (s.empty()) fail("empty number in reply");
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) fail("bad number in reply: " + s);
  long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') fail("bad number in reply: " + s);
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

}  // namespace

const std::string& Reply::text() const {
  if (type == Type::kBulk || type == Type::kStatus) return str;
  throw std::runtime_error("reply is not a string: " + to_string(*this));
}

long long Reply::as_int() const {
  if (type == Type::kInteger) return integer;
  throw std::runtime_error("reply is not an integer: " + to_string(*this));
}

std::vector<std::string> Reply::strings() const {
  if (type != Type::kArray) throw std::runtime_error("reply is not an array: " + to_string(*this));
  std::vector<std::string> out;
  out.reserve(elements.size());
  for (const auto& e : elements) {
    if (e.type == Type::kBulk || e.type == Type::kStatus) out.push_back(e.str);
    else if (e.type == Type::kNil) out.emplace_back();
    else if (e.type == Type::kInteger) out.push_back(std::to_string(e.integer));
    else throw std::runtime_error("array element is not a string: " + to_string(e));
  }
  return out;
}

std::string escape_bytes(const std::string& bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() + 2);
  for (unsigned char c : bytes) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string to_string(const Reply& r) {
  switch (r.type) {
    case Reply::Type::kStatus: return "+" + r.str;
    case Reply::Type::kError: return "-" + r.str;
    case Reply::Type::kInteger: return std::to_string(r.integer);
    case Reply::Type::kBulk: return "\"" + escape_bytes(r.str) + "\"";
    case Reply::Type::kNil: return "(nil)";
    case Reply::Type::kNilArray: return "(nil array)";
    case Reply::Type::kArray: {
      std::string s = "[";
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i) s += ", ";
        s += to_string(r.elements[i]);
      }
      return s + "]";
    }
  }
  return "?";
}

std::string to_short_string(const Reply& r, size_t max_bytes, size_t max_elements) {
  if (r.type == Reply::Type::kBulk && r.str.size() > max_bytes)
    return "\"" + escape_bytes(r.str.substr(0, max_bytes)) + "\"... (" + std::to_string(r.str.size()) + " bytes)";
  if (r.type != Reply::Type::kArray) return to_string(r);
  std::string s = "[";
  for (size_t i = 0; i < r.elements.size(); ++i) {
    if (i) s += ", ";
    if (i == max_elements) {
      s += "... (" + std::to_string(r.elements.size()) + " elements)";
      break;
    }
    s += to_short_string(r.elements[i], max_bytes, max_elements);
  }
  return s + "]";
}

void PrintTo(const Reply& r, std::ostream* os) { *os << to_short_string(r, 200, 40); }

std::string encode_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

RespClient::RespClient(int port, int timeout_s) : port_(port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    fail("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(e));
  }
  timeval tv{};
  tv.tv_sec = timeout_s;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RespClient::~RespClient() {
  if (fd_ >= 0) ::close(fd_);
}

RespClient::RespClient(RespClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_), buf_(std::move(other.buf_)), pos_(other.pos_) {}

RespClient& RespClient::operator=(RespClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
    buf_ = std::move(other.buf_);
    pos_ = other.pos_;
  }
  return *this;
}

void RespClient::send_all(const std::string& data) {
  if (fd_ < 0) fail("not connected");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(std::string("send: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
}

void RespClient::fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  char tmp[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<size_t>(n));
      return;
    }
    if (n == 0) fail("connection closed by the server");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) fail("timed out waiting for a reply");
    fail(std::string("recv: ") + std::strerror(errno));
  }
}

std::string RespClient::read_line() {
  for (;;) {
    size_t crlf = buf_.find("\r\n", pos_);
    if (crlf != std::string::npos) {
      std::string line = buf_.substr(pos_, crlf - pos_);
      pos_ = crlf + 2;
      return line;
    }
    fill();
  }
}

std::string RespClient::read_exact(size_t n) {
  while (buf_.size() - pos_ < n) fill();
  std::string out = buf_.substr(pos_, n);
  pos_ += n;
  return out;
}

Reply RespClient::read_reply() {
  std::string line = read_line();
  if (line.empty()) fail("empty reply line");
  char kind = line[0];
  std::string rest = line.substr(1);
  switch (kind) {
    case '+': return Reply::status(rest);
    case '-': return Reply::error(rest);
    case ':': return Reply::number(parse_int(rest));
    case '$': {
      long long len = parse_int(rest);
      if (len < 0) return Reply::nil();
      std::string data = read_exact(static_cast<size_t>(len) + 2);
      if (data.compare(data.size() - 2, 2, "\r\n") != 0) fail("bulk string not followed by CRLF");
      data.resize(static_cast<size_t>(len));
      return Reply::bulk(std::move(data));
    }
    case '*': {
      long long n = parse_int(rest);
      if (n < 0) return Reply{Reply::Type::kNilArray, {}, 0, {}};
      std::vector<Reply> elems;
      elems.reserve(static_cast<size_t>(n));
      for (long long i = 0; i < n; ++i) elems.push_back(read_reply());
      return Reply::array(std::move(elems));
    }
    default: fail("unexpected reply type byte '" + escape_bytes(std::string(1, kind)) + "'");
  }
}

Reply RespClient::cmd(const std::vector<std::string>& args) {
  send_all(encode_command(args));
  return read_reply();
}

Reply RespClient::ok(const std::vector<std::string>& args) {
  Reply r = cmd(args);
  if (r.is_error()) {
    std::string c;
    for (const auto& a : args) {
      if (!c.empty()) c += ' ';
      c += escape_bytes(a.substr(0, 40));
    }
    throw std::runtime_error("command failed: " + c + ": " + r.str);
  }
  return r;
}

std::vector<Reply> RespClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
  std::string out;
  for (const auto& c : commands) out += encode_command(c);
  send_all(out);
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) replies.push_back(read_reply());
  return replies;
}

Reply sorted_strings(const Reply& arr) {
  std::vector<std::string> v = arr.strings();
  std::sort(v.begin(), v.end());
  std::vector<Reply> out;
  for (auto& s : v) out.push_back(Reply::bulk(std::move(s)));
  return Reply::array(std::move(out));
}

Reply sorted_pairs(const Reply& arr) {
  std::vector<std::string> v = arr.strings();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < v.size(); i += 2) pairs.emplace_back(v[i], v[i + 1]);
  std::sort(pairs.begin(), pairs.end());
  std::vector<Reply> out;
  for (auto& [f, val] : pairs) {
    out.push_back(Reply::bulk(f));
    out.push_back(Reply::bulk(val));
  }
  return Reply::array(std::move(out));
}

}  // namespace rdbrekey::test
