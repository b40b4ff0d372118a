// Collects the errors of one config load, each tied to a position in the file.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/loader.h"

namespace greenlb::conf {

// 1-based line and column; line 0 means "no position" (the file as a whole).
struct SourcePos {
  uint32_t line = 0;
  uint32_t column = 0;
  bool known() const { return line != 0; }
  auto operator<=>(const SourcePos&) const = default;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(SourcePos at, std::string message);
  bool empty() const { return list_.empty(); }

  // Every error in source order (file-level errors first); equal positions keep the
  // order they were reported in.
  std::vector<Diagnostic> sorted() &&;

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

// `text` in double quotes for an error message, with quotes, backslashes and control
// characters escaped and anything past 80 bytes cut to "...", so that a value from the
// file cannot garble the terminal or flood the log.
std::string quote(std::string_view text);

}  // namespace greenlb::conf
