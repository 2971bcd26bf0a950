#include "rdbrekey/read_ahead.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "rdbrekey/byte_source.h"
#include "rdbrekey/crc64.h"
#include "support/process.h"

namespace rdbrekey {
namespace {

std::string pseudo_random_bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

// A file mapped read-only, as MappedFileSource maps one.
struct Mapped {
  explicit Mapped(const std::string& path) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    size = static_cast<size_t>(::lseek(fd, 0, SEEK_END));
    data = static_cast<const uint8_t*>(::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  }
  ~Mapped() {
    ::munmap(const_cast<uint8_t*>(data), size);
    ::close(fd);
  }
  int fd;
  size_t size;
  const uint8_t* data;
};

// The CRC the thread hands over equals the CRC of the same prefix computed directly, for any
// file size (less than a chunk, whole chunks, an odd tail), any starting point and any end, the
// reader moving on in small or large steps.
TEST(ReadAhead, CrcOfAnyPrefixMatches) {
  test::TempDir dir;
  const size_t kMiB = 1 << 20;
  for (size_t size : {size_t{1000}, kMiB, 3 * kMiB + 12345, 21 * kMiB + 7}) {
    std::string bytes = pseudo_random_bytes(size, size);
    std::string path = dir.file("in." + std::to_string(size));
    test::write_file(path, bytes);
    Mapped m(path);
    ASSERT_NE(m.data, MAP_FAILED);
    for (uint64_t start : {uint64_t{0}, uint64_t{9}, uint64_t{kMiB + 5}}) {
      if (start >= size) continue;
      for (uint64_t step : {uint64_t{256 << 10}, uint64_t{5 * kMiB}}) {
        for (uint64_t end : {uint64_t{size}, uint64_t{size - 1}, start + 1, (start + size) / 2}) {
          if (end <= start || end > size) continue;
          ReadAhead ahead(m.data, size, start, crc64(0, bytes.data(), start), 0, true);
          for (uint64_t at = start; at < end; at += step) ahead.reader_at(at);
          EXPECT_EQ(ahead.crc_to(end), crc64(0, bytes.data(), end))
              << "size " << size << " start " << start << " step " << step << " end " << end;
        }
      }
    }
  }
}

// Stopped early (an error while converting), it stops without finishing the file.
TEST(ReadAhead, StopsWhenDestroyedEarly) {
  test::TempDir dir;
  std::string path = dir.file("in");
  test::write_file(path, pseudo_random_bytes(40 << 20, 3));
  Mapped m(path);
  for (int i = 0; i < 20; ++i) {
    ReadAhead ahead(m.data, m.size, 0, 0, 0, true);
    ahead.reader_at(static_cast<uint64_t>(i) << 20);
  }
}

// Resident KiB of the mapping that starts at `addr` (/proc/self/smaps).
long mapped_rss_kib(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_it = false;
  auto want = reinterpret_cast<uintptr_t>(addr);
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 && line.find(':') > line.find('-')) {
      in_it = begin == want;
    } else if (in_it && line.rfind("Rss:", 0) == 0) {
      return std::stol(line.substr(4));
    }
  }
  return -1;
}

// Through a source: the checksum the scanner gets is the file's, with or without the thread,
// and the pages behind the reader are unmapped as they are without it.
TEST(ReadAhead, MappedSourceChecksumAndDropBehind) {
  test::TempDir dir;
  std::string path = dir.file("in");
  std::string bytes = pseudo_random_bytes((48 << 20) + 333, 4);
  test::write_file(path, bytes);
  for (bool ahead : {false, true}) {
    std::unique_ptr<ByteSource> src = open_input(path);
    ASSERT_TRUE(src->stable());
    ASSERT_TRUE(src->ensure(9));
    src->advance(9);
    if (ahead) EXPECT_TRUE(src->start_read_ahead());
    // Read as the scanner reads: small steps, the hooks catching up between records.
    for (uint64_t left = bytes.size() - 9 - 100; left > 0;) {
      uint64_t step = std::min<uint64_t>(left, 1000);
      ASSERT_TRUE(src->skip(step));
      src->checkpoint();
      left -= step;
    }
    // Every page but the last few MiB was unmapped from the process (48 MiB were read).
    EXPECT_LT(mapped_rss_kib(src->stable_data()), 24 << 10) << ahead;
    EXPECT_EQ(src->checksum(), crc64(0, bytes.data(), bytes.size() - 100)) << ahead;
    ASSERT_TRUE(src->skip(100));
    EXPECT_EQ(src->checksum(), crc64(0, bytes.data(), bytes.size())) << ahead;
  }
  // Memory that is not a file mapping gets no thread.
  MemorySource mem("mem", bytes.data(), bytes.size());
  EXPECT_FALSE(mem.start_read_ahead());
}

}  // namespace
}  // namespace rdbrekey
