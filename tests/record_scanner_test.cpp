#include "rdbrekey/record_scanner.h"

#include "rdbrekey/converter.h"
#include "rdbrekey/verifier.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <string>

#include "support/fixtures.h"
#include "support/process.h"
#include "support/rdb_builder.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

// A whole walk of the scanner (verify() is exactly that: header, every record, the trailer).
using ScanStats = VerifyResult;

ScanStats scan(ByteSource& src) { return verify(src); }

ScanStats scan_bytes(const std::string& bytes) {
  MemorySource src("mem.rdb", bytes.data(), bytes.size());
  return scan(src);
}

std::optional<Errc> scan_error(const std::string& bytes, std::string* message = nullptr) {
  try {
    scan_bytes(bytes);
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return std::nullopt;
}

TEST(RecordScanner, EveryFixtureWalksToTheEndOrFailsCleanly) {
  auto files = test::shared_fixtures();
  ASSERT_GT(files.size(), 100u) << "the shared fixtures are missing";
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    auto expected = test::expected_failure(path);
    std::unique_ptr<ByteSource> src_input = open_input(path);
  ByteSource& src = *src_input;
    try {
      ScanStats st = scan(src);
      EXPECT_FALSE(expected) << "should have failed";
      // A file with a CRC trailer was verified (a zero CRC means the producer disabled it).
      if (st.version.has_checksum() && !st.checksum_present)
        EXPECT_TRUE(test::checksum_disabled(path)) << "checksum not verified";
    } catch (const Error& e) {
      ASSERT_TRUE(expected) << e.what();
      EXPECT_EQ(e.code(), *expected) << e.what();
    }
  }
}

TEST(RecordScanner, CountsKeysAndDatabases) {
  std::unique_ptr<ByteSource> src_input = open_input(test::shared_fixture("redis_librdb/test_dumps_multiple_dbs.rdb"));
  ByteSource& src = *src_input;
  ScanStats st = scan(src);
  EXPECT_EQ(st.keys, 3u);
  EXPECT_GE(st.keys_per_db.size(), 2u);
  std::unique_ptr<ByteSource> src2_input = open_input(test::shared_fixture("redis_librdb/test_dumps_string_int_encoded.rdb"));
  ByteSource& src2 = *src2_input;
  EXPECT_EQ(scan(src2).keys, 57u);
}

TEST(RecordScanner, ReadsFromAPipeLikeSource) {
  // FileSource falls back to read(2) on non-regular files: read a fixture through a FIFO.
  test::TempDir dir;
  std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string data = test::read_file(test::shared_fixture("redis_librdb/test_dumps_100_lists.rdb"));
  pid_t pid = ::fork();
  if (pid == 0) {
    test::write_file(fifo, data);
    ::_exit(0);
  }
  std::unique_ptr<ByteSource> src_input = open_input(fifo);
  ByteSource& src = *src_input;
  ScanStats st = scan(src);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(st.keys, 100u);
  EXPECT_TRUE(st.checksum_present);
}

TEST(RecordScanner, EveryTruncationIsACleanError) {
  for (const char* name : {"redis_librdb/test_dumps_misc_with_stream.rdb", "HDT3213_rdb/cases_listpack.rdb",
                           "HDT3213_rdb/cases_valkey_hash2_with_hfe.rdb", "redis_librdb/test_dumps_module_aux_v12.rdb",
                           "sripathikrishnan_redis-rdb-tools/tests_dumps_parser_filters.rdb"}) {
    std::string data = test::read_file(test::shared_fixture(name));
    for (size_t cut = 0; cut < data.size(); ++cut) {
      std::string msg;
      std::optional<Errc> c = scan_error(data.substr(0, cut), &msg);
      ASSERT_EQ(c, cut == 0 ? Errc::kNotRdb : Errc::kTruncated) << name << " cut at " << cut << ": " << msg;
    }
    EXPECT_EQ(scan_error(data), std::nullopt) << name;
  }
}

TEST(RecordScanner, FlippedBytesNeverPassSilently) {
  std::string data = test::read_file(test::shared_fixture("redis_librdb/test_dumps_misc_with_stream.rdb"));
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = data;
    size_t at = 9 + rng() % (data.size() - 9);
    uint8_t flip = static_cast<uint8_t>(1 + rng() % 255);
    bad[at] = static_cast<char>(bad[at] ^ flip);
    std::optional<Errc> c = scan_error(bad);
    // The CRC covers every byte but the trailer: a flip there is a mismatch too.
    EXPECT_NE(c, std::nullopt) << "flip at " << at;
    EXPECT_NE(c, Errc::kInternal) << "flip at " << at;
  }
}

