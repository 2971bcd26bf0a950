#include "rdbrekey/verifier.h"

#include <gtest/gtest.h>

#include "rdbrekey/error.h"
#include "support/rdb_builder.h"
#include "support/stream_source.h"

namespace rdbrekey {
namespace {

using test::RdbBuilder;

TEST(Verifier, CountsAndChecks) {
  std::string f = RdbBuilder("REDIS0010").select_db(0).string_key("a", "1").expire_ms(4102444800000)
                      .string_key("b", "2").select_db(3).string_key("a", "3").eof().bytes();
  MemorySource src("f.rdb", f.data(), f.size());
  VerifyResult v = verify(src);
  EXPECT_EQ(v.keys, 3u);
  EXPECT_EQ(v.with_ttl, 1u);
  EXPECT_EQ(v.keys_per_db.at(3), 1u);
  EXPECT_TRUE(v.duplicates_checked);  // "a" in db 0 and db 3 is no duplicate
}

// A duplicate key makes a file a server refuses: verify says so, for files and pipes.
TEST(Verifier, FindsDuplicateKeys) {
  std::string f = RdbBuilder("REDIS0010").string_key("a", "1").string_key("b", "2").string_key("a", "3")
                      .eof().bytes();
  for (bool pipe : {false, true}) {
    MemorySource file("f.rdb", f.data(), f.size());
    test::StreamSource stream("<stdin>", f, 5);
    ByteSource& src = pipe ? static_cast<ByteSource&>(stream) : file;
    try {
      verify(src);
      ADD_FAILURE() << "duplicate not found";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kDuplicateKey);
      EXPECT_NE(std::string(e.what()).find("1 duplicate key"), std::string::npos) << e.what();
      if (!pipe) EXPECT_NE(std::string(e.what()).find("\"a\" in db 0: 2 times"), std::string::npos) << e.what();
    }
  }
  MemorySource again("f.rdb", f.data(), f.size());
  EXPECT_EQ(verify(again, VerifyOptions{false}).keys, 3u);
}

}  // namespace
}  // namespace rdbrekey
