// --threads changes how the work is shared between threads, never what is written: every route
// (a file, standard output, shard files, a compressed file, a pipe, two passes for
// keep-first, every key remembered) gives byte for byte the same output with 1, 2 or 3 threads,
// and a damaged input fails the same way. The input is large enough (about 30 MB) for the
// read-ahead thread to run many chunks ahead of the reader and be waited for.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "rdbrekey/byte_source.h"
#include "support/process.h"
#include "support/rdb_builder.h"

namespace rdbrekey::test {
namespace {

using Args = std::vector<std::string>;

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Four databases of string keys (values of 0..4000 bytes), Bull keys, keys already under their
// prefix, a data_version to merge and, with `collide`, a collision ("x" in db 1 meets a kept
// "b:x").
std::string dump(bool collide) {
  RdbBuilder b("REDIS0010");
  const char* prefixes[] = {"a", "b", "c", "d"};
  for (int db = 0; db < 4; ++db) {
    b.select_db(static_cast<uint64_t>(db));
    for (int i = 0; i < 6000 + db * 1000; ++i) {
      std::string key = (i % 10 == 0)  ? "bull:q" + std::to_string(i % 7) + ":" + std::to_string(i)
                        : (i % 13 == 0) ? std::string(prefixes[db]) + ":kept" + std::to_string(i)
                                        : "k" + std::to_string(i);
      b.string_key(key, std::string(static_cast<size_t>((i * 7919) % 4000), static_cast<char>('a' + i % 26)));
    }
  }
  // Values of a MiB and more are copied inside the kernel (copy_file_range) and hashed by the
  // reader, the read-ahead stopping before each and starting again after it.
  b.select_db(2);
  for (size_t mib : {3, 1, 2}) b.string_key("blob" + std::to_string(mib), std::string(mib << 20, static_cast<char>('z' - mib)));
  b.select_db(1).string_key("data_version", "5");
  if (collide) b.string_key("x", "1").string_key("b:x", "2");
  return b.eof().bytes();
}

const Args kApps{"-a", "0=a", "-a", "1=b", "-a", "2=c", "-a", "3=d"};

RunResult convert(const Args& args, const std::string& threads) {
  Args argv{rdbrekey_binary(), "convert"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), kApps.begin(), kApps.end());
  argv.insert(argv.end(), {"--threads", threads, "-q"});
  return run(argv, 120);
}

RunResult sh(const std::string& line) { return run({"bash", "-o", "pipefail", "-c", line}, 120); }

std::string q(const std::string& s) { return "'" + s + "'"; }

TEST(CliThreads, EveryRouteWritesTheSameBytes) {
  TempDir dir;
  std::string in = dir.file("in.rdb"), colliding = dir.file("colliding.rdb");
  write_file(in, dump(false));
  write_file(colliding, dump(true));
  ASSERT_GT(read_file(in).size(), 25u << 20);
  std::string bin = q(rdbrekey_binary());
  std::string apps;
  for (const auto& a : kApps) apps += " " + a;

  // Each route: the bytes (or, for several files, each file's bytes) it writes with N threads.
  auto route_bytes = [&](const std::string& route, const std::string& threads) -> std::vector<std::string> {
    std::string out = dir.file(route + "-" + threads);
    RunResult r;
    if (route == "file") r = convert({in, "-o", out + ".rdb", "--verify"}, threads);
    else if (route == "keep-first")
      r = convert({colliding, "-o", out + ".rdb", "--on-collision", "keep-first"}, threads);
    else if (route == "unmapped-keep")
      r = convert({colliding, "-o", out + ".rdb", "--on-collision", "keep-last", "--unmapped", "keep"}, threads);
    else if (route == "zstd") r = convert({in, "-o", out + ".rdb.zst"}, threads);
    else if (route == "stdout")
      r = sh(bin + " convert " + q(in) + apps + " --threads " + threads + " -o - > " + q(out + ".rdb"));
    else if (route == "pipe")
      r = sh("cat " + q(colliding) + " | " + bin + " convert -" + apps + " --threads " + threads + " --on-collision "
             "keep-first -o " + q(out + ".rdb") + " -q");
    else if (route == "cluster") r = convert({in, "--cluster", "3", "--output-dir", out}, threads);
    EXPECT_EQ(r.exit_code, 0) << route << " threads " << threads << "\n" << describe(r);
    if (route == "cluster") {
      std::vector<std::string> files;  // name and bytes of each shard file, by name
      for (const auto& e : std::filesystem::directory_iterator(out))
        if (e.path().extension() == ".rdb") files.push_back(e.path().filename().string() + ":" + read_file(e.path()));
      std::sort(files.begin(), files.end());
      EXPECT_EQ(files.size(), 3u);
      return files;
    }
    if (route == "zstd") {
      RunResult v = sh(bin + " verify " + q(out + ".rdb.zst"));
      EXPECT_EQ(v.exit_code, 0) << describe(v);
      // zstd's workers may cut its frames differently; the RDB inside must be the same.
      std::unique_ptr<ByteSource> src = open_input(out + ".rdb.zst");
      std::string rdb;
      while (src->ensure(1)) {
        rdb.append(reinterpret_cast<const char*>(src->pos()), src->available());
        src->advance(src->available());
      }
      return {rdb};
    }
    return {read_file(out + ".rdb")};
  };

  for (const std::string route : {"file", "stdout", "keep-first", "unmapped-keep", "pipe", "cluster", "zstd"}) {
    SCOPED_TRACE(route);
    std::vector<std::string> one = route_bytes(route, "1");
    ASSERT_FALSE(one.empty());
    EXPECT_GT(one[0].size(), 1000u);
    for (const std::string threads : {"2", "3"}) EXPECT_TRUE(route_bytes(route, threads) == one) << threads;
  }
}

// A damaged input (one byte changed in the middle, or the trailer) is refused the same way
// whatever the number of threads: the CRC the read-ahead thread computed is the one checked.
TEST(CliThreads, DamagedInputIsRefusedTheSameWay) {
  TempDir dir;
  std::string bytes = dump(false);
  // A byte inside a value in the middle (a run of one letter), one inside a value copied
  // inside the kernel, and one of the CRC trailer.
  size_t mid = bytes.find(std::string(200, 'q'), bytes.size() / 2) + 100;
  size_t blob = bytes.find(std::string(1 << 20, 'w')) + 12345;
  ASSERT_LT(mid, bytes.size());
  ASSERT_LT(blob, bytes.size());
  for (size_t at : {mid, blob, bytes.size() - 3}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    std::string in = dir.file("bad.rdb");
    write_file(in, bad);
    std::string first_err;
    for (const std::string threads : {"1", "2"}) {
      RunResult r = convert({in, "-o", dir.file("out.rdb")}, threads);
      EXPECT_EQ(r.exit_code, 4) << describe(r);
      EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
      if (threads == "1") first_err = r.err;
      else EXPECT_EQ(r.err, first_err);
      EXPECT_EQ(dir.entries(), std::vector<std::string>{"bad.rdb"}) << "nothing left behind";
    }
  }
}

}  // namespace
}  // namespace rdbrekey::test
