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

}  // namespace
}  // namespace rdbrekey