TEST(RecordScanner, ChecksumMismatchNamesBothValues) {
  std::string good = RdbBuilder().string_key("a", "b").eof().bytes();
  EXPECT_EQ(scan_error(good), std::nullopt);
  std::string bad = RdbBuilder().string_key("a", "b").eof_with_crc(0x1122334455667788ull).bytes();
  std::string msg;
  EXPECT_EQ(scan_error(bad, &msg), Errc::kChecksumMismatch);
  EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x1122334455667788"), std::string::npos) << msg;
  // A zero CRC means the producer disabled checksums: accepted, as servers do.
  EXPECT_EQ(scan_error(RdbBuilder().string_key("a", "b").eof_with_crc(0).bytes()), std::nullopt);
}

TEST(RecordScanner, UnknownTypeIsUnsupportedWithOffset) {
  std::string bytes = RdbBuilder().string_key("a", "b").byte(8).str("k").str("v").eof().bytes();
  std::string msg;
  EXPECT_EQ(scan_error(bytes, &msg), Errc::kUnknownType);
  EXPECT_NE(msg.find("byte offset 14"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown value type or opcode 8"), std::string::npos) << msg;
  // Redis-only types are unknown under VALKEY magic.
  EXPECT_EQ(scan_error(RdbBuilder("VALKEY080").byte(24).str("k").eof().bytes()), Errc::kUnknownType);
  EXPECT_EQ(scan_error(RdbBuilder().byte(6).str("k").eof().bytes()), Errc::kUnknownType);
  EXPECT_EQ(scan_error(RdbBuilder().byte(246).eof().bytes()), Errc::kUnknownType);
}

TEST(RecordScanner, HeaderErrors) {
  std::string msg;
  EXPECT_EQ(scan_error("", &msg), Errc::kNotRdb);
  EXPECT_EQ(scan_error("REDIS00", &msg), Errc::kTruncated);
  EXPECT_EQ(scan_error("HELLO WORLD", &msg), Errc::kNotRdb);
  EXPECT_NE(msg.find("not an RDB file"), std::string::npos);
  EXPECT_EQ(scan_error(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10), &msg), Errc::kNotRdb);
  EXPECT_EQ(scan_error(RdbBuilder("REDIS0015").eof().bytes(), &msg), Errc::kUnknownVersion);
  EXPECT_EQ(scan_error(RdbBuilder("VALKEY011").eof().bytes(), &msg), Errc::kUnknownVersion);
}

TEST(RecordScanner, ExpireMustBeFollowedByAKey) {
  EXPECT_EQ(scan_error(RdbBuilder().expire_ms(1).select_db(1).string_key("a", "b").eof().bytes()), Errc::kBadFraming);
  EXPECT_EQ(scan_error(RdbBuilder().expire_ms(1).eof().bytes()), Errc::kBadFraming);
}

TEST(RecordScanner, PrefixOpcodesReachTheKey) {
  std::string bytes = RdbBuilder().expire_ms(1700000000123).byte(248).len(77).byte(249).byte(5).string_key("k", "v").eof().bytes();
  MemorySource src("m", bytes.data(), bytes.size());
  RecordScanner sc(src);
  sc.read_header();
  Record r;
  ASSERT_TRUE(sc.next(r));
  ASSERT_EQ(r.kind, RecordKind::kKey);
  EXPECT_EQ(r.offset, 9u);
  EXPECT_TRUE(r.prefix.has_expire);
  EXPECT_EQ(r.prefix.expire_ms, 1700000000123);
  EXPECT_TRUE(r.prefix.has_idle);
  EXPECT_EQ(r.prefix.idle, 77u);
  EXPECT_TRUE(r.prefix.has_freq);
  EXPECT_EQ(r.prefix.freq, 5);
  EXPECT_EQ(r.key, "k");
  MemorySink value;
  sc.copy_payload(value);
  value.finalize();
  EXPECT_EQ(std::string(value.data().begin(), value.data().end()), std::string("\x01v", 2));
  ASSERT_TRUE(sc.next(r));
  EXPECT_EQ(r.kind, RecordKind::kEof);
  EXPECT_FALSE(sc.next(r));
}

}  // namespace
}  // namespace rdbrekey

