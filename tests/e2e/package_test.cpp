// The Debian package: `cpack -G DEB` of this build makes rdbrekey_<version>_<arch>.deb whose
// dependencies cover every shared library the binary needs, which holds the binary, the man pages,
// the completions and the docs, whose binary converts the sample dump once unpacked, and on which
// lintian reports no error.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/process.h"

namespace rdbrekey {
namespace {

namespace fs = std::filesystem;
using test::RunResult;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

struct DebianPackage : ::testing::Test {
  test::TempDir dir;
  std::string deb;

  void SetUp() override {
    RunResult arch = test::run({"dpkg", "--print-architecture"});
    if (arch.exit_code != 0) GTEST_SKIP() << "skipped: not a Debian system (no dpkg)";
    RunResult r = test::run({RDBREKEY_CPACK, "-G", "DEB", "--config", std::string(RDBREKEY_BUILD_DIR) + "/CPackConfig.cmake",
                             "-B", dir.file("out")},
                            300);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    deb = dir.file("out/rdbrekey_" RDBREKEY_PROJECT_VERSION "_" + first_line(arch.out) + ".deb");
    ASSERT_TRUE(fs::is_regular_file(deb)) << "no " << deb << " in:\n" << r.out;
  }
};

TEST_F(DebianPackage, ListsBinaryManPagesCompletionsAndDocs) {
  RunResult c = test::run({"dpkg-deb", "-c", deb});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<std::string> expected{"./usr/bin/rdbrekey",
                                    "./usr/share/bash-completion/completions/rdbrekey",
                                    "./usr/share/zsh/vendor-completions/_rdbrekey",
                                    "./usr/share/doc/rdbrekey/README.md",
                                    "./usr/share/doc/rdbrekey/report-schema.json",
                                    "./usr/share/doc/rdbrekey/copyright",
                                    "./usr/share/doc/rdbrekey/changelog.gz"};
  if (std::string(RDBREKEY_MAN_DIR).empty()) {
    ADD_FAILURE() << "this build has no man pages (install help2man: scripts/setup.sh does)";
  } else {
    for (const char* page : {"rdbrekey", "rdbrekey-convert", "rdbrekey-restore", "rdbrekey-inspect", "rdbrekey-verify"})
      expected.push_back(std::string("./usr/share/man/man1/") + page + ".1.gz");
  }
  for (const auto& path : expected) EXPECT_NE(c.out.find(" " + path + "\n"), std::string::npos) << path << " in\n" << c.out;
  EXPECT_EQ(c.out.find("/usr/local"), std::string::npos) << c.out;

  RunResult f = test::run({"dpkg-deb", "-f", deb, "Package", "Version", "Section", "Maintainer"});
  EXPECT_NE(f.out.find("Package: rdbrekey\n"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("Version: " RDBREKEY_PROJECT_VERSION "\n"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("Section: utils\n"), std::string::npos) << f.out;
}

TEST_F(DebianPackage, DependsOnThePackageOfEverySharedLibraryTheBinaryNeeds) {
  RunResult x = test::run({"dpkg-deb", "-x", deb, dir.file("root")});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  std::string depends = test::run({"dpkg-deb", "-f", deb, "Depends"}).out;
  RunResult needed = test::run({"objdump", "-p", dir.file("root/usr/bin/rdbrekey")});
  ASSERT_EQ(needed.exit_code, 0) << needed.err;
  std::istringstream lines(needed.out);
  int libraries = 0;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string tag, soname;
    words >> tag >> soname;
    if (tag != "NEEDED") continue;
    ++libraries;
    // The package that ships the library on this machine, as dpkg-shlibdeps finds it.
    // (/lib is /usr/lib on a merged-/usr system, and dpkg knows one of the two names.)
    RunResult owner = test::run(
        {"sh", "-c",
         "p=$(/sbin/ldconfig -p | awk -v l=" + soname + " '$1 == l && /x86-64|aarch64|64bit/ {print $NF; exit}'); "
         "{ dpkg -S \"$p\" || dpkg -S \"/usr$p\" || dpkg -S \"${p#/usr}\"; } 2>/dev/null | head -1 | cut -d: -f1"});
    std::string package = first_line(owner.out);
    ASSERT_FALSE(package.empty()) << soname << ": " << owner.err;
    EXPECT_TRUE(depends.find(package + " (") != std::string::npos || depends.find(package + ",") != std::string::npos)
        << soname << " comes from " << package << ", which Depends does not name: " << depends;
  }
  EXPECT_GE(libraries, 5);
}

TEST_F(DebianPackage, TheUnpackedBinaryConvertsTheSample) {
  RunResult x = test::run({"dpkg-deb", "-x", deb, dir.file("root")});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  std::string bin = dir.file("root/usr/bin/rdbrekey");
  RunResult v = test::run({bin, "--version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(first_line(v.out), "rdbrekey " RDBREKEY_PROJECT_VERSION);
  std::string out = dir.file("sample-converted.rdb");
  RunResult r = test::run({bin, "convert", test::project_fixture("sample.rdb"), "-o", out, "-a", "0=@app/condo", "-a",
                           "1=@app/address-service", "-a", "2=@app/resident-app", "-a", "3=@app/eps", "--verify"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("read back and verified"), std::string::npos) << r.out;
  // The build's own binary reads the packaged binary's output as sound, with every key there.
  RunResult check = test::run({test::rdbrekey_binary(), "verify", out});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  size_t end = r.out.find(" keys (db 0)");  // "output  PATH  REDIS0011  1,234 keys (db 0), ..."
  ASSERT_NE(end, std::string::npos) << r.out;
  std::string keys = r.out.substr(r.out.rfind(' ', end - 1) + 1, end - r.out.rfind(' ', end - 1) - 1);
  EXPECT_NE(check.out.find(keys + " keys"), std::string::npos) << r.out << "\n" << check.out;
  // Its man page is one man reads.
  RunResult man = test::run({"sh", "-c", "MANWIDTH=100 man -l " + dir.file("root/usr/share/man/man1/rdbrekey-convert.1.gz")});
  EXPECT_EQ(man.exit_code, 0) << man.err;
  EXPECT_NE(man.out.find("--monorepo"), std::string::npos) << man.out;
}

TEST_F(DebianPackage, LintianReportsNoError) {
  if (test::run({"sh", "-c", "command -v lintian"}).exit_code != 0)
    GTEST_SKIP() << "skipped: install lintian (scripts/setup.sh does)";
  RunResult l = test::run({"lintian", "--fail-on", "error", deb}, 300);
  EXPECT_EQ(l.exit_code, 0) << l.out << l.err;
  EXPECT_EQ(l.out.find("\nE: "), std::string::npos) << l.out;
  EXPECT_FALSE(l.out.starts_with("E: ")) << l.out;
}

}  // namespace
}  // namespace rdbrekey
