#include "rdbrekey/byte_sink.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rdbrekey/crc64.h"
#include "rdbrekey/error.h"
#include "support/process.h"

namespace rdbrekey {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

uint64_t crc_of(const Bytes& b) { return crc64(0, b.data(), b.size()); }

void append(Bytes& to, const Bytes& b) { to.insert(to.end(), b.begin(), b.end()); }

// write() of a whole vector, an empty one too (with a valid pointer: memcpy's source must not
// be null even for 0 bytes).
void write_all(ByteSink& sink, const Bytes& b) {
  static const uint8_t none = 0;
  sink.write(b.empty() ? &none : b.data(), b.size());
}

// A sink of the tests' own: keeps what write_out delivers (with where it came from and on which
// thread), optionally on the background thread (like AtomicFileSink), optionally failing, blocking
// or copying file ranges itself (a stand-in for copy_file_range).
class TestSink final : public ByteSink {
 public:
  struct Options {
    size_t buffer = 256;
    bool background = false;
    bool splice = false;
    int fail_at_call = -1;                 // write_out call (0-based) that throws `error`
    std::function<void()> error = nullptr; // throws the exception to surface
    bool gated = false;                    // write_out waits until open_gate()
    std::chrono::microseconds delay{0};    // write_out sleeps this long first
    std::shared_ptr<BackgroundWriter> writer = nullptr;  // with background: a shared thread
  };
  struct Call {
    const uint8_t* data;
    size_t size;
    std::thread::id thread;
  };
  struct SpliceCall {
    int fd;
    uint64_t offset;
    size_t size;
    size_t delivered_before;  // bytes the destination held when it was called
  };

