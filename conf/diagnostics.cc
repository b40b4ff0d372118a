#include "conf/diagnostics.h"

#include <algorithm>

namespace greenlb::conf {

std::string Diagnostic::str() const {
  // A file that cannot be read has no position; compilers print "FILE: error: ..." then.
  if (line == 0) return file + ": error: " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message;
}

void Diagnostics::error(SourcePos at, std::string message) {
  list_.push_back(Diagnostic{file_, at.line, at.column, std::move(message)});
}

std::string quote(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

std::vector<Diagnostic> Diagnostics::sorted() && {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return SourcePos{a.line, a.column} < SourcePos{b.line, b.column};
  });
  return std::move(list_);
}

}  // namespace greenlb::conf
