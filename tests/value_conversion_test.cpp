// Each conversion of value_conversion.h on values built with the encoding core: the converted
// payload is compared byte for byte with the same logical value written directly in the target
// form (by this test, with the same primitives), and the refusals name the key and the option.
#include "rdbrekey/value_conversion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "rdbrekey/converter.h"
#include "rdbrekey/error.h"
#include "rdbrekey/format.h"
#include "rdbrekey/rdb_encoding.h"
#include "rdbrekey/record_scanner.h"
#include "support/rdb_builder.h"
#include "support/rdb_image.h"

namespace rdbrekey {
namespace {

using test::KeyImage;

const RdbVersion kV9{RdbFamily::kRedis, 9}, kV10{RdbFamily::kRedis, 10}, kV11{RdbFamily::kRedis, 11},
    kV12{RdbFamily::kRedis, 12}, kV13{RdbFamily::kRedis, 13}, kV14{RdbFamily::kRedis, 14},
    kValkey{RdbFamily::kValkey, 80};

std::string listpack(const std::vector<std::string>& items) {
  ListpackBuilder lp;
  for (const auto& s : items) lp.add(s);
  return std::string(lp.finish());
}

std::string blob(const std::string& bytes) {
  std::string out;
  append_plain_string(out, bytes);
  return out;
}

std::string le64(int64_t v) {
  std::string out;
  append_le64(out, static_cast<uint64_t>(v));
  return out;
}

struct Converted {
  KeyImage value;
  ConvertResult result;
};

// One key "k" of `type` with `payload` in a file of version `in`, converted into version `out`
// (prefix "app", no guard); throws what the converter throws.
Converted convert_one(RdbVersion in, uint8_t type, const std::string& payload, RdbVersion out,
                      void (*tweak)(ConvertOptions&) = nullptr) {
  std::string file = test::RdbBuilder(in.magic()).byte(type).str("k").raw(payload).eof().bytes();
  MemorySource src("in.rdb", file.data(), file.size());
  ConvertOptions opt;
  opt.apps = {{0, "app"}};
  opt.data_version = 0;
  opt.target = out;
  if (tweak) tweak(opt);
  MemorySink sink;
  Converted c;
  c.result = convert(opt, {&src}, sink);
  test::FileImage img = test::image_of_bytes(std::string(sink.data().begin(), sink.data().end()));
  EXPECT_EQ(img.version, out);
  c.value = img.dbs.at(0).at("app:k");
  return c;
}

// A whole file converted in memory: the output's bytes.
std::string convert_file(const ConvertOptions& opt, const std::string& file, ConvertResult* result = nullptr) {
  MemorySource src("in.rdb", file.data(), file.size());
  MemorySink sink;
  ConvertResult r = convert(opt, {&src}, sink);
  if (result) *result = std::move(r);
  return std::string(sink.data().begin(), sink.data().end());
}

// `run` must throw kCannotHold whose message names `option` (what would let it through).
template <class Run>
void expect_cannot_hold(Run&& run, const std::string& option) {
  try {
    run();
    ADD_FAILURE() << "converted without " << option;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCannotHold);
    EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
  }
}

std::string plain_items(const std::vector<std::string>& items, uint64_t count) {
  std::string out;
  append_length(out, count);
  for (const auto& s : items) append_string(out, s);
  return out;
}

TEST(Listpack, EntriesRoundTripEveryEncoding) {
  std::vector<std::string> items{"", "a", std::string(63, 'x'), std::string(64, 'y'), std::string(4095, 'z'),
                                 std::string(4096, 'w'), std::string(70000, 'v'), "0", "127", "128", "-1",
                                 "-4096", "4095", "4096", "32767", "-32768", "8388607", "-8388608",
                                 "2147483647", "-2147483648", "9223372036854775807", "-9223372036854775808",
                                 "007", "1.5", "-0"};
  std::vector<std::string> got;
  listpack_entries(listpack(items), got, "test");
  EXPECT_EQ(got, items);
  ListpackBuilder lp;
  lp.add_string("12");  // a string entry that reads as the same text
  lp.add_int(-5);
  listpack_entries(std::string(lp.finish()), got, "test");
  EXPECT_EQ(got, (std::vector<std::string>{"12", "-5"}));
}

TEST(Listpack, MalformedBlobsAreFramingErrors) {
  std::string good = listpack({"a", "bb", "12345"});
  std::vector<std::string> got;
  std::vector<std::string> bad{good.substr(0, good.size() - 1), good.substr(0, 5), good + "x"};
  std::string wrong_size = good;
  wrong_size[0] = static_cast<char>(wrong_size[0] + 1);
  bad.push_back(wrong_size);
  std::string wrong_count = good;
  wrong_count[4] = 7;
  bad.push_back(wrong_count);
  std::string bad_encoding = good;
  bad_encoding[6] = static_cast<char>(0xF7);
  bad.push_back(bad_encoding);
  for (const auto& b : bad) {
    try {
      listpack_entries(b, got, "test");
      ADD_FAILURE() << "accepted a malformed listpack of " << b.size() << " bytes";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kBadFraming);
      EXPECT_NE(std::string(e.what()).find("test: malformed listpack"), std::string::npos) << e.what();
    }
  }
}