  explicit TestSink(Options o) : ByteSink(o.buffer), o_(std::move(o)) {
    if (o_.background) start_background(o_.writer);
  }
  ~TestSink() override { stop_background(); }
  void cancel() noexcept override {
    stop_background();
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  bool can_patch() const override { return true; }
  bool can_splice() const override { return o_.splice; }

  void drain_now() { drain(); }

  Bytes data() {
    std::lock_guard lock(mu_);
    return data_;
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<SpliceCall> splices() {
    std::lock_guard lock(mu_);
    return splices_;
  }
  size_t completed_calls() {
    std::lock_guard lock(mu_);
    return completed_;
  }
  bool cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  // Waits until a write_out call is blocked at the gate.
  bool wait_blocked(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return blocked_ > 0; });
  }
  void open_gate() {
    std::lock_guard lock(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }

 protected:
  void write_out(const uint8_t* data, size_t size) override {
    size_t index;
    {
      std::unique_lock lock(mu_);
      index = calls_.size();
      calls_.push_back({data, size, std::this_thread::get_id()});
      if (o_.gated) {
        ++blocked_;
        cv_.notify_all();
        cv_.wait(lock, [this] { return gate_open_; });
        --blocked_;
      }
    }
    if (o_.delay.count()) std::this_thread::sleep_for(o_.delay);
    if (static_cast<int>(index) == o_.fail_at_call) o_.error();
    std::lock_guard lock(mu_);
    data_.insert(data_.end(), data, data + size);
    ++completed_;
  }
  void patch_out(uint64_t offset, const uint8_t* data, size_t size) override {
    std::lock_guard lock(mu_);
    EXPECT_LE(offset + size, data_.size()) << "patch beyond what was delivered";
    if (offset + size <= data_.size()) std::memcpy(data_.data() + offset, data, size);
  }
  bool copy_range_out(int fd, uint64_t offset, size_t size) override {
    if (!o_.splice) return false;
    std::lock_guard lock(mu_);
    splices_.push_back({fd, offset, size, data_.size()});
    size_t at = data_.size();
    data_.resize(at + size);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::pread(fd, data_.data() + at + done, size - done, static_cast<off_t>(offset + done));
      if (n <= 0) throw std::runtime_error("pread failed in the test sink");
      done += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  Options o_;
  std::mutex mu_;
  std::condition_variable cv_;
  Bytes data_;
  std::vector<Call> calls_;
  std::vector<SpliceCall> splices_;
  size_t completed_ = 0;
  int blocked_ = 0;
  bool gate_open_ = false;
  bool cancelled_ = false;
};

// Aborts the test binary when a step hangs (a deadlocked background thread would otherwise
// stall the whole suite).
class Watchdog {
 public:
  explicit Watchdog(const char* what, std::chrono::seconds limit = 120s)
      : thread_([this, what, limit] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "hang: %s did not finish within %lld s\n", what,
                         static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// Writes a random mix of write() (empty, small, around the buffer size, far larger), put() and
// reserve()+commit() to `sink`, and the same bytes to `expect`. Every few steps (when
// `check_often`) the CRC and the byte count are compared with crc64 of what should be there.
void write_script(ByteSink& sink, Bytes& expect, size_t buffer, uint32_t seed, int steps, bool check_often) {
  std::mt19937 rng(seed);
  for (int step = 0; step < steps; ++step) {
    switch (rng() % 6) {
      case 0:
      case 1: {  // small write
        Bytes b = random_bytes(rng() % 17, rng());
        write_all(sink, b);
        append(expect, b);
        break;
      }
      case 2: {  // around the buffer size
        size_t n = buffer - 2 + rng() % 5;
        if (rng() % 2) n = buffer / 2 - 2 + rng() % 5;
        Bytes b = random_bytes(n, rng());
        write_all(sink, b);
        append(expect, b);
        break;
      }
      case 3: {  // larger than the buffer
        Bytes b = random_bytes(buffer + rng() % (2 * buffer), rng());
        write_all(sink, b);
        append(expect, b);
        break;
      }
      case 4: {
        uint8_t x = static_cast<uint8_t>(rng());
        sink.put(x);
        expect.push_back(x);
        break;
      }
      case 5: {
        size_t want = 1 + rng() % 64, used = rng() % (want + 1);
        Bytes b = random_bytes(used, rng());
        uint8_t* p = sink.reserve(want);
        if (used) std::memcpy(p, b.data(), used);
        sink.commit(used);
        append(expect, b);
        break;
      }
    }
    ASSERT_EQ(sink.bytes_written(), expect.size()) << "step " << step;
    if (check_often && rng() % 4 == 0) {
      ASSERT_EQ(sink.checksum(), crc_of(expect)) << "step " << step;
    }
  }
}

TEST(ByteSink, ChecksumIsCrc64OfTheBytes) {
  MemorySink sink;
  EXPECT_EQ(sink.checksum(), 0u);
  sink.write("1234", 4);
  sink.put('5');
  uint8_t* p = sink.reserve(8);
  std::memcpy(p, "6789", 4);
  sink.commit(4);
  EXPECT_EQ(sink.bytes_written(), 9u);
  EXPECT_EQ(sink.checksum(), 0xe9c6d914c4b8d9caull);  // the check value of CRC-64/Jones
  sink.finalize();
  EXPECT_EQ(std::string(sink.data().begin(), sink.data().end()), "123456789");
}

TEST(ByteSink, WritesSmallerEqualAndLargerThanTheBuffer) {
  const size_t cap = 64;
  for (size_t already : {size_t{0}, size_t{1}, cap / 2, cap - 1, cap}) {
    for (size_t n : {size_t{0}, size_t{1}, cap / 2 - 1, cap / 2, cap - already, cap - 1, cap, cap + 1, 2 * cap,
                     5 * cap + 3}) {
      SCOPED_TRACE("already " + std::to_string(already) + ", write " + std::to_string(n));
      TestSink sink({.buffer = cap});
      Bytes expect = random_bytes(already, 1);
      write_all(sink, expect);
      Bytes b = random_bytes(n, 2);
      write_all(sink, b);
      append(expect, b);
      sink.put(0x5a);
      expect.push_back(0x5a);
      EXPECT_EQ(sink.bytes_written(), expect.size());
      EXPECT_EQ(sink.checksum(), crc_of(expect));
      sink.finalize();
      EXPECT_EQ(sink.data(), expect);
      EXPECT_EQ(sink.checksum(), crc_of(expect));
    }
  }
}

TEST(ByteSink, PutAndReserveAtTheBufferEdge) {
  const size_t cap = 64;
  for (size_t fill = cap - 9; fill <= cap; ++fill) {
    TestSink sink({.buffer = cap});
    Bytes expect = random_bytes(fill, static_cast<uint32_t>(fill));
    write_all(sink, expect);
    uint8_t* p = sink.reserve(9);  // less room than that left: flushes first
    for (int i = 0; i < 9; ++i) p[i] = static_cast<uint8_t>(0xa0 + i);
    sink.commit(7);  // only 7 of the 9 reserved
    for (int i = 0; i < 7; ++i) expect.push_back(static_cast<uint8_t>(0xa0 + i));
    for (int i = 0; i < 2 * static_cast<int>(cap); ++i) {
      sink.put(static_cast<uint8_t>(i));
      expect.push_back(static_cast<uint8_t>(i));
    }
    EXPECT_EQ(sink.bytes_written(), expect.size());
    EXPECT_EQ(sink.checksum(), crc_of(expect));
    sink.finalize();
    EXPECT_EQ(sink.data(), expect) << "fill " << fill;
  }
}

TEST(ByteSink, LargeWritesGoStraightToTheDestination) {
  const size_t cap = 256;
  TestSink sink({.buffer = cap});
  Bytes head = random_bytes(10, 3), big = random_bytes(3 * cap + 5, 4), tail = random_bytes(20, 5);
  write_all(sink, head);
  write_all(sink, big);
  write_all(sink, tail);
  sink.finalize();
  Bytes expect = head;
  append(expect, big);
  append(expect, tail);
  EXPECT_EQ(sink.data(), expect);
  EXPECT_EQ(sink.checksum(), crc_of(expect));
  // The large range was handed over as it was (no second copy), after the bytes before it.
  auto calls = sink.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].size, head.size());
  EXPECT_EQ(calls[1].data, big.data());
  EXPECT_EQ(calls[1].size, big.size());
  EXPECT_EQ(calls[2].size, tail.size());
}

TEST(ByteSink, RandomWritesMatchCrc64) {
  for (size_t cap : {size_t{64}, size_t{97}, size_t{4096}}) {
    for (uint32_t seed = 1; seed <= 6; ++seed) {
      for (bool check_often : {false, true}) {
        SCOPED_TRACE("buffer " + std::to_string(cap) + " seed " + std::to_string(seed));
        TestSink sink({.buffer = cap});
        Bytes expect;
        write_script(sink, expect, cap, seed, 300, check_often);
        EXPECT_EQ(sink.checksum(), crc_of(expect));
        sink.finalize();
        EXPECT_EQ(sink.data(), expect);
        EXPECT_EQ(sink.checksum(), crc_of(expect));
      }
    }
  }
  // MemorySink's own 64 KiB buffer.
  MemorySink sink;
  Bytes expect;
  write_script(sink, expect, 64 << 10, 42, 120, true);
  sink.finalize();
  EXPECT_EQ(sink.data(), expect);
  EXPECT_EQ(sink.checksum(), crc_of(expect));
}

// Writes `total` bytes, patches `size` of them at `offset`, and checks bytes and CRC; then writes
// more and checks again (the CRC keeps running correctly after a patch).
void check_patch(ByteSink& sink, const std::function<Bytes()>& output, size_t total, size_t offset, size_t size,
                 uint32_t seed) {
  Bytes expect = random_bytes(total, seed);
  // In several pieces, so that part of it sits in the buffer and part was delivered already.
  for (size_t at = 0; at < total;) {
    size_t n = std::min(total - at, size_t{1000});
    sink.write(expect.data() + at, n);
    at += n;
  }
  Bytes old_bytes(expect.begin() + static_cast<ptrdiff_t>(offset),
                  expect.begin() + static_cast<ptrdiff_t>(offset + size));
  Bytes new_bytes = random_bytes(size, seed + 1000);
  new_bytes[0] = static_cast<uint8_t>(old_bytes[0] ^ 0x81);  // at least one byte really changes
  sink.patch(offset, old_bytes.data(), new_bytes.data(), size);
  std::copy(new_bytes.begin(), new_bytes.end(), expect.begin() + static_cast<ptrdiff_t>(offset));
  ASSERT_EQ(sink.bytes_written(), expect.size());
  ASSERT_EQ(sink.checksum(), crc_of(expect));
  Bytes more = random_bytes(300, seed + 2000);
  write_all(sink, more);
  append(expect, more);
  ASSERT_EQ(sink.checksum(), crc_of(expect));
  sink.finalize();
  ASSERT_EQ(sink.checksum(), crc_of(expect));
  if (output) {
    ASSERT_EQ(output(), expect);
  }
}

TEST(ByteSink, PatchCorrectsTheCrcAnywhere) {
  Watchdog dog("PatchCorrectsTheCrcAnywhere", 300s);
  for (size_t size = 1; size <= 19; ++size) {
    for (size_t total : {size_t{40}, size_t{70000}, size_t{200003}}) {
      for (size_t offset : {size_t{0}, total / 2 - size / 2, total - size}) {
        SCOPED_TRACE("size " + std::to_string(size) + " total " + std::to_string(total) + " offset " +
                     std::to_string(offset));
        uint32_t seed = static_cast<uint32_t>(size * 7 + offset);
        {
          MemorySink sink;
          check_patch(sink, [&] { return sink.data(); }, total, offset, size, seed);
        }
        {
          TestSink sink({.buffer = 4096});
          check_patch(sink, [&] { return sink.data(); }, total, offset, size, seed);
        }
        {
          TestSink sink({.buffer = 4096, .background = true});
          check_patch(sink, [&] { return sink.data(); }, total, offset, size, seed);
        }
      }
    }
  }
}

TEST(ByteSink, PatchAfterAFlushAndTwiceInARow) {
  MemorySink sink;
  Bytes expect = random_bytes(100000, 9);
  write_all(sink, expect);
  sink.finalize();  // everything delivered
  for (size_t offset : {size_t{5}, size_t{99990}, size_t{5}}) {
    Bytes old_bytes(expect.begin() + static_cast<ptrdiff_t>(offset),
                    expect.begin() + static_cast<ptrdiff_t>(offset + 8));
    Bytes new_bytes = random_bytes(8, static_cast<uint32_t>(offset + expect[offset]));
    sink.patch(offset, old_bytes.data(), new_bytes.data(), 8);
    std::copy(new_bytes.begin(), new_bytes.end(), expect.begin() + static_cast<ptrdiff_t>(offset));
    EXPECT_EQ(sink.checksum(), crc_of(expect));
  }
  sink.finalize();
  EXPECT_EQ(sink.data(), expect);
  // A patch that changes nothing leaves the CRC as it was.
  uint64_t before = sink.checksum();
  sink.patch(10, expect.data() + 10, expect.data() + 10, 19);
  EXPECT_EQ(sink.checksum(), before);
}

TEST(ByteSink, TrailerIsNotChecksummed) {
  Watchdog dog("TrailerIsNotChecksummed", 300s);
  const size_t cap = 64;
  for (bool background : {false, true}) {
    for (size_t fill : {size_t{0}, size_t{1}, cap - 9, cap - 8, cap - 7, cap - 1, cap, cap + 1, 3 * cap}) {
      SCOPED_TRACE("fill " + std::to_string(fill) + (background ? " background" : ""));
      TestSink sink({.buffer = cap, .background = background});
      Bytes body = random_bytes(fill, static_cast<uint32_t>(fill) + 77);
      write_all(sink, body);
      Bytes trailer = random_bytes(8, 5);
      sink.write_unchecksummed(trailer.data(), trailer.size());
      EXPECT_EQ(sink.checksum(), crc_of(body));
      EXPECT_EQ(sink.bytes_written(), fill + 8);
      // Bytes written after it are checksummed again.
      Bytes after = random_bytes(cap + 3, 6);
      write_all(sink, after);
      Bytes covered = body;
      append(covered, after);
      EXPECT_EQ(sink.checksum(), crc_of(covered));
      sink.finalize();
      EXPECT_EQ(sink.checksum(), crc_of(covered));
      Bytes all = body;
      append(all, trailer);
      append(all, after);
      EXPECT_EQ(sink.data(), all);
    }
  }
  // The RDB use: the CRC of everything, then the CRC itself as the trailer.
  MemorySink sink;
  Bytes body = random_bytes(70000, 8);
  write_all(sink, body);
  uint64_t crc = sink.checksum();
  sink.write_unchecksummed(&crc, sizeof crc);
  sink.finalize();
  EXPECT_EQ(sink.checksum(), crc_of(body));
  ASSERT_EQ(sink.data().size(), body.size() + 8);
  uint64_t stored;
  std::memcpy(&stored, sink.data().data() + body.size(), 8);
  EXPECT_EQ(stored, crc_of(body));
}

TEST(ByteSink, BackgroundWriterGivesTheSameBytesAndCrc) {
  Watchdog dog("BackgroundWriterGivesTheSameBytesAndCrc", 300s);
  for (size_t cap : {size_t{64}, size_t{4096}}) {
    for (uint32_t seed = 11; seed <= 14; ++seed) {
      SCOPED_TRACE("buffer " + std::to_string(cap) + " seed " + std::to_string(seed));
      TestSink plain({.buffer = cap});
      TestSink bg({.buffer = cap, .background = true, .delay = std::chrono::microseconds(seed % 2 ? 50 : 0)});
      Bytes expect_plain, expect_bg;
      write_script(plain, expect_plain, cap, seed, 400, seed % 2 == 0);
      write_script(bg, expect_bg, cap, seed, 400, seed % 2 == 0);
      ASSERT_EQ(expect_plain, expect_bg);
      EXPECT_EQ(bg.checksum(), plain.checksum());
      plain.finalize();
      bg.finalize();
      EXPECT_EQ(bg.data(), expect_bg);
      EXPECT_EQ(plain.data(), expect_plain);
      EXPECT_EQ(bg.checksum(), crc_of(expect_bg));
      // Full buffers were delivered by another thread than the caller's.
      size_t elsewhere = 0;
      for (const auto& c : bg.calls()) elsewhere += c.thread != std::this_thread::get_id();
      EXPECT_GT(elsewhere, 0u);
    }
  }
}

TEST(ByteSink, ManyBuffersInARowThroughTheBackgroundThread) {
  Watchdog dog("ManyBuffersInARowThroughTheBackgroundThread", 300s);
  const size_t cap = 1024;
  TestSink sink({.buffer = cap, .background = true});
  Bytes expect;
  for (int i = 0; i < 2000; ++i) {
    Bytes b = random_bytes(cap / 3 + static_cast<size_t>(i % 7), static_cast<uint32_t>(i));
    write_all(sink, b);
    append(expect, b);
  }
  EXPECT_EQ(sink.checksum(), crc_of(expect));
  sink.finalize();
  EXPECT_EQ(sink.data(), expect);
  EXPECT_GT(sink.calls().size(), 500u);
}

// Several sinks on one writer thread: each gets its own bytes and CRC, in order, whatever the
// interleaving; one failing does not stop the others; the thread outlives the first sink gone.
TEST(ByteSink, SinksSharingOneWriterThread) {
  Watchdog dog("SinksSharingOneWriterThread", 300s);
  auto writer = std::make_shared<BackgroundWriter>();
  std::vector<std::unique_ptr<TestSink>> sinks;
  for (int i = 0; i < 5; ++i)
    sinks.push_back(std::make_unique<TestSink>(TestSink::Options{
        .buffer = 256,
        .background = true,
        .fail_at_call = i == 3 ? 7 : -1,
        .error = [] { throw std::runtime_error("disk gone"); },
        .delay = std::chrono::microseconds(i == 1 ? 30 : 0),
        .writer = writer}));
  std::vector<Bytes> expect(sinks.size());
  std::mt19937 rng(5);
  bool failed = false;
  for (int step = 0; step < 3000; ++step) {
    size_t i = rng() % sinks.size();
    Bytes b = random_bytes(1 + rng() % 300, static_cast<uint32_t>(step));
    try {
      write_all(*sinks[i], b);
      append(expect[i], b);
    } catch (const std::runtime_error& e) {
      ASSERT_EQ(i, 3u);
      EXPECT_STREQ(e.what(), "disk gone");
      failed = true;
      sinks[3]->cancel();
      sinks.erase(sinks.begin() + 3);  // the others go on
      expect.erase(expect.begin() + 3);
    }
  }
  EXPECT_TRUE(failed);
  writer.reset();  // the sinks keep the thread
  for (size_t i = 0; i < sinks.size(); ++i) {
    EXPECT_EQ(sinks[i]->checksum(), crc_of(expect[i])) << i;
    sinks[i]->finalize();
    EXPECT_EQ(sinks[i]->data(), expect[i]) << i;
    std::thread::id thread;
    for (const auto& c : sinks[i]->calls())
      if (c.thread != std::this_thread::get_id()) thread = c.thread;
    EXPECT_NE(thread, std::thread::id()) << i;
    sinks[i].reset();  // the last one stops the thread
  }
}

struct DiskGone : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(ByteSink, BackgroundWriteErrorSurfacesAtFinalize) {
  Watchdog dog("BackgroundWriteErrorSurfacesAtFinalize");
  // Fails on the last buffer: the only caller call left that can see it is finalize().
  TestSink sink({.buffer = 64, .background = true, .fail_at_call = 0, .error = [] { throw DiskGone("disk gone"); }});
  Bytes b = random_bytes(40, 1);
  write_all(sink, b);
  try {
    sink.finalize();
    ADD_FAILURE() << "finalize did not throw";
  } catch (const DiskGone& e) {
    EXPECT_STREQ(e.what(), "disk gone");
  }
  sink.cancel();
  EXPECT_TRUE(sink.cancelled());
}

TEST(ByteSink, BackgroundWriteErrorSurfacesAtTheNextFlush) {
  Watchdog dog("BackgroundWriteErrorSurfacesAtTheNextFlush");
  TestSink sink({.buffer = 64,
                 .background = true,
                 .fail_at_call = 1,
                 .error = [] { throw Error(Errc::kNoSpace, "no space left on device"); }});
  Bytes b = random_bytes(2000, 2);
  int writes = 0;
  try {
    // Small writes, all through the buffer: buffer 1 is delivered, buffer 2 fails on the
    // background thread; the flush after it waits for it and rethrows in the caller.
    for (writes = 0; writes < 100; ++writes) sink.write(b.data() + 20 * writes, 20);
    sink.finalize();
    ADD_FAILURE() << "no error surfaced";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNoSpace);
    EXPECT_STREQ(e.what(), "no space left on device");
  }
  EXPECT_LT(writes, 100) << "the error surfaced only at finalize";
  EXPECT_GE(writes, 6) << "the error surfaced before the failing buffer was handed over";
  // The failed buffer was not delivered, and nothing after it.
  EXPECT_EQ(sink.data(), Bytes(b.begin(), b.begin() + 64));
  // It keeps failing rather than pretending to succeed.
  EXPECT_THROW(sink.checksum(), Error);
  EXPECT_THROW(sink.finalize(), Error);
}

TEST(ByteSink, BackgroundErrorSurfacesAtDrain) {
  Watchdog dog("BackgroundErrorSurfacesAtDrain");
  TestSink sink({.buffer = 64, .background = true, .fail_at_call = 0, .error = [] { throw DiskGone("gone"); }});
  Bytes b = random_bytes(65, 3);  // one full buffer handed over, one byte left in the next
  for (uint8_t x : b) sink.put(x);
  EXPECT_THROW(sink.drain_now(), DiskGone);
  EXPECT_THROW(sink.checksum(), DiskGone);
}

TEST(ByteSink, ErrorOnTheCallersThreadWithoutBackground) {
  TestSink sink({.buffer = 64, .fail_at_call = 0, .error = [] { throw DiskGone("sync"); }});
  Bytes b = random_bytes(200, 4);  // larger than the buffer: written by the caller at once
  EXPECT_THROW(write_all(sink, b), DiskGone);
}

TEST(ByteSink, CancelWhileTheBackgroundThreadIsBusy) {
  Watchdog dog("CancelWhileTheBackgroundThreadIsBusy");
  TestSink sink({.buffer = 64, .background = true, .gated = true});
  Bytes b = random_bytes(64 * 3 + 10, 5);
  sink.write(b.data(), 64);
  sink.put(1);  // the first full buffer goes to the background thread, which blocks in write_out
  ASSERT_TRUE(sink.wait_blocked(10s));
  std::thread opener([&] {
    std::this_thread::sleep_for(100ms);
    sink.open_gate();
  });
  sink.cancel();  // waits for the busy write to end, then stops the thread
  opener.join();
  EXPECT_TRUE(sink.cancelled());
  EXPECT_EQ(sink.completed_calls(), 1u);
  sink.cancel();  // twice is harmless
}

TEST(ByteSink, DestructionWhileTheBackgroundThreadIsBusy) {
  Watchdog dog("DestructionWhileTheBackgroundThreadIsBusy");
  for (bool failing : {false, true}) {
    auto sink = std::make_unique<TestSink>(TestSink::Options{
        .buffer = 64, .background = true, .fail_at_call = failing ? 0 : -1, .error = [] { throw DiskGone("x"); },
        .gated = true});
    Bytes b = random_bytes(100, 6);
    sink->write(b.data(), 64);
    for (size_t i = 64; i < b.size(); ++i) sink->put(b[i]);  // hands the first buffer over
    ASSERT_TRUE(sink->wait_blocked(10s));
    TestSink* raw = sink.get();
    std::thread opener([raw] {
      std::this_thread::sleep_for(100ms);
      raw->open_gate();
    });
    sink.reset();  // never finalized: no throw, no hang, no crash
    opener.join();
  }
}

TEST(ByteSink, DestructionWithoutFinalizeDeliversNothingMore) {
  Watchdog dog("DestructionWithoutFinalizeDeliversNothingMore");
  auto sink = std::make_unique<TestSink>(TestSink::Options{.buffer = 64, .background = true});
  Bytes b = random_bytes(30, 7);
  sink->write(b.data(), b.size());
  sink.reset();
}

// A temporary file under $TMPDIR holding `bytes`, opened for reading.
class TempFile {
 public:
  explicit TempFile(const Bytes& bytes) : path_(dir_.file("src-XXXXXX")) {
    fd_ = ::mkstemp(path_.data());
    if (fd_ < 0) throw std::runtime_error("mkstemp failed");
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) throw std::runtime_error("write failed");
      done += static_cast<size_t>(n);
    }
    size_ = bytes.size();
    map_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (map_ == MAP_FAILED) throw std::runtime_error("mmap failed");
  }
  ~TempFile() {
    ::munmap(map_, size_);
    ::close(fd_);
  }
  int fd() const { return fd_; }
  const uint8_t* mapped() const { return static_cast<const uint8_t*>(map_); }

