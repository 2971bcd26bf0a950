#include "rdbrekey/compression.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>

#include <fmt/format.h>

#include "rdbrekey/crc64.h"
#include "rdbrekey/error.h"
#include "support/process.h"
#include "support/rdb_builder.h"
#include "support/stream_source.h"

namespace rdbrekey {
namespace {

constexpr Codec kCodecs[] = {Codec::kGzip, Codec::kLz4, Codec::kZstd};

// Bytes that compress somewhat, like an RDB: repeated text with random runs.
std::string sample_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) {
    if (rng() % 3) s += "key:" + std::to_string(rng() % 1000) + ":value;";
    else
      for (int i = 0; i < 40; ++i) s += static_cast<char>(rng());
  }
  s.resize(n);
  return s;
}

std::string compress(const std::string& data, Compression how, size_t piece = 1 << 16) {
  auto mem = std::make_unique<MemorySink>();
  MemorySink* bytes = mem.get();
  CompressingSink sink(std::move(mem), how);
  for (size_t at = 0; at < data.size(); at += piece)
    sink.write(data.data() + at, std::min(piece, data.size() - at));
  sink.finalize();
  EXPECT_EQ(sink.checksum(), crc64(0, data.data(), data.size()));  // the uncompressed bytes' CRC
  EXPECT_EQ(sink.compressed_bytes(), bytes->data().size());
  return std::string(bytes->data().begin(), bytes->data().end());
}

// Every byte a source gives, read through its exposed buffer.
std::string read_all(ByteSource& src) {
  std::string out;
  while (src.ensure(1)) {
    out.append(reinterpret_cast<const char*>(src.pos()), src.available());
    src.advance(src.available());
  }
  return out;
}

// Everything a DecompressingSource gives; the compressed bytes arrive `chunk` at a time.
std::string decompress(const std::string& packed, size_t chunk = 4096) {
  Codec c = codec_of_magic(reinterpret_cast<const uint8_t*>(packed.data()), packed.size());
  DecompressingSource src(std::make_unique<test::StreamSource>("in", packed, chunk), c);
  return read_all(src);
}

