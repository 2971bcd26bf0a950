// A tiny synchronous RESP2 client for tests: one TCP connection to 127.0.0.1:port, one command
// at a time (or a batch sent at once and read back in order). Binary-safe in both directions.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace rdbrekey::test {

// One RESP2 reply.
struct Reply {
  enum class Type : uint8_t {
    kStatus,     // +OK
    kError,      // -ERR ...
    kInteger,    // :42
    kBulk,       // $3 abc
    kNil,        // $-1 (a null bulk string)
    kArray,      // *N ...
    kNilArray,   // *-1
  };

  Type type = Type::kNil;
  std::string str;              // status text, error text or bulk bytes
  long long integer = 0;        // kInteger
  std::vector<Reply> elements;  // kArray

  static Reply status(std::string s) { return {Type::kStatus, std::move(s), 0, {}}; }
  static Reply error(std::string s) { return {Type::kError, std::move(s), 0, {}}; }
  static Reply bulk(std::string s) { return {Type::kBulk, std::move(s), 0, {}}; }
  static Reply nil() { return {Type::kNil, {}, 0, {}}; }
  static Reply number(long long n) { return {Type::kInteger, {}, n, {}}; }
  static Reply array(std::vector<Reply> e) { return {Type::kArray, {}, 0, std::move(e)}; }

  bool is_status() const { return type == Type::kStatus; }
  bool is_error() const { return type == Type::kError; }
  bool is_integer() const { return type == Type::kInteger; }
  bool is_bulk() const { return type == Type::kBulk; }
  bool is_nil() const { return type == Type::kNil || type == Type::kNilArray; }
  bool is_array() const { return type == Type::kArray; }

  // Bulk bytes or status text; throws std::runtime_error for any other type (an error reply's
  // text is in the message).
  const std::string& text() const;
  // The integer of an integer reply; throws otherwise.
  long long as_int() const;
  // The bulk strings of an array of bulk strings (nil elements become ""); throws otherwise.
  std::vector<std::string> strings() const;

  bool operator==(const Reply&) const = default;
};

// A readable rendering: strings quoted with non-printable bytes escaped, arrays in [ ].
std::string to_string(const Reply& r);
std::string escape_bytes(const std::string& bytes);
// The same, abbreviated: long strings cut after max_bytes, long arrays after max_elements.
std::string to_short_string(const Reply& r, size_t max_bytes, size_t max_elements);
// GoogleTest's printer: to_short_string(r, 200, 40), so that a failing comparison of large
// values stays readable.
void PrintTo(const Reply& r, std::ostream* os);

class RespClient {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error when it cannot. Reads and writes time
  // out after timeout_s seconds (a hung server fails the test instead of hanging it).
  explicit RespClient(int port, int timeout_s = 20);
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;
  RespClient(RespClient&& other) noexcept;
  RespClient& operator=(RespClient&& other) noexcept;

  // Sends one command and returns its reply (an error reply is returned, not thrown).
  Reply cmd(const std::vector<std::string>& args);
  // Like cmd(), but throws std::runtime_error when the reply is an error.
  Reply ok(const std::vector<std::string>& args);
  // Sends all commands in one write and returns their replies in order.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  int port() const { return port_; }

 private:
  void send_all(const std::string& data);
  void fill();  // reads more bytes into buf_, throws on EOF / error / timeout
  std::string read_line();
  std::string read_exact(size_t n);
  Reply read_reply();

  int fd_ = -1;
  int port_ = 0;
  std::string buf_;
  size_t pos_ = 0;
};

// Replies in a form that does not depend on hash order: the strings of an array sorted (SMEMBERS),
// or its field/value pairs sorted by field (HGETALL).
Reply sorted_strings(const Reply& arr);
Reply sorted_pairs(const Reply& arr);

// Encodes one command as a RESP2 array of bulk strings.
std::string encode_command(const std::vector<std::string>& args);

}  // namespace rdbrekey::test