 private:
  test::TempDir dir_;
  std::string path_;
  int fd_ = -1;
  size_t size_ = 0;
  void* map_ = nullptr;
};

TEST(ByteSink, SpliceWithoutKernelCopyWritesTheBytes) {
  Bytes file = random_bytes(300000, 21);
  TempFile src(file);
  struct Range {
    size_t offset, size;
  };
  for (Range r : {Range{0, 0}, Range{0, 1}, Range{17, 100}, Range{1000, 70000}, Range{5, 299995}}) {
    for (size_t before : {size_t{0}, size_t{3}, size_t{65536}, size_t{70001}}) {
      SCOPED_TRACE("range " + std::to_string(r.offset) + "+" + std::to_string(r.size) + " after " +
                   std::to_string(before));
      MemorySink sink;
      Bytes expect = random_bytes(before, 22);
      write_all(sink, expect);
      if (before == 3) sink.checksum();  // the CRC already stands in the middle of the buffer
      const uint8_t* range = src.mapped() + r.offset;
      sink.splice_from(src.fd(), r.offset, range, r.size, crc64(0, range, r.size));
      expect.insert(expect.end(), range, range + r.size);
      EXPECT_EQ(sink.bytes_written(), expect.size());
      EXPECT_EQ(sink.checksum(), crc_of(expect));
      Bytes after = random_bytes(50, 23);
      write_all(sink, after);
      append(expect, after);
      sink.finalize();
      EXPECT_EQ(sink.data(), expect);
      EXPECT_EQ(sink.checksum(), crc_of(expect));
    }
  }
}

