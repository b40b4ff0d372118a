// Incremental, zero-copy parser of HTTP/1.1 and 1.0 request heads, strict where
// leniency lets two parsers disagree about a message (docs/proxying.md, "Strict parsing").
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/http/head_scanner.h"
#include "proxy/http/message.h"

namespace greenlb::proxy::http {

// One request head at a time:
//   RequestParser parser(max_header_bytes);
//   switch (parser.parse(buffered, head)) { ... }   // again with more bytes on need_more
//   ... the next pipelined request starts at head.head_bytes (after the body); reset().
// Nothing is allocated; the parser is a few words.
class RequestParser {
 public:
  explicit RequestParser(size_t max_head_bytes = kDefaultMaxHeadBytes)
      : scanner_(max_head_bytes, /*allow_leading_crlf=*/true) {}

  // buf holds the bytes received so far, starting at the first byte of this request (the
  // same start on every call; it may move in memory). After need_more call again with a
  // longer buf: the search for the end of the head resumes where it stopped. On done, out
  // describes the head in buf[0, out.head_bytes); its views point into buf. After error,
  // error() says which response to send; the connection is then to be closed.
  ParseStatus parse(std::string_view buf, RequestHead& out);

  ParseError error() const { return scanner_.error(); }

  // Ready for the next request (keeping or replacing the head size limit).
  void reset() { scanner_.reset(); }
  void reset(size_t max_head_bytes) {
    scanner_.setMaxHeadBytes(max_head_bytes);
    scanner_.reset();
  }

 private:
  ParseError parseHead(std::string_view head, RequestHead& out) const;

  HeadScanner scanner_;
};

}  // namespace greenlb::proxy::http
