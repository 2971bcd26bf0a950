// The man pages and the bash and zsh completion files cannot drift from the program: every option
// that `rdbrekey [SUBCOMMAND] --help` prints appears in that command's man page and completion,
// and the completions offer no option the program does not have.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"

namespace rdbrekey {
namespace {

const std::vector<std::string> kCommands{"", "convert", "restore", "inspect", "verify"};

std::string completions(const std::string& file) {
  return test::read_file(std::string(RDBREKEY_SOURCE_DIR) + "/packaging/completions/" + file);
}

// The options of the "Options:" section of `rdbrekey [command] --help`: "-o" and "--output" of
// "  -o,--output TEXT   Output RDB file".
std::set<std::string> help_options(const std::string& command) {
  std::vector<std::string> argv{test::rdbrekey_binary()};
  if (!command.empty()) argv.push_back(command);
  argv.push_back("--help");
  test::RunResult r = test::run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> options;
  std::istringstream lines(r.out);
  std::string line;
  bool in_options = false;
  static const std::regex option_line(R"(^  (-[A-Za-z],)?(--[A-Za-z][\w-]*))");
  while (std::getline(lines, line)) {
    if (line == "Options:" || line == "OPTIONS:") {
      in_options = true;
      continue;
    }
    if (in_options && line.empty()) break;
    std::smatch m;
    if (in_options && std::regex_search(line, m, option_line)) {
      if (m[1].matched) options.insert(m[1].str().substr(0, 2));
      options.insert(m[2].str());
    }
  }
  EXPECT_GT(options.size(), 1u) << "no options found in the help of \"" << command << "\":\n" << r.out;
  return options;
}

// The option tokens (-x, --long-name) of a text.
std::set<std::string> option_tokens(const std::string& text) {
  std::set<std::string> tokens;
  static const std::regex token(R"((^|[^\w-])(--?[A-Za-z][\w-]*))");
  for (std::sregex_iterator it(text.begin(), text.end(), token), end; it != end; ++it) tokens.insert((*it)[2].str());
  return tokens;
}

// A man page as text: font changes and italic corrections removed, "\-" as "-".
std::string man_text(const std::string& page) {
  std::string t = test::read_file(page);
  t = std::regex_replace(t, std::regex(R"(\\f[BIRP])"), "");
  t = std::regex_replace(t, std::regex(R"(\\[,/])"), "");
  t = std::regex_replace(t, std::regex(R"(\\-)"), "-");
  return t;
}

TEST(ManPages, EveryOptionOfTheHelpIsInItsPage) {
  std::string dir = RDBREKEY_MAN_DIR;
  if (dir.empty()) GTEST_SKIP() << "skipped: no man pages in this build (install help2man: scripts/setup.sh does)";
  for (const std::string& command : kCommands) {
    std::string page = dir + (command.empty() ? "/rdbrekey.1" : "/rdbrekey-" + command + ".1");
    std::set<std::string> in_page = option_tokens(man_text(page));
    for (const std::string& option : help_options(command))
      EXPECT_TRUE(in_page.count(option)) << option << " of \"rdbrekey " << command << " --help\" is not in " << page;
  }
  // Each page is gzipped for installation, as Debian wants it.
  for (const std::string& command : kCommands) {
    std::string page = dir + (command.empty() ? "/rdbrekey.1" : "/rdbrekey-" + command + ".1");
    test::RunResult z = test::run({"gzip", "-dc", page + ".gz"});
    EXPECT_EQ(z.exit_code, 0) << page << ".gz: " << z.err;
    EXPECT_EQ(z.out, test::read_file(page));
  }
}

// The "opts=" line of a command in the bash completion.
std::set<std::string> bash_options(const std::string& command) {
  std::string text = completions("rdbrekey.bash");
  std::smatch m;
  std::string label = command.empty() ? "''" : command;
  if (!std::regex_search(text, m, std::regex("\n +" + label + R"(\) opts="([^"]*)\")")))
    ADD_FAILURE() << "no opts= line for \"" << command << "\" in rdbrekey.bash";
  return option_tokens(m[1].str());
}

// The body of _rdbrekey_<command> (or of _rdbrekey) in the zsh completion.
std::set<std::string> zsh_options(const std::string& command) {
  std::string text = completions("_rdbrekey");
  std::string name = command.empty() ? "_rdbrekey" : "_rdbrekey_" + command;
  size_t start = text.find("\n" + name + "() {");
  EXPECT_NE(start, std::string::npos) << name << " is not in _rdbrekey";
  if (start == std::string::npos) return {};
  size_t end = text.find("\n}", start);
  std::string body = text.substr(start, end - start);
  if (command.empty()) body = body.substr(0, body.find("case $state"));  // the options, not the dispatch
  body = std::regex_replace(body, std::regex(R"(_arguments( -[A-Za-z])*)"), "");  // _arguments' own flags
  return option_tokens(body);
}

TEST(Completions, OfferExactlyTheOptionsOfTheHelp) {
  for (const std::string& command : kCommands) {
    std::set<std::string> help = help_options(command);
    EXPECT_EQ(bash_options(command), help) << "rdbrekey.bash, command \"" << command << "\"";
    EXPECT_EQ(zsh_options(command), help) << "_rdbrekey, command \"" << command << "\"";
  }
}

// What bash really completes, with Debian's bash-completion loaded as an interactive shell has it.
TEST(Completions, BashCompletesOptionsAndValues) {
  const char* framework = "/usr/share/bash-completion/bash_completion";
  if (test::run({"test", "-r", framework}).exit_code != 0)
    GTEST_SKIP() << "skipped: install bash-completion (scripts/setup.sh does)";
  auto complete = [&](const std::string& line) {
    std::string script = std::string("source ") + framework + "; source " + RDBREKEY_SOURCE_DIR +
                         "/packaging/completions/rdbrekey.bash; COMP_LINE='" + line +
                         "'; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<<\"$COMP_LINE\"; "
                         "[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=(''); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); "
                         "_rdbrekey; printf '%s\\n' \"${COMPREPLY[@]}\"";
    test::RunResult r = test::run({"bash", "-c", script});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> words;
    std::istringstream lines(r.out);
    for (std::string w; std::getline(lines, w);)
      if (!w.empty()) words.insert(w);
    return words;
  };
  for (const std::string& command : {"convert", "restore", "inspect", "verify"}) {
    std::set<std::string> dashdash;
    for (const std::string& o : help_options(command))
      if (o.starts_with("--")) dashdash.insert(o);
    EXPECT_EQ(complete(std::string("rdbrekey ") + command + " --"), dashdash) << command;
  }
  EXPECT_EQ(complete("rdbrekey in"), (std::set<std::string>{"inspect"}));
  EXPECT_EQ(complete("rdbrekey convert in.rdb --on-collision keep"), (std::set<std::string>{"keep-first", "keep-last"}));
}

TEST(Completions, ZshFileParses) {
  if (test::run({"sh", "-c", "command -v zsh"}).exit_code != 0) GTEST_SKIP() << "skipped: install zsh (scripts/setup.sh does)";
  test::RunResult r = test::run({"zsh", "-n", std::string(RDBREKEY_SOURCE_DIR) + "/packaging/completions/_rdbrekey"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace rdbrekey