TEST(ByteSink, SpliceThroughABackgroundSinkThatCannotSplice) {
  Watchdog dog("SpliceThroughABackgroundSinkThatCannotSplice");
  Bytes file = random_bytes(5000, 24);
  TempFile src(file);
  TestSink sink({.buffer = 64, .background = true, .delay = std::chrono::microseconds(200)});
  Bytes expect = random_bytes(150, 25);  // two full buffers handed over, 22 bytes buffered
  write_all(sink, expect);
  sink.splice_from(src.fd(), 100, src.mapped() + 100, 4000, crc64(0, src.mapped() + 100, 4000));
  expect.insert(expect.end(), src.mapped() + 100, src.mapped() + 4100);
  sink.put(9);
  expect.push_back(9);
  EXPECT_EQ(sink.checksum(), crc_of(expect));
  sink.finalize();
  EXPECT_EQ(sink.data(), expect);
  EXPECT_TRUE(sink.splices().empty());
}

TEST(ByteSink, SpliceByTheDestinationComesAfterEverythingBefore) {
  Bytes file = random_bytes(200000, 31);
  TempFile src(file);
  for (bool background : {false, true}) {
    for (size_t before : {size_t{0}, size_t{10}, size_t{64}, size_t{1000}}) {
      SCOPED_TRACE("before " + std::to_string(before) + (background ? " background" : ""));
      Watchdog dog("SpliceByTheDestinationComesAfterEverythingBefore");
      TestSink sink({.buffer = 64, .background = background, .splice = true,
                     .delay = std::chrono::microseconds(background ? 300 : 0)});
      Bytes expect = random_bytes(before, 32);
      for (uint8_t x : expect) sink.put(x);
      const uint8_t* first = src.mapped() + 7;
      sink.splice_from(src.fd(), 7, first, 150000, crc64(0, first, 150000));
      expect.insert(expect.end(), first, first + 150000);
      EXPECT_EQ(sink.checksum(), crc_of(expect));
      Bytes mid = random_bytes(5, 33);
      write_all(sink, mid);
      append(expect, mid);
      // A second range right after, from another offset of the same file.
      const uint8_t* second = src.mapped() + 190000;
      sink.splice_from(src.fd(), 190000, second, 10000, crc64(0, second, 10000));
      expect.insert(expect.end(), second, second + 10000);
      Bytes tail = random_bytes(70, 34);
      write_all(sink, tail);
      append(expect, tail);
      EXPECT_EQ(sink.bytes_written(), expect.size());
      EXPECT_EQ(sink.checksum(), crc_of(expect));
      sink.finalize();
      EXPECT_EQ(sink.data(), expect);
      EXPECT_EQ(sink.checksum(), crc_of(expect));

      auto splices = sink.splices();
      ASSERT_EQ(splices.size(), 2u);
      EXPECT_EQ(splices[0].fd, src.fd());
      EXPECT_EQ(splices[0].offset, 7u);
      EXPECT_EQ(splices[0].size, 150000u);
      EXPECT_EQ(splices[0].delivered_before, before);  // everything before it was delivered
      EXPECT_EQ(splices[1].offset, 190000u);
      EXPECT_EQ(splices[1].size, 10000u);
      EXPECT_EQ(splices[1].delivered_before, before + 150000 + mid.size());
      // The sink did not write the spliced bytes itself: write_out saw only the other bytes,
      // and never the mapped range.
      size_t through_write_out = 0;
      for (const auto& c : sink.calls()) {
        through_write_out += c.size;
        EXPECT_FALSE(c.data >= src.mapped() && c.data < src.mapped() + file.size()) << "wrote the mapped range";
      }
      EXPECT_EQ(through_write_out, before + mid.size() + tail.size());
    }
  }
}

