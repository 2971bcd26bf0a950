#include "rdbrekey/rdb_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "rdbrekey/compression.h"
#include "rdbrekey/crc64.h"
#include "rdbrekey/error.h"
#include "rdbrekey/record_scanner.h"

namespace rdbrekey {
namespace {

std::string bytes_of(MemorySink& sink) {
  sink.finalize();
  return std::string(sink.data().begin(), sink.data().end());
}

TEST(EncodeLength, ShortestForm) {
  uint8_t b[9];
  EXPECT_EQ(encode_length(b, 0), 1u);
  EXPECT_EQ(encode_length(b, 63), 1u);
  EXPECT_EQ(encode_length(b, 64), 2u);
  EXPECT_EQ(b[0], 0x40);
  EXPECT_EQ(b[1], 64);
  EXPECT_EQ(encode_length(b, 16383), 2u);
  EXPECT_EQ(encode_length(b, 16384), 5u);
  EXPECT_EQ(b[0], 0x80);
  EXPECT_EQ(encode_length(b, 0xffffffffull), 5u);
  EXPECT_EQ(encode_length(b, 0x100000000ull), 9u);
  EXPECT_EQ(b[0], 0x81);
  EXPECT_EQ(b[4], 1);
}

TEST(RdbWriter, WritesAFileTheScannerReadsBack) {
  MemorySink sink;
  RdbWriter w(sink, RdbVersion{RdbFamily::kRedis, 11});
  w.write_header();
  w.write_aux("redis-ver", "7.2.4");
  w.select_db(0);
  w.select_db(0);  // no second SELECTDB
  KeyPrefix p;
  p.has_expire = true;
  int64_t ms = 1893456000000;
  std::memcpy(p.expire_raw, &ms, 8);
  w.write_key_header(p, 0, RenamedKey::of("condo:k"));
  sink.write("\x01v", 2);  // the value, as the scanner would copy it
  w.write_string_key("condo:data_version", "2");
  w.finish();
  std::string out = bytes_of(sink);
  EXPECT_EQ(out.substr(0, 9), "REDIS0011");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\xfe'), 1);
  uint64_t crc = crc64(0, out.data(), out.size() - 8);
  uint64_t stored;
  std::memcpy(&stored, out.data() + out.size() - 8, 8);
  EXPECT_EQ(stored, crc);

  MemorySource src("out", out.data(), out.size());
  RecordScanner sc(src);
  EXPECT_EQ(sc.read_header(), (RdbVersion{RdbFamily::kRedis, 11}));
  Record r;
  ASSERT_TRUE(sc.next(r));
  EXPECT_EQ(r.kind, RecordKind::kAux);
  ASSERT_TRUE(sc.next(r));
  EXPECT_EQ(r.kind, RecordKind::kSelectDb);
  // The RESIZEDB hint, patched at the end with the real counts (and the CRC corrected).
  ASSERT_TRUE(sc.next(r));
  EXPECT_EQ(r.kind, RecordKind::kResizeDb);
  EXPECT_EQ(r.db_size, 2u);
  EXPECT_EQ(r.expires_size, 1u);
  ASSERT_TRUE(sc.next(r));
  EXPECT_EQ(r.kind, RecordKind::kKey);
  EXPECT_EQ(r.key, "condo:k");
  EXPECT_EQ(r.prefix.expire_ms, ms);
  ASSERT_TRUE(sc.next(r));
  EXPECT_EQ(r.key, "condo:data_version");
  std::string v;
  EXPECT_TRUE(sc.read_small_string_payload(v, 64));
  EXPECT_EQ(v, "2");
  ASSERT_TRUE(sc.next(r));
  EXPECT_EQ(r.kind, RecordKind::kEof);
  EXPECT_TRUE(sc.summary().checksum_present);
}

// A sink that cannot be patched (compressed): RESIZEDB only with counts known beforehand, which
// must then be what is written.
TEST(RdbWriter, CountsKnownBeforehandForASinkThatCannotBePatched) {
  for (bool counted : {false, true}) {
    for (uint64_t claimed : {uint64_t{1}, uint64_t{2}}) {
      auto mem = std::make_unique<MemorySink>();
      MemorySink* bytes = mem.get();
      CompressingSink sink(std::move(mem), {Codec::kLz4, 0});
      RdbWriter w(sink, RdbVersion{RdbFamily::kRedis, 11});
      if (counted) w.expect_counts(claimed, 0);
      w.write_header();
      w.select_db(0);
      w.write_string_key("a", "1");
      w.write_string_key("b", "2");
      if (counted && claimed != 2) {
        EXPECT_THROW(w.finish(), Error);
        continue;
      }
      w.finish();
      sink.finalize();
      std::string packed(bytes->data().begin(), bytes->data().end());
      DecompressingSource src(std::make_unique<MemorySource>("packed", packed.data(), packed.size()), Codec::kLz4);
      RecordScanner sc(src);
      sc.read_header();
      Record r;
      ASSERT_TRUE(sc.next(r));
      EXPECT_EQ(r.kind, RecordKind::kSelectDb);
      ASSERT_TRUE(sc.next(r));
      EXPECT_EQ(r.kind, counted ? RecordKind::kResizeDb : RecordKind::kKey);
      if (counted) EXPECT_EQ(r.db_size, 2u);
      while (sc.next(r)) {
      }
      EXPECT_TRUE(sc.summary().checksum_present);
    }
  }
}

TEST(RdbWriter, OldVersionsHaveNoTrailer) {
  MemorySink sink;
  RdbWriter w(sink, RdbVersion{RdbFamily::kRedis, 4});
  w.write_header();
  w.write_key_header(KeyPrefix{}, 0, RenamedKey::of("k"));
  sink.write("\x01v", 2);
  w.finish();
  EXPECT_EQ(bytes_of(sink), std::string("REDIS0004\x00\x01k\x01v\xff", 15));
}

// The writer writes the hints it is given: whether a version holds them is decided by the
// converter from rdb_version's table (Outputs.WhatTheOutputVersionCannotHold).
TEST(RdbWriter, HintsAreWrittenAsGiven) {
  MemorySink sink;
  RdbWriter w(sink, RdbVersion{RdbFamily::kRedis, 9});
  KeyPrefix p;
  p.has_idle = true;
  p.idle = 5;
  p.has_freq = true;
  p.freq = 7;
  w.write_key_header(p, 0, RenamedKey::of("k"));
  EXPECT_EQ(bytes_of(sink), std::string("\xf8\x05\xf9\x07\x00\x01k", 7));
}

TEST(RdbWriter, ValkeyMagic) {
  MemorySink sink;
  RdbWriter w(sink, RdbVersion{RdbFamily::kValkey, 80});
  w.write_header();
  w.finish();
  std::string out = bytes_of(sink);
  EXPECT_EQ(out.substr(0, 9), "VALKEY080");
  EXPECT_EQ(out.size(), 18u);
}

}  // namespace
}  // namespace rdbrekey
