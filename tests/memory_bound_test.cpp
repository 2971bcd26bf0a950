// Memory stays bounded whatever the size of one value: a 1 GiB string streams through a pipe
// into the converter, which must not hold it (each test runs in its own process under ctest, so
// the peak resident size measured here is this test's).
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "rdbrekey/converter.h"
#include "rdbrekey/crc64.h"
#include "support/process.h"
#include "support/rdb_builder.h"

namespace rdbrekey {
namespace {

long peak_rss_kib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

TEST(MemoryBound, OneGibValueThroughAPipe) {
  constexpr uint64_t kValue = 1ull << 30;
  test::TempDir dir;
  std::string fifo = dir.file("big.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Writes REDIS0010, one string key with a 1 GiB value, EOF and the right CRC.
    FILE* f = std::fopen(fifo.c_str(), "wb");
    std::string head = test::RdbBuilder("REDIS0010").select_db(0).byte(0).str("big").len(kValue).bytes();
    uint64_t crc = crc64(0, head.data(), head.size());
    std::fwrite(head.data(), 1, head.size(), f);
    std::string chunk(1 << 20, '\0');
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131 + (i >> 9));
    for (uint64_t done = 0; done < kValue; done += chunk.size()) {
      crc = crc64(crc, chunk.data(), chunk.size());
      std::fwrite(chunk.data(), 1, chunk.size(), f);
    }
    uint8_t tail[9] = {0xff};
    crc = crc64(crc, tail, 1);
    for (int i = 0; i < 8; ++i) tail[1 + i] = static_cast<uint8_t>(crc >> (8 * i));
    std::fwrite(tail, 1, 9, f);
    std::fclose(f);
    ::_exit(0);
  }
  long before = peak_rss_kib();
  std::unique_ptr<ByteSource> src_input = open_input(fifo);
  ByteSource& src = *src_input;
  NullSink sink;
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  ConvertResult r = convert(opt, {&src}, sink);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(r.keys_written, 2u);  // the key and the guard
  EXPECT_GT(r.output_bytes, kValue);
  long grew_mib = (peak_rss_kib() - before) / 1024;
  EXPECT_LT(grew_mib, 64) << "peak resident size grew by " << grew_mib << " MiB for a 1 GiB value";
}

// Writes an RDB of `keys` string keys of 2000 bytes each in db 0, every tenth already under the
// prefix "a:" (so that the collision check reads db 0 a second time, looking for the keys
// renamed onto them), streamed to `path` with its CRC.
void write_prefixed_dump(const std::string& path, int keys) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  uint64_t crc = 0;
  auto put = [&](const std::string& bytes) {
    crc = crc64(crc, bytes.data(), bytes.size());
    std::fwrite(bytes.data(), 1, bytes.size(), f);
  };
  put(test::RdbBuilder("REDIS0010").select_db(0).bytes());
  std::string value(2000, 'v');
  for (int i = 0; i < keys; ++i) {
    value[i % 2000] = static_cast<char>('a' + i % 26);
    put(test::RdbBuilder("").string_key((i % 10 == 0 ? "a:k" : "k") + std::to_string(i), value).bytes());
  }
  uint8_t tail[9] = {0xff};
  crc = crc64(crc, tail, 1);
  for (int i = 0; i < 8; ++i) tail[1 + i] = static_cast<uint8_t>(crc >> (8 * i));
  std::fwrite(tail, 1, 9, f);
  std::fclose(f);
}

// A mapped input stays out of resident memory, read once or twice: the pages passed are
// dropped, also by the second look the collision check takes at a database that holds keys
// already under their prefix, with the read-ahead thread (--threads 2) and without it. Each
// conversion runs in a child of its own, so that its peak resident size is its own.
TEST(MemoryBound, MappedInputReadTwiceStaysSmall) {
  test::TempDir dir;
  std::string path = dir.file("in.rdb");
  write_prefixed_dump(path, 100000);  // about 200 MB
  for (unsigned threads : {1u, 2u}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      long result = -1;
      try {
        std::unique_ptr<ByteSource> src = open_input(path);
        NullSink sink;
        ConvertOptions opt;
        opt.apps = {{0, "a"}};
        opt.threads = threads;
        ConvertResult r = convert(opt, {src.get()}, sink);
        if (r.keys_written == 100001 && r.collisions == 0) result = peak_rss_kib();
      } catch (...) {
      }
      [[maybe_unused]] ssize_t w = ::write(fds[1], &result, sizeof result);
      ::_exit(0);
    }
    ::close(fds[1]);
    long peak_kib = -2;
    ASSERT_EQ(::read(fds[0], &peak_kib, sizeof peak_kib), static_cast<ssize_t>(sizeof peak_kib));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_GT(peak_kib, 0) << "the conversion failed (threads " << threads << ")";
    EXPECT_LT(peak_kib / 1024, 96) << "peak resident size " << peak_kib / 1024 << " MiB for a 200 MB input read "
                                   << "twice, threads " << threads;
  }
}

}  // namespace
}  // namespace rdbrekey