// The same sequence of writes, patches, splices and a trailer on two sinks.
void mixed_script(ByteSink& sink, const TempFile& src, std::vector<uint64_t>& counts, std::vector<uint64_t>& crcs) {
  std::mt19937 rng(99);
  Bytes written;  // what a real destination would hold (for the old bytes of patches)
  auto note = [&] {
    counts.push_back(sink.bytes_written());
    crcs.push_back(sink.checksum());
  };
  for (int i = 0; i < 200; ++i) {
    switch (rng() % 5) {
      case 0: {
        Bytes b = random_bytes(rng() % 200000, rng());
        write_all(sink, b);
        append(written, b);
        break;
      }
      case 1: {
        Bytes b = random_bytes(rng() % 100, rng());
        for (uint8_t x : b) sink.put(x);
        append(written, b);
        break;
      }
      case 2: {
        if (written.empty()) break;
        size_t size = 1 + rng() % std::min<size_t>(19, written.size());
        size_t offset = rng() % (written.size() - size + 1);
        Bytes nb = random_bytes(size, rng());
        sink.patch(offset, written.data() + offset, nb.data(), size);
        std::copy(nb.begin(), nb.end(), written.begin() + static_cast<ptrdiff_t>(offset));
        break;
      }
      case 3: {
        size_t offset = rng() % 1000, size = rng() % 50000;
        const uint8_t* p = src.mapped() + offset;
        sink.splice_from(src.fd(), offset, p, size, crc64(0, p, size));
        written.insert(written.end(), p, p + size);
        break;
      }
      case 4: {
        uint8_t* p = sink.reserve(10);
        std::memset(p, 0x33, 6);
        sink.commit(6);
        written.insert(written.end(), 6, 0x33);
        break;
      }
    }
    note();
  }
  uint64_t trailer = 0x0102030405060708ull;
  sink.write_unchecksummed(&trailer, 8);
  note();
  sink.finalize();
  note();
}

TEST(ByteSink, NullSinkCountsLikeMemorySink) {
  Bytes file = random_bytes(60000, 41);
  TempFile src(file);
  MemorySink mem;
  NullSink null;
  std::vector<uint64_t> mem_counts, null_counts, mem_crcs, null_crcs;
  mixed_script(mem, src, mem_counts, mem_crcs);
  mixed_script(null, src, null_counts, null_crcs);
  EXPECT_EQ(null_counts, mem_counts);
  EXPECT_EQ(null_crcs, mem_crcs);
  EXPECT_EQ(null.bytes_written(), mem.data().size());
  EXPECT_TRUE(static_cast<ByteSink&>(null).can_patch());
  // And MemorySink's CRC is that of its bytes but the trailer.
  ASSERT_GE(mem.data().size(), 8u);
  EXPECT_EQ(mem.checksum(), crc64(0, mem.data().data(), mem.data().size() - 8));
}

}  // namespace
}  // namespace rdbrekey