// RDB 10/11 compact encodings into RDB 9/10: the plain forms, every element kept.
TEST(ValueConversion, ListpacksBecomePlainForms) {
  std::vector<std::string> hash{"f1", "v1", "count", "12", "empty", ""};
  Converted h = convert_one(kV10, rdb::kTypeHashListpack, blob(listpack(hash)), kV9);
  EXPECT_EQ(h.value.type, rdb::kTypeHash);
  EXPECT_EQ(h.value.value, plain_items(hash, 3));
  EXPECT_EQ(h.result.conversions.at("hash-listpack -> hash"), 1u);

  std::vector<std::string> set{"a", "17", "-3", "zz"};
  Converted s = convert_one(kV11, rdb::kTypeSetListpack, blob(listpack(set)), kV10);
  EXPECT_EQ(s.value.type, rdb::kTypeSet);
  EXPECT_EQ(s.value.value, plain_items(set, 4));

  // Scores as zzlGetScore reads them: integers, and text through strtod (inf included).
  Converted z = convert_one(kV10, rdb::kTypeZsetListpack, blob(listpack({"m1", "1.5", "m2", "3", "m3", "-inf",
                                                                          "m4", "inf", "m5", "0.1"})),
                            kV9);
  EXPECT_EQ(z.value.type, rdb::kTypeZset2);
  std::string want;
  append_length(want, 5);
  for (auto [m, d] : std::vector<std::pair<std::string, double>>{
           {"m1", 1.5}, {"m2", 3}, {"m3", -HUGE_VAL}, {"m4", HUGE_VAL}, {"m5", 0.1}}) {
    append_string(want, m);
    append_binary_double(want, d);
  }
  EXPECT_EQ(z.value.value, want);

  // A quicklist with a packed node and a plain node (a large element): one list in order.
  std::string ql;
  append_length(ql, 2);
  append_length(ql, 2);
  append_plain_string(ql, listpack({"a", "b", "5"}));
  append_length(ql, 1);
  append_plain_string(ql, std::string(10000, 'p'));
  Converted l = convert_one(kV10, rdb::kTypeListQuicklist2, ql, kV9);
  EXPECT_EQ(l.value.type, rdb::kTypeList);
  EXPECT_EQ(l.value.value, plain_items({"a", "b", "5", std::string(10000, 'p')}, 4));

  // Nothing to convert: copied as is, no conversion counted.
  Converted same = convert_one(kV10, rdb::kTypeHashListpack, blob(listpack(hash)), kV10);
  EXPECT_EQ(same.value.type, rdb::kTypeHashListpack);
  EXPECT_EQ(same.value.value, blob(listpack(hash)));
  EXPECT_TRUE(same.result.conversions.empty());
}

// Field TTL hashes: Redis 7.4 forms into Valkey 9's HASH_2 and back, losslessly.
struct TtlField {
  std::string name, value;
  int64_t expire_ms;  // -1: none
};
const std::vector<TtlField> kFields{{"a", "1", 1800000000000}, {"b", "two", -1}, {"c", "3", 1800000005000}};

