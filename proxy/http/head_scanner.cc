#include "proxy/http/head_scanner.h"

#include <algorithm>
#include <cstring>

namespace greenlb::proxy::http {

ParseStatus HeadScanner::scan(std::string_view buf) {
  if (status_ != ParseStatus::need_more) return status_;
  // A head must end before max_ bytes: one that fills the limit exactly is too large too,
  // so a limit-sized buffer never holds a complete head with no byte of room behind it.
  const size_t limit = std::min(buf.size(), max_ > 0 ? max_ - 1 : 0);
  const char* data = buf.data();
  while (pos_ < limit) {
    const void* lf = std::memchr(data + pos_, '\n', limit - pos_);
    if (lf == nullptr) {
      pos_ = limit;
      break;
    }
    const size_t i = static_cast<const char*>(lf) - data;
    pos_ = i + 1;
    // Every line ends in CRLF; a bare LF is how request smuggling splits heads differently.
    if (i == line_start_ || data[i - 1] != '\r') return fail(ParseError::bad_request);
    if (i - line_start_ == 1) {  // an empty line
      if (line_start_ == start_) {
        if (start_ == 0 && allow_leading_crlf_) {
          start_ = line_start_ = pos_;
          continue;
        }
        return fail(ParseError::bad_request);  // no start line
      }
      end_ = pos_;
      status_ = ParseStatus::done;
      return status_;
    }
    line_start_ = pos_;
  }
  if (buf.size() >= max_) return fail(ParseError::header_too_large);
  return ParseStatus::need_more;
}

}  // namespace greenlb::proxy::http