namespace rdbrekey {
namespace {

using test::RdbBuilder;

// Records of RDB 13/14 and Valkey 9 that no shared fixture holds, built from the layouts in
// ../shared/spec/rdb-format.md §4-5: each walks to its end, and a conversion copies it intact.
std::string stream_body(RdbBuilder& b, int version) {
  // One node, no entries beyond it, one group with one PEL entry and one consumer.
  std::string id16(16, '\0');
  id16[7] = 1;
  b.len(1).str(id16).str("listpack-bytes");      // nodes
  b.len(1).len(1).len(0);                         // length, last id
  if (version >= 2) b.len(1).len(0).len(0).len(0).len(1);  // first id, max deleted, entries added
  b.len(1);                                       // groups
  b.str("g").len(1).len(0);                       // name, last delivered
  if (version >= 2) b.len(1);                     // entries read
  b.len(1).raw(id16).raw(std::string(8, '\x01')).len(1);  // PEL
  b.len(1).str("c").raw(std::string(8, '\x02'));  // consumer, seen time
  if (version >= 3) b.raw(std::string(8, '\x03'));  // active time
  b.len(1).raw(id16);                             // consumer PEL
  if (version >= 5) b.len(1).raw(id16);           // NACKs
  if (version >= 4) {
    b.len(60).len(100).len(1);                    // IDMP duration, max entries, producers
    b.str("p").len(1).str("iid").len(1).len(0);   // producer with one entry
    b.len(1).len(0);                              // iids added, duplicates
  }
  return b.bytes();
}

void expect_walks(const std::string& bytes, uint64_t keys) {
  MemorySource src("built.rdb", bytes.data(), bytes.size());
  RecordScanner sc(src);
  sc.read_header();
  Record r;
  uint64_t n = 0;
  while (sc.next(r))
    if (r.kind == RecordKind::kKey) ++n;
  EXPECT_EQ(n, keys);
  EXPECT_TRUE(sc.summary().checksum_present);
}

TEST(RecordScannerNewFormats, StreamsOfEveryVersion) {
  const std::pair<int, uint8_t> streams[] = {{1, 15}, {2, 19}, {3, 21}, {4, 26}, {5, 27}};
  for (auto [version, type] : streams) {
    RdbBuilder b("REDIS0014");
    b.byte(type).str("s");
    stream_body(b, version);
    b.string_key("after", "x");
    expect_walks(b.eof().bytes(), 2);
  }
}

TEST(RecordScannerNewFormats, ArrayKeyMetaAndHashFieldTtls) {
  RdbBuilder b("REDIS0014");
  // ARRAY: 2 elements, insert index given; an SDS and an INT element.
  b.byte(28).str("arr").len(2).len(1).len(5).len(0).len(0).str("zero").len(9).len(1).raw(std::string(8, '\x07'));
  // KEY_META with one class (4-byte spec + module stream: UINT 5, EOF), then a string key.
  b.byte(243).len(1).raw("abcd").len(2).len(5).len(0).string_key("with-meta", "v");
  // Redis 7.4 HASH_METADATA (24) and HASH_LISTPACK_EX (25).
  b.byte(24).str("h").raw(std::string(8, '\0')).len(1).len(0).str("f").str("v");
  b.byte(25).str("h2").raw(std::string(8, '\0')).str("listpack-bytes");
  expect_walks(b.eof().bytes(), 4);
}

TEST(RecordScannerNewFormats, ValkeySlotImportAndHash2) {
  RdbBuilder b("VALKEY080");
  b.byte(243).str(std::string(40, 'j')).len(2).len(0).len(100).len(200).len(16383);  // SLOT_IMPORT
  b.byte(22).str("h").len(2).str("f1").str("v1").raw(std::string(8, '\xff')).str("f2").str("v2").raw(std::string(8, '\x10'));
  b.string_key("k", "v");
  std::string bytes = b.eof().bytes();
  expect_walks(bytes, 2);
  // Converting it keeps VALKEY080, drops the slot-import record, copies the hash intact.
  MemorySource src("v.rdb", bytes.data(), bytes.size());
  MemorySink sink;
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  ConvertResult res = convert(opt, {&src}, sink);
  EXPECT_EQ(res.output_version, (RdbVersion{RdbFamily::kValkey, 80}));
  EXPECT_EQ(res.slot_records_dropped, 1u);
  std::string out(sink.data().begin(), sink.data().end());
  std::string hash_value = RdbBuilder("").len(2).str("f1").str("v1").raw(std::string(8, '\xff')).str("f2").str("v2")
                               .raw(std::string(8, '\x10')).bytes();
  EXPECT_NE(out.find(std::string("\x16\x07" "condo:h", 9) + hash_value), std::string::npos);
}

TEST(RecordScannerNewFormats, KeyMetaNeedsARedis13Output) {
  std::string bytes = RdbBuilder("REDIS0013").byte(243).len(1).raw("abcd").len(0).string_key("k", "v").eof().bytes();
  ConvertOptions opt;
  opt.apps = {{0, "condo"}};
  {
    MemorySource src("m.rdb", bytes.data(), bytes.size());
    MemorySink sink;
    try {
      convert(opt, {&src}, sink);
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kCannotHold);
      EXPECT_NE(std::string(e.what()).find("KEY_META"), std::string::npos) << e.what();
    }
  }
  opt.target = RdbVersion{RdbFamily::kRedis, 13};
  MemorySource src("m.rdb", bytes.data(), bytes.size());
  MemorySink sink;
  convert(opt, {&src}, sink);
  std::string out(sink.data().begin(), sink.data().end());
  EXPECT_NE(out.find(std::string("\xf3\x01" "abcd\x00\x00\x07" "condo:k", 15)), std::string::npos);
}

}  // namespace
}  // namespace rdbrekey