std::string redis_hash_metadata(const std::vector<TtlField>& fields) {  // type 24
  int64_t min = std::numeric_limits<int64_t>::max();
  for (const auto& f : fields)
    if (f.expire_ms >= 0) min = std::min(min, f.expire_ms);
  std::string out = le64(min);
  append_length(out, fields.size());
  for (const auto& f : fields) {
    append_length(out, f.expire_ms < 0 ? 0 : static_cast<uint64_t>(f.expire_ms - min + 1));
    append_string(out, f.name);
    append_string(out, f.value);
  }
  return out;
}

std::string redis_hash_listpack_ex(const std::vector<TtlField>& fields) {  // type 25
  std::vector<std::string> items;
  for (const auto& f : fields) {
    items.push_back(f.name);
    items.push_back(f.value);
    items.push_back(std::to_string(f.expire_ms < 0 ? 0 : f.expire_ms));
  }
  return le64(0) + blob(listpack(items));
}

std::string valkey_hash2(const std::vector<TtlField>& fields) {
  std::string out;
  append_length(out, fields.size());
  for (const auto& f : fields) {
    append_string(out, f.name);
    append_string(out, f.value);
    out += le64(f.expire_ms);
  }
  return out;
}

TEST(ValueConversion, FieldTtlHashesBetweenRedisAndValkey) {
  for (uint8_t type : {rdb::kTypeHashMetadata, rdb::kTypeHashListpackEx}) {
    std::string payload = type == rdb::kTypeHashMetadata ? redis_hash_metadata(kFields) : redis_hash_listpack_ex(kFields);
    Converted v = convert_one(kV12, type, payload, kValkey);
    EXPECT_EQ(v.value.type, rdb::kTypeValkeyHash2);
    EXPECT_EQ(v.value.value, valkey_hash2(kFields)) << int(type);
  }
  // And back: HASH_2 into Redis 7.4's hash-metadata, exactly as Redis writes it.
  Converted r = convert_one(kValkey, rdb::kTypeValkeyHash2, valkey_hash2(kFields), kV12);
  EXPECT_EQ(r.value.type, rdb::kTypeHashMetadata);
  EXPECT_EQ(r.value.value, redis_hash_metadata(kFields));
  // Without any field TTL: the plain hash Redis writes for it.
  std::vector<TtlField> none{{"x", "1", -1}, {"y", "2", -1}};
  Converted p = convert_one(kValkey, rdb::kTypeValkeyHash2, valkey_hash2(none), kV12);
  EXPECT_EQ(p.value.type, rdb::kTypeHash);
  EXPECT_EQ(p.value.value, plain_items({"x", "1", "y", "2"}, 2));
}

TEST(ValueConversion, FieldTtlsAreDroppedOnlyWhenAsked) {
  for (auto [in, type, payload] : std::vector<std::tuple<RdbVersion, uint8_t, std::string>>{
           {kV12, rdb::kTypeHashMetadata, redis_hash_metadata(kFields)},
           {kV12, rdb::kTypeHashListpackEx, redis_hash_listpack_ex(kFields)},
           {kValkey, rdb::kTypeValkeyHash2, valkey_hash2(kFields)}}) {
    SCOPED_TRACE(in.magic() + " type " + std::to_string(type));
    expect_cannot_hold([&] { convert_one(in, type, payload, kV11); }, "--drop-field-ttls");
    expect_cannot_hold([&] { convert_one(in, type, payload, kV11); }, "key \"k\"");
    Converted d = convert_one(in, type, payload, kV11, [](ConvertOptions& o) { o.drop_field_ttls = true; });
    EXPECT_EQ(d.value.type, rdb::kTypeHash);
    EXPECT_EQ(d.value.value, plain_items({"a", "1", "b", "two", "c", "3"}, 3));
    EXPECT_EQ(d.result.field_ttls_dropped, 2u);
    EXPECT_EQ(d.result.keys_with_field_ttls_dropped, 1u);
  }
}

