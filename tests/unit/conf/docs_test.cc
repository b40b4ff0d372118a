// docs/configuration.md stays the reference: it describes every key the loader knows,
// marks our additions to the contract, and describes no key the loader does not know.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "conf/schema.h"

namespace greenlb::conf {
namespace {

std::string readDoc() {
  std::ifstream in(GREENLB_SOURCE_DIR "/docs/configuration.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How the reference writes a key: `table.key` in a row, or a table's heading. Built by
// appending: `"[" + path` trips GCC 12's -Wrestrict false positive.
std::string spelling(const SchemaKey& k) {
  std::string_view open = "`", close = "`";
  if (k.kind == KeyKind::table) open = "[", close = "]";
  if (k.kind == KeyKind::array_of_tables) open = "[[", close = "]]";
  std::string out(open);
  out += k.path();
  out += close;
  return out;
}

TEST(Docs, DescribesEveryKnownKey) {
  auto doc = readDoc();
  ASSERT_FALSE(doc.empty()) << "cannot read docs/configuration.md";
  for (const auto& k : knownKeys()) {
    EXPECT_NE(doc.find(spelling(k)), std::string::npos)
        << "docs/configuration.md does not describe " << spelling(k);
  }
}

TEST(Docs, MarksAdditionsToTheSpec) {
  std::istringstream doc(readDoc());
  std::set<std::string> marked;
  for (std::string line; std::getline(doc, line);) {
    if (line.find("addition") == std::string::npos) continue;
    for (const auto& k : knownKeys()) {
      if (line.starts_with("| " + spelling(k) + " ")) marked.insert(k.path());
    }
  }
  for (const auto& k : knownKeys()) {
    EXPECT_EQ(marked.count(k.path()) == 1, k.addition)
        << k.path()
        << (k.addition ? " is an addition to the contract but its row does not say so"
                       : " is in the contract but its row calls it an addition");
  }
}

TEST(Docs, DescribesNoUnknownKey) {
  std::set<std::string> known;
  for (const auto& k : knownKeys()) known.insert(k.path());
  std::istringstream doc(readDoc());
  const std::regex row(R"(^\| `([a-z_.]+)` )");
  for (std::string line; std::getline(doc, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) {
      EXPECT_EQ(known.count(m[1].str()), 1u)
          << "docs/configuration.md describes unknown key " << m[1].str();
    }
  }
}

}  // namespace
}  // namespace greenlb::conf
