// rdbrekey --version: the version, the commit the binary was built from, the build type and the
// optional paths compiled in, each checked against the thing itself (git, /proc/cpuinfo, the
// libraries' own version functions).
#include <gtest/gtest.h>

#include <lz4.h>
#include <openssl/crypto.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support/process.h"

namespace rdbrekey {
namespace {

// "name  value" lines after the first: name -> value.
std::map<std::string, std::string> version_fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // "rdbrekey X.Y.Z"
  while (std::getline(lines, line)) {
    size_t gap = line.find("  ");
    if (gap == std::string::npos) continue;
    fields[line.substr(0, gap)] = line.substr(line.find_first_not_of(' ', gap));
  }
  return fields;
}

bool cpu_has(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("flags")) return (line + " ").find(" " + flag + " ") != std::string::npos;
  return false;
}

TEST(Version, SaysWhatWasBuiltAndFromWhichCommit) {
  test::RunResult r = test::run({test::rdbrekey_binary(), "--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("rdbrekey " RDBREKEY_PROJECT_VERSION "\n")) << r.out;  // help2man reads this line
  auto f = version_fields(r.out);

  test::RunResult git = test::run({"git", "-C", RDBREKEY_SOURCE_DIR, "rev-parse", "--short=12", "HEAD"});
  std::string head = git.out.substr(0, git.out.find('\n'));
  if (git.exit_code == 0 && !head.empty())
    EXPECT_TRUE(f["commit"].starts_with(head)) << f["commit"] << " vs HEAD " << head;
  else
    EXPECT_EQ(f["commit"], "unknown");
  EXPECT_EQ(f["build type"], RDBREKEY_BUILD_TYPE_TEXT);

#if defined(__x86_64__)
  bool used = cpu_has("pclmulqdq") && cpu_has("sse4_1");
  EXPECT_EQ(f["CRC-64"].starts_with("PCLMULQDQ compiled in, used on this CPU"), used) << f["CRC-64"];
  EXPECT_EQ(f["CRC-64"].starts_with("PCLMULQDQ compiled in, not used"), !used) << f["CRC-64"];
#endif
  EXPECT_EQ(f["gzip"], std::string("zlib ") + zlibVersion());
  EXPECT_EQ(f["lz4"], std::string("liblz4 ") + LZ4_versionString());
  EXPECT_EQ(f["zstd"], std::string("libzstd ") + ZSTD_versionString());
  EXPECT_TRUE(f["TLS"].starts_with(OpenSSL_version(OPENSSL_VERSION))) << f["TLS"];
}

}  // namespace
}  // namespace rdbrekey
