// Compressed and piped dumps through the CLI: gzip/LZ4/zstd inputs recognised by their bytes,
// compressed outputs, standard input and output, options that read an input twice given a
// stream, and a backup taken from a running server with `redis-cli --rdb -` converted and
// restored in one pipe.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "rdbrekey/compression.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_image.h"
#include "support/redis_server.h"
#include "support/resp_client.h"
#include "support/standalone_dataset.h"

namespace rdbrekey::test {
namespace {

using Args = std::vector<std::string>;

const Args kSampleApps{"-a", "0=@app/condo", "-a", "1=@app/resident-app", "-a", "2=@app/billing",
                       "-a", "3=@app/miniapp"};
constexpr Codec kCodecs[] = {Codec::kGzip, Codec::kLz4, Codec::kZstd};

std::string q(const std::string& s) { return "'" + s + "'"; }

std::string sample() { return project_fixture("sample.rdb"); }

std::string apps_text() {
  std::string s;
  for (const auto& a : kSampleApps) s += " " + a;
  return s;
}

RunResult convert(Args args) {
  Args argv{rdbrekey_binary(), "convert"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), kSampleApps.begin(), kSampleApps.end());
  return run(argv, 120);
}

// A shell pipeline (bash -o pipefail: any stage failing fails it).
RunResult sh(const std::string& line) { return run({"bash", "-o", "pipefail", "-c", line}, 120); }

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// The bytes of `data` compressed with the project's own encoder (no compressor tool is assumed).
std::string packed(const std::string& data, Codec c) {
  auto mem = std::make_unique<MemorySink>();
  MemorySink* bytes = mem.get();
  CompressingSink sink(std::move(mem), {c, 0});
  sink.write(data.data(), data.size());
  sink.finalize();
  return std::string(bytes->data().begin(), bytes->data().end());
}

std::string unpacked(const std::string& path) {
  std::unique_ptr<ByteSource> src = open_input(path);
  std::string out;
  while (src->ensure(1)) {
    out.append(reinterpret_cast<const char*>(src->pos()), src->available());
    src->advance(src->available());
  }
  return out;
}

// The converted sample, from the plain file: what every other route must give.
std::string reference(const TempDir& dir) {
  std::string out = dir.file("reference.rdb");
  RunResult r = convert({sample(), "-o", out, "-q"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  return read_file(out);
}

TEST(CliStreams, CompressedInputsConvertLikeThePlainFile) {
  TempDir dir;
  std::string want = reference(dir);
  for (Codec c : kCodecs) {
    SCOPED_TRACE(std::string(codec_name(c)));
    std::string in = dir.file(std::string("dump-") + std::string(codec_name(c)));  // no telling ending
    write_file(in, packed(read_file(sample()), c));
    for (bool pipe : {false, true}) {
      std::string out = dir.file(fmt::format("out-{}-{}.rdb", codec_name(c), pipe));
      RunResult r = pipe ? sh("cat " + q(in) + " | " + q(rdbrekey_binary()) + " convert -" + apps_text() + " -o " +
                              q(out) + " --verify")
                         : convert({in, "-o", out, "--verify"});
      ASSERT_EQ(r.exit_code, 0) << describe(r);
      EXPECT_EQ(read_file(out), want) << "byte for byte the plain file's conversion";
      EXPECT_NE(r.out.find(fmt::format("({}-decompressed)", codec_name(c))), std::string::npos) << r.out;
    }
  }
}

// Compressed by name or by --compress; each decompresses (with gzip(1) too) to an RDB holding
// exactly the keys of the uncompressed conversion, which a real server loads.
TEST(CliStreams, CompressedOutputsHoldTheSameKeys) {
  TempDir dir;
  std::string want_bytes = reference(dir);
  FileImage want = image_of_bytes(want_bytes);
  struct Case {
    std::string name;
    Args extra;
  };
  std::vector<Case> cases{{"out.rdb.gz", {}},
                          {"out.rdb.lz4", {}},
                          {"out.rdb.zst", {}},
                          {"out.zstd-by-option", {"--compress", "zstd:5"}},
                          {"out.gzip-by-option", {"--compress", "gzip:1"}},
                          {"plain.rdb.gz", {"--compress", "none"}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Args args{sample(), "-o", dir.file(c.name), "--verify"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    RunResult r = convert(args);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::string bytes = read_file(dir.file(c.name));
    Codec codec = codec_of_magic(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    EXPECT_EQ(codec == Codec::kNone, c.name == "plain.rdb.gz");
    if (codec != Codec::kNone) {
      EXPECT_NE(r.out.find(fmt::format("({}: ", codec_name(codec))), std::string::npos) << r.out;
      EXPECT_LT(bytes.size(), want.keys.size() * 40);  // it did compress
    }
    // Byte for byte the uncompressed conversion, RESIZEDB hint included (a counting pass gives
    // an output that cannot be patched its counts when the input is a file).
    EXPECT_EQ(unpacked(dir.file(c.name)), want_bytes);
    RunResult v = run({rdbrekey_binary(), "verify", dir.file(c.name)});
    EXPECT_EQ(v.exit_code, 0) << describe(v);
  }
  // The system's gzip reads ours; a real server loads what it gives.
  RunResult g = sh("gzip -dc " + q(dir.file("out.rdb.gz")) + " > " + q(dir.file("gunzipped.rdb")));
  ASSERT_EQ(g.exit_code, 0) << describe(g);
  auto server = RedisServer::on_rdb(dir.file("gunzipped.rdb"));
  EXPECT_EQ(dbsize(server->client(), 0), static_cast<long long>(want.dbs.at(0).size()));
}

// -o - writes the RDB (only) to standard output and the summary to standard error; what reads
// the inputs twice (keep-first/keep-last) works on pipes and compressed inputs too.
TEST(CliStreams, StandardInputAndOutput) {
  TempDir dir;
  std::string want = reference(dir);
  FileImage want_image = image_of_bytes(want);
  std::string gz = dir.file("in.gz");
  write_file(gz, packed(read_file(sample()), Codec::kGzip));
  std::string bin = q(rdbrekey_binary());
  for (const std::string& policy : {"error", "keep-first", "keep-last"}) {
    SCOPED_TRACE(policy);
    std::string out = dir.file("stdout-" + policy + ".rdb");
    RunResult r = sh("cat " + q(gz) + " | " + bin + " convert -" + apps_text() + " --on-collision " + policy +
                     " -o - > " + q(out));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("output  <stdout>"), std::string::npos) << r.err;
    FileImage got = image_of_bytes(read_file(out));
    EXPECT_EQ(got.dbs, want_image.dbs);
    // A file input with a keep policy: read twice in place, byte for byte the reference.
    std::string twice = dir.file("twice-" + policy + ".rdb");
    RunResult t = convert({gz, "--on-collision", policy, "-o", twice, "-q"});
    ASSERT_EQ(t.exit_code, 0) << describe(t);
    EXPECT_EQ(read_file(twice), want);
  }
  // From a file, standard output is byte for byte the file output (RESIZEDB counted first);
  // from a pipe it has no RESIZEDB hint, and the same keys.
  RunResult file_to_stdout = sh(bin + " convert " + q(sample()) + apps_text() + " -o - > " + q(dir.file("f.rdb")));
  ASSERT_EQ(file_to_stdout.exit_code, 0) << describe(file_to_stdout);
  EXPECT_EQ(read_file(dir.file("f.rdb")), want);
  // Standard output straight into a reader, compressed on the way.
  RunResult v = sh(bin + " convert " + q(sample()) + apps_text() + " -o - --compress zstd -q | " + bin + " verify -");
  ASSERT_EQ(v.exit_code, 0) << describe(v);
  EXPECT_NE(v.out.find("OK"), std::string::npos) << v.out;
  // Standard output appended to the input is refused before a byte is written.
  std::string in = dir.file("in.rdb");
  write_file(in, read_file(sample()));
  RunResult same = sh(bin + " convert " + q(in) + apps_text() + " -o - >> " + q(in));
  EXPECT_EQ(same.exit_code, 2) << describe(same);
  EXPECT_NE(same.err.find("standard output is the input"), std::string::npos) << same.err;
  EXPECT_EQ(read_file(in), read_file(sample()));
  // Never RDB bytes onto a terminal (script(1) gives the command one).
  RunResult tty = sh("script -qec \"" + bin + " convert " + q(sample()) + apps_text() + " -o -\" /dev/null");
  EXPECT_EQ(tty.exit_code, 2) << describe(tty);
  EXPECT_NE(tty.out.find("standard output is a terminal"), std::string::npos) << describe(tty);
  // A dry run writes nothing on standard output either; its plan goes to standard error.
  RunResult dry = sh(bin + " convert " + q(sample()) + apps_text() + " -o - -n --compress zstd");
  EXPECT_EQ(dry.exit_code, 0) << describe(dry);
  EXPECT_EQ(dry.out, "");
  EXPECT_NE(dry.err.find("dry run"), std::string::npos) << dry.err;
  // A compression that does not exist is a usage error; nothing is written.
  RunResult bogus = convert({sample(), "-o", dir.file("bogus.rdb"), "--compress", "bzip2"});
  EXPECT_EQ(bogus.exit_code, 2) << describe(bogus);
  EXPECT_NE(bogus.err.find("--compress"), std::string::npos) << bogus.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("bogus.rdb")));
  // Nothing to read back on standard output.
  RunResult bad = convert({sample(), "-o", "-", "--verify"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_EQ(bad.out, "");
}

// A cut or damaged compressed input is a corrupt input (exit 4) naming the compressed offset,
// from a file or a pipe; nothing is left behind.
TEST(CliStreams, CutCompressedInputsFailCleanly) {
  TempDir dir;
  std::string bin = q(rdbrekey_binary());
  for (Codec c : kCodecs) {
    std::string whole = packed(read_file(sample()), c);
    std::string cut = dir.file(std::string("cut-") + std::string(codec_name(c)));
    write_file(cut, whole.substr(0, whole.size() * 2 / 3));
    for (const std::string& policy : {"error", "keep-last"}) {
      SCOPED_TRACE(fmt::format("{} {}", codec_name(c), policy));
      RunResult f = convert({cut, "-o", dir.file("out.rdb"), "--on-collision", policy});
      EXPECT_EQ(f.exit_code, 4) << describe(f);
      EXPECT_NE(f.err.find("compressed byte offset"), std::string::npos) << f.err;
      RunResult p = sh("cat " + q(cut) + " | " + bin + " convert -" + apps_text() + " --on-collision " + policy +
                       " -o " + q(dir.file("out.rdb.zst")));
      EXPECT_EQ(p.exit_code, 4) << describe(p);
      for (const auto& e : dir.entries()) EXPECT_EQ(e.rfind("cut-", 0), 0u) << "left behind: " << e;
    }
  }
}

// --cluster with --compress: one compressed file per primary, named so, each a whole RDB.
TEST(CliStreams, CompressedShardFiles) {
  TempDir dir;
  FileImage want = image_of_bytes(reference(dir));
  RunResult r = convert({sample(), "--cluster", "3", "--output-dir", dir.file("shards"), "--compress", "lz4",
                         "--verify"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  size_t keys = 0, files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("shards"))) {
    std::string e = entry.path().filename().string();
    if (e == "manifest.json") continue;
    ++files;
    EXPECT_TRUE(e.size() > 8 && e.substr(e.size() - 8) == ".rdb.lz4") << e;
    std::string bytes = read_file(dir.file("shards/" + e));
    EXPECT_EQ(codec_of_magic(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), Codec::kLz4);
    keys += image_of_bytes(unpacked(dir.file("shards/" + e))).dbs[0].size();
  }
  EXPECT_EQ(files, 3u);
  EXPECT_EQ(keys, want.dbs.at(0).size());
}

// A backup straight from a running server: `redis-cli --rdb -` piped into convert gives what
// converting the server's own dump file gives, and piped into restore fills a second server.
TEST(CliStreams, RedisCliRdbPipeIntoConvertAndRestore) {
  TempDir dir;
  Source source = make_source(dir, [](Filler& f) {
    fill_condo(f);
    fill_address_service(f);
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  // A diskless transfer starts at once instead of waiting 5 s for more replicas.
  source.server->client().ok({"CONFIG", "SET", "repl-diskless-sync-delay", "0"});
  const std::string apps = " -a 0=@app/condo -a 1=@app/address-service";
  const std::string bin = q(rdbrekey_binary());
  const std::string cli = "redis-cli -p " + std::to_string(source.server->port()) + " --rdb - 2>/dev/null";

  std::string from_file = dir.file("from-file.rdb"), from_pipe = dir.file("from-pipe.rdb.gz");
  RunResult a = sh(bin + " convert " + q(source.rdb) + apps + " -o " + q(from_file) + " -q");
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  RunResult b = sh(cli + " | " + bin + " convert -" + apps + " -o " + q(from_pipe) + " -q");
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  EXPECT_EQ(image_of_bytes(unpacked(from_pipe)).dbs, image_of_bytes(read_file(from_file)).dbs);

  RedisServer target;
  RunResult c = sh(cli + " | " + bin + " restore -" + apps + " --to redis://127.0.0.1:" +
                   std::to_string(target.port()));
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  Plan plan;
  plan.prefixes = {{0, "condo"}, {1, "address_service"}};
  expect_converted(source.server->client(), target.client(), plan);

  // A compressed file is read twice by decompressing it again: no spool file, so an unusable
  // $TMPDIR does not matter (a pipe needs one, and says so).
  RedisServer second;
  RunResult d = sh("TMPDIR=/nonexistent-dir " + bin + " restore " + q(from_pipe) + " --unmapped keep --to redis://127.0.0.1:" +
                   std::to_string(second.port()));
  ASSERT_EQ(d.exit_code, 0) << describe(d);
  EXPECT_EQ(dbsize(second.client(), 0), dbsize(target.client(), 0));
  RunResult e = sh("cat " + q(from_pipe) + " | TMPDIR=/nonexistent-dir " + bin + " restore - --unmapped keep --to redis://127.0.0.1:" +
                   std::to_string(second.port()) + " --existing skip");
  EXPECT_EQ(e.exit_code, 3) << describe(e);
  EXPECT_NE(e.err.find("/nonexistent-dir"), std::string::npos) << e.err;
  // A resumable restore reads files only (a pipe's bytes cannot be shown to be the same again).
  RunResult f = sh("cat " + q(from_pipe) + " | " + bin + " restore - --unmapped keep --resume " + q(dir.file("r.json")) +
                   " --to redis://127.0.0.1:" + std::to_string(second.port()) + " --existing skip");
  EXPECT_EQ(f.exit_code, 2) << describe(f);
  EXPECT_NE(f.err.find("--resume needs inputs that are files"), std::string::npos) << f.err;
}

}  // namespace
}  // namespace rdbrekey::test