TEST(Compression, NamesMagicsAndLevels) {
  EXPECT_EQ(codec_of_path("dump.rdb.gz"), Codec::kGzip);
  EXPECT_EQ(codec_of_path("/x/dump.lz4"), Codec::kLz4);
  EXPECT_EQ(codec_of_path("a.zst"), Codec::kZstd);
  EXPECT_EQ(codec_of_path("dump.rdb"), Codec::kNone);
  EXPECT_EQ(codec_of_path(".gz"), Codec::kNone);  // a name that is only the ending
  EXPECT_EQ(codec_of_path("-"), Codec::kNone);
  const uint8_t rdb[] = {'R', 'E', 'D', 'I', 'S'};
  EXPECT_EQ(codec_of_magic(rdb, sizeof rdb), Codec::kNone);
  const uint8_t gz[] = {0x1f, 0x8b};
  EXPECT_EQ(codec_of_magic(gz, 1), Codec::kNone);  // too short to tell
  EXPECT_EQ(codec_of_magic(gz, 2), Codec::kGzip);
  std::string why;
  EXPECT_EQ(parse_compression("zstd", why), (Compression{Codec::kZstd, 0}));
  EXPECT_EQ(parse_compression("gzip:9", why), (Compression{Codec::kGzip, 9}));
  EXPECT_EQ(parse_compression("lz4:12", why), (Compression{Codec::kLz4, 12}));
  EXPECT_EQ(parse_compression("none", why), (Compression{Codec::kNone, 0}));
  for (const char* bad : {"gzip:0", "gzip:10", "zstd:x", "zstd:", "bzip2", "none:3", "lz4:13", ""}) {
    why.clear();
    EXPECT_FALSE(parse_compression(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

// Each codec, each level class, written in pieces of any size and read back in chunks of any
// size, gives back exactly what went in; the compressed form starts with the codec's magic.
TEST(Compression, EveryCodecRoundTripsWhateverTheSplit) {
  std::string data = sample_bytes(3 << 20, 1);
  for (Codec c : kCodecs) {
    for (int level : {0, 1}) {
      for (size_t piece : {size_t{1} << 20, size_t{7777}}) {
        std::string packed = compress(data, {c, level}, piece);
        SCOPED_TRACE(fmt::format("{} level {} piece {}", codec_name(c), level, piece));
        EXPECT_EQ(codec_of_magic(reinterpret_cast<const uint8_t*>(packed.data()), packed.size()), c);
        EXPECT_LT(packed.size(), data.size());
        EXPECT_EQ(decompress(packed, 1 << 16), data);
      }
    }
    std::string packed = compress(data.substr(0, 100000), {c, 0});
    EXPECT_EQ(decompress(packed, 1), data.substr(0, 100000)) << codec_name(c);  // a byte at a time
    EXPECT_EQ(decompress(compress("", {c, 0})), "") << codec_name(c);           // an empty stream
  }
}

// `cat a.gz b.gz` is one gzip file; the same holds for LZ4 frames and zstd frames.
TEST(Compression, ConcatenatedStreamsReadAsOne) {
  std::string a = sample_bytes(300000, 2), b = sample_bytes(200000, 3);
  for (Codec c : kCodecs)
    EXPECT_EQ(decompress(compress(a, {c, 0}) + compress(b, {c, 0}), 777), a + b) << codec_name(c);
  // gzip files padded with zero bytes (tape and backup tools) end at the padding.
  EXPECT_EQ(decompress(compress(a, {Codec::kGzip, 0}) + std::string(4096, '\0')), a);
}

// A compressed stream cut anywhere is an error naming the compressed offset, never a short
// read passed off as the end; a damaged byte is an error too (every codec checks its data).
TEST(Compression, CutOrDamagedStreamsAreErrors) {
  std::string data = sample_bytes(400000, 4);
  for (Codec c : kCodecs) {
    std::string packed = compress(data, {c, 0});
    for (size_t cut : {size_t{5}, size_t{20}, packed.size() / 3, packed.size() / 2, packed.size() - 9,
                       packed.size() - 1}) {
      SCOPED_TRACE(fmt::format("{} cut at {} of {}", codec_name(c), cut, packed.size()));
      try {
        decompress(packed.substr(0, cut));
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_TRUE(e.code() == Errc::kTruncated || e.code() == Errc::kBadFraming) << e.what();
        EXPECT_NE(std::string(e.what()).find("compressed byte offset"), std::string::npos) << e.what();
      }
    }
    for (size_t at : {packed.size() / 2, packed.size() - 3}) {
      std::string bad = packed;
      bad[at] = static_cast<char>(bad[at] ^ 0x5a);
      SCOPED_TRACE(fmt::format("{} damaged at {}", codec_name(c), at));
      try {
        std::string out = decompress(bad);
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_TRUE(e.code() == Errc::kTruncated || e.code() == Errc::kBadFraming) << e.what();
      }
    }
  }
}

// open_input recognises compressed data by its first bytes, whatever the file is called, and the
// RDB read from it checks its own CRC over the decompressed bytes.
TEST(Compression, OpenInputDecompressesByMagicNotName) {
  test::TempDir dir;
  std::string rdb = test::RdbBuilder("REDIS0011").string_key("a", "1").string_key("b", "2").eof().bytes();
  for (Codec c : kCodecs) {
    std::string path = dir.file(std::string("dump-") + std::string(codec_name(c)) + ".rdb");  // no ending
    test::write_file(path, compress(rdb, {c, 0}));
    std::unique_ptr<ByteSource> src = open_input(path);
    EXPECT_FALSE(src->stable());
    EXPECT_NE(src->name().find(codec_name(c)), std::string::npos) << src->name();
    EXPECT_EQ(read_all(*src), rdb);
    EXPECT_EQ(src->checksum(), crc64(0, rdb.data(), rdb.size()));
    // Read again (a second pass): the mapped compressed bytes, decompressed anew.
    std::unique_ptr<ByteSource> again = src->reopen();
    ASSERT_TRUE(again);
    EXPECT_EQ(read_all(*again), rdb);
    EXPECT_EQ(again->name(), src->name());
    // Compressed data from a pipe cannot be read again.
    DecompressingSource piped(std::make_unique<test::StreamSource>("pipe", compress(rdb, {c, 0})), c);
    EXPECT_FALSE(piped.reopen());
  }
  // Compressed twice: named, not guessed through.
  std::string twice = dir.file("twice");
  test::write_file(twice, compress(compress(rdb, {Codec::kZstd, 0}), {Codec::kGzip, 0}));
  try {
    open_input(twice);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotRdb);
    EXPECT_NE(std::string(e.what()).find("zstd data again"), std::string::npos) << e.what();
  }
}

// What reads an input twice gets a mapped copy of a stream, in $TMPDIR, with every byte.
TEST(Compression, SpoolingAStreamGivesAStableCopy) {
  std::string data = sample_bytes(5 << 20, 5);
  test::StreamSource pipe("pipe", data, 100000);
  std::unique_ptr<ByteSource> copy = spool_to_temp_file(pipe);
  ASSERT_TRUE(copy->stable());
  ASSERT_EQ(copy->size_hint(), data.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(copy->stable_data()), data.size()), data);
  EXPECT_EQ(copy->name(), "pipe");

  // A spool directory that is not there is named in the error.
  const char* old = std::getenv("TMPDIR");
  std::string saved = old ? old : "";
  ::setenv("TMPDIR", "/nonexistent-rdbrekey-dir", 1);
  test::StreamSource again("pipe", data, 100000);
  try {
    spool_to_temp_file(again);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCannotOpen);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-rdbrekey-dir"), std::string::npos) << e.what();
  }
  if (old) ::setenv("TMPDIR", saved.c_str(), 1);
  else ::unsetenv("TMPDIR");
}

}  // namespace
}  // namespace rdbrekey