// A stream written in any version by this test's own writer (value_walker.cpp's layout).
std::string stream(int version, bool nacks, bool idmp) {
  std::string out;
  append_length(out, 1);  // one node
  std::string id;
  append_stream_id(id, 1700000000000, 0);
  append_plain_string(out, id);
  append_plain_string(out, listpack({"3", "0", "2", "f", "v", "0"}));  // a stand-in: copied as is
  append_length(out, 3);                                               // length
  append_length(out, 1700000000000), append_length(out, 2);            // last id
  if (version >= 2) {
    append_length(out, 1700000000000), append_length(out, 0);  // first id
    append_length(out, 0), append_length(out, 0);              // max deleted id
    append_length(out, 3);                                     // entries added
  }
  append_length(out, 1);  // one group
  append_string(out, "workers");
  append_length(out, 1700000000000), append_length(out, 1);
  if (version >= 2) append_length(out, 2);  // entries read
  append_length(out, 1);                    // PEL
  std::string pel_id;
  append_stream_id(pel_id, 1700000000000, 1);
  out += pel_id + le64(1700000001000);
  append_length(out, 4);  // delivery count
  append_length(out, 1);  // one consumer
  append_string(out, "alice");
  out += le64(1700000002000);                      // seen time
  if (version >= 3) out += le64(1700000003000);  // active time
  append_length(out, 1);
  out += pel_id;
  if (version >= 5) {
    append_length(out, nacks ? 1 : 0);
    if (nacks) out += pel_id;
  }
  if (version >= 4) {
    append_length(out, 60), append_length(out, 100);  // IDMP duration, max entries
    append_length(out, idmp ? 1 : 0);
    if (idmp) {
      append_string(out, "producer-1");
      append_length(out, 1);
      append_string(out, "iid-1");
      append_length(out, 1700000000000), append_length(out, 0);
    }
    append_length(out, idmp ? 1 : 0), append_length(out, 0);  // iids added, duplicates
  }
  return out;
}

TEST(ValueConversion, StreamsStepDownToWhatTheOutputHolds) {
  constexpr uint8_t kType[] = {0, rdb::kTypeStreamListpacks, rdb::kTypeStreamListpacks2, rdb::kTypeStreamListpacks3,
                               rdb::kTypeStreamListpacks4, rdb::kTypeStreamListpacks5};
  struct Case {
    RdbVersion in;
    int from;
    RdbVersion out;
    int to;
  };
  for (Case c : {Case{kV11, 3, kV10, 2}, Case{kV11, 3, kV9, 1}, Case{kV10, 2, kV9, 1}, Case{kV13, 4, kV12, 3},
                 Case{kV14, 5, kV13, 4}, Case{kV14, 5, kV9, 1}, Case{kV13, 4, kValkey, 3}}) {
    SCOPED_TRACE(c.in.magic() + " -> " + c.out.magic());
    Converted s = convert_one(c.in, kType[c.from], stream(c.from, false, false), c.out);
    EXPECT_EQ(s.value.type, kType[c.to]);
    EXPECT_EQ(s.value.value, stream(c.to, false, false));
    EXPECT_EQ(s.result.streams_state_dropped, 0u);
  }
  // State the older form has no place for: refused, or left out with --lossy.
  for (auto [nacks, idmp] : {std::pair{true, false}, std::pair{false, true}}) {
    std::string payload = stream(5, nacks, idmp);
    expect_cannot_hold([&] { convert_one(kV14, rdb::kTypeStreamListpacks5, payload, kV12); }, "--lossy");
    Converted s = convert_one(kV14, rdb::kTypeStreamListpacks5, payload, kV12, [](ConvertOptions& o) { o.lossy = true; });
    EXPECT_EQ(s.value.type, rdb::kTypeStreamListpacks3);
    EXPECT_EQ(s.value.value, stream(3, false, false));
    EXPECT_EQ(s.result.streams_state_dropped, 1u);
  }
}

