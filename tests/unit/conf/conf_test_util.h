// Helpers shared by the conf tests: temporary files and compact views of diagnostics.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "conf/loader.h"

namespace greenlb::conf::testing {

// A fresh directory under the system temp dir, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to `relative` (creating directories) and returns the absolute path.
  std::string write(std::string_view relative, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

// The smallest config that serves: one listener, one upstream, defaults for the rest.
inline constexpr std::string_view kMinimalConfig = R"([[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)";

// A listener for configs that test something else but must serve (a config needs a
// listener): it sends everything to an upstream named "app", which the test defines.
inline constexpr std::string_view kListenerForApp = R"([[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"
)";

// A raw string literal written as R"(\n...)" without that first newline, so that line 1
// of the config is the first line of the literal.
std::string_view toml(std::string_view raw);

// The errors of loading `text` as "LINE:COL: MESSAGE", in the order reported.
std::vector<std::string> errorsOf(std::string_view text,
                                  const std::string& path = "/nonexistent/greenlb.toml");

// Loads `text`, failing the current test with the errors when it is invalid.
std::shared_ptr<const Config> mustLoad(std::string_view text,
                                       const std::string& path = "/nonexistent/greenlb.toml");

}  // namespace greenlb::conf::testing
