// Turns a TOML file into a validated Config, or into every error found in it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace greenlb::conf {

// One problem in a config file, printed as "FILE:LINE:COL: error: MESSAGE".
struct Diagnostic {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string message;
  std::string str() const;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // set only when errors is empty
  std::vector<Diagnostic> errors;
  bool ok() const { return config != nullptr; }
};

// Reads and validates `path`. File paths inside are resolved against its directory.
LoadResult loadConfigFile(const std::string& path);

// Validates TOML text; `path` names it in messages and anchors relative file paths.
LoadResult loadConfigString(std::string_view text, const std::string& path);

// The effective config as TOML, with every default filled in; loading it again
// yields an equal Config.
std::string printConfig(const Config& config);

}  // namespace greenlb::conf
