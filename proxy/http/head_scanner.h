// Finds the end of a message head (the empty line) incrementally: each call resumes where
// the previous one stopped, so a head arriving in many reads is scanned once.
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/http/message.h"

namespace greenlb::proxy::http {

class HeadScanner {
 public:
  // allow_leading_crlf: skip one empty line before the start line (RFC 9112 section 2.2
  // asks servers to ignore at least one; some clients send a CRLF after a POST body).
  HeadScanner(size_t max_head_bytes, bool allow_leading_crlf)
      : max_(max_head_bytes), allow_leading_crlf_(allow_leading_crlf) {}

  void reset() { *this = HeadScanner(max_, allow_leading_crlf_); }
  void setMaxHeadBytes(size_t max_head_bytes) { max_ = max_head_bytes; }

  // buf must start where the previous call's buf started, with the same bytes.
  // done: the head is buf[0, end()), its start line begins at start().
  // error: a bare LF (bad_request) or a head of max_head_bytes or more (header_too_large),
  // or an error the owner reported with fail(); it stays until reset().
  ParseStatus scan(std::string_view buf);

  // Records an error found by the owner (in the head's syntax); returns error.
  ParseStatus fail(ParseError e) {
    error_ = e;
    status_ = ParseStatus::error;
    return status_;
  }

  ParseError error() const { return error_; }
  size_t start() const { return start_; }
  size_t end() const { return end_; }

 private:
  size_t max_;
  bool allow_leading_crlf_;
  ParseStatus status_ = ParseStatus::need_more;
  ParseError error_ = ParseError::none;
  size_t pos_ = 0;         // next byte to look at
  size_t line_start_ = 0;  // first byte of the line being scanned
  size_t start_ = 0;       // first byte of the start line
  size_t end_ = 0;
};

// The parsers' driver: scan for the end of the head, then parse it whole with
// parse_head(std::string_view head) -> ParseError, recording its error in the scanner.
template <class ParseHead>
ParseStatus scanAndParse(HeadScanner& scanner, std::string_view buf, ParseHead&& parse_head) {
  const ParseStatus status = scanner.scan(buf);
  if (status != ParseStatus::done) return status;
  const ParseError e = parse_head(buf.substr(0, scanner.end()));
  return e == ParseError::none ? ParseStatus::done : scanner.fail(e);
}

}  // namespace greenlb::proxy::http