TEST(ValueConversion, FunctionsIntoRdb9OnlyWhenDropped) {
  std::string file = test::RdbBuilder("REDIS0010")
                         .byte(rdb::kOpFunction2)
                         .str("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
                         .string_key("k", "v")
                         .eof()
                         .bytes();
  ConvertOptions opt;
  opt.apps = {{0, "app"}};
  opt.target = kV9;
  expect_cannot_hold([&] { convert_file(opt, file); }, "--drop-functions");
  opt.drop_functions = true;
  ConvertResult r;
  test::FileImage img = test::image_of_bytes(convert_file(opt, file, &r));
  EXPECT_EQ(r.functions_dropped, 1u);
  EXPECT_EQ(img.functions, 0);
  EXPECT_TRUE(img.dbs.at(0).count("app:k"));
}

// Key metadata (Redis 8.6 KEY_META) into a version without it: refused, or left out with --lossy
// (the key and its value kept, the metadata counted).
TEST(ValueConversion, KeyMetadataOnlyLeftOutWhenAsked) {
  std::string meta;
  append_length(meta, 1);        // one class
  meta += std::string("\x01\x02\x03\x04", 4);  // its 4-byte class spec
  append_length(meta, 0);        // an empty module value stream (opcode EOF)
  std::string file = test::RdbBuilder("REDIS0013")
                         .byte(rdb::kOpKeyMeta)
                         .raw(meta)
                         .string_key("k", "v")
                         .eof()
                         .bytes();
  ConvertOptions opt;
  opt.apps = {{0, "app"}};
  opt.data_version = 0;
  opt.target = kV12;
  expect_cannot_hold([&] { convert_file(opt, file); }, "--lossy");
  opt.lossy = true;
  ConvertResult r;
  std::string out = convert_file(opt, file, &r);
  EXPECT_EQ(r.key_meta_dropped, 1u);
  MemorySource written("out.rdb", out.data(), out.size());
  RecordScanner sc(written);
  sc.read_header();
  Record rec;
  while (sc.next(rec))
    if (rec.kind == RecordKind::kKey) EXPECT_TRUE(rec.prefix.key_meta.empty()) << rec.key;
  test::FileImage img = test::image_of_bytes(out);
  EXPECT_EQ(img.dbs.at(0).at("app:k").value, std::string("\x01v", 2));
  // Into REDIS0013 it stays, byte for byte.
  opt.target = kV13;
  ConvertResult k;
  std::string kept_bytes = convert_file(opt, file, &k);
  EXPECT_EQ(k.key_meta_dropped, 0u);
  EXPECT_NE(kept_bytes.find(std::string(1, static_cast<char>(rdb::kOpKeyMeta)) + meta), std::string::npos);
}

// The decision table: conversions only where the output cannot hold the type.
TEST(ValueConversion, DecidedFromTheCapabilityTable) {
  EXPECT_EQ(conversion_for(rdb::kTypeString, kV11, kV9, false), ValueConversion::kNone);
  EXPECT_EQ(conversion_for(rdb::kTypeHashListpack, kV10, kV10, false), ValueConversion::kNone);
  EXPECT_EQ(conversion_for(rdb::kTypeSetListpack, kV11, kValkey, false), ValueConversion::kNone);
  EXPECT_EQ(conversion_for(rdb::kTypeSetListpack, kV11, kV10, false), ValueConversion::kListpackToPlain);
  EXPECT_EQ(conversion_for(rdb::kTypeZsetListpack, kV10, RdbVersion{RdbFamily::kRedis, 7}, false),
            ValueConversion::kImpossible);  // ZSET_2 needs RDB 8
  EXPECT_EQ(conversion_for(rdb::kTypeHashMetadata, kV12, kValkey, false), ValueConversion::kToValkeyHash2);
  EXPECT_EQ(conversion_for(rdb::kTypeHashMetadata, kV12, kV11, false), ValueConversion::kImpossible);
  EXPECT_EQ(conversion_for(rdb::kTypeHashMetadata, kV12, kV11, true), ValueConversion::kDropFieldTtls);
  EXPECT_EQ(conversion_for(rdb::kTypeValkeyHash2, kValkey, kV12, false), ValueConversion::kToHashMetadata);
  EXPECT_EQ(conversion_for(rdb::kTypeValkeyHash2, kValkey, kV11, true), ValueConversion::kDropFieldTtls);
  EXPECT_EQ(conversion_for(rdb::kTypeStreamListpacks5, kV14, kValkey, false), ValueConversion::kStreamDown);
  EXPECT_EQ(conversion_for(rdb::kTypeArray, kV14, kV13, true), ValueConversion::kImpossible);
  EXPECT_EQ(conversion_for(rdb::kTypeStreamListpacks2, kV10, RdbVersion{RdbFamily::kRedis, 8}, false),
            ValueConversion::kImpossible);  // no stream before RDB 9
}

}  // namespace
}  // namespace rdbrekey
