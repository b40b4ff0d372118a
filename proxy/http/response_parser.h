// Incremental, zero-copy parser of upstream response heads, with the same framing
// strictness as requests (a response the proxy cannot frame safely becomes a 502).
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/http/head_scanner.h"
#include "proxy/http/message.h"

namespace greenlb::proxy::http {

// Like RequestParser. Whether a body follows depends on the request too, so the parser
// is told whether the request was a HEAD (at construction or reset). After a 1xx
// response, reset (same flag) and parse the next head from out.head_bytes on.
class ResponseParser {
 public:
  explicit ResponseParser(size_t max_head_bytes = kDefaultMaxHeadBytes, bool head_request = false)
      : scanner_(max_head_bytes, /*allow_leading_crlf=*/false), head_request_(head_request) {}

  // As RequestParser::parse. Every error means "the upstream broke the response".
  ParseStatus parse(std::string_view buf, ResponseHead& out);

  ParseError error() const { return scanner_.error(); }

  void reset(bool head_request = false) {
    scanner_.reset();
    head_request_ = head_request;
  }
  void reset(size_t max_head_bytes, bool head_request) {
    scanner_.setMaxHeadBytes(max_head_bytes);
    reset(head_request);
  }

 private:
  ParseError parseHead(std::string_view head, ResponseHead& out) const;

  HeadScanner scanner_;
  bool head_request_;
};

}  // namespace greenlb::proxy::http
