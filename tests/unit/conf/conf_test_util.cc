#include "tests/unit/conf/conf_test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

namespace greenlb::conf::testing {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("greenlb-conf-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(std::string_view relative, std::string_view content) const {
  auto file = path_ / relative;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
  return file.string();
}

std::string_view toml(std::string_view raw) {
  if (raw.starts_with('\n')) raw.remove_prefix(1);
  return raw;
}

namespace {

// Tests of other rules write the smallest config that shows their rule, often without a
// listener; the rule that a config needs one is tested on its own
// (Loader.EmptyFileIsAnError), so errorsOf leaves its error out.
bool isNoListenerError(const Diagnostic& e) { return e.message.starts_with("no [[listener]]"); }

}  // namespace

std::vector<std::string> errorsOf(std::string_view text, const std::string& path) {
  auto result = loadConfigString(text, path);
  std::vector<std::string> out;
  for (const auto& e : result.errors) {
    if (isNoListenerError(e)) continue;
    out.push_back(std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message);
  }
  return out;
}

std::shared_ptr<const Config> mustLoad(std::string_view text, const std::string& path) {
  auto result = loadConfigString(text, path);
  for (const auto& e : result.errors) ADD_FAILURE() << e.str();
  return result.config;
}

}  // namespace greenlb::conf::testing
