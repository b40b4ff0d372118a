// Helpers shared by the parser tests: whole-buffer and byte-by-byte parsing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "proxy/http/request_parser.h"
#include "proxy/http/response_parser.h"

namespace greenlb::proxy::http::testing {

template <class Head>
struct Result {
  ParseStatus status = ParseStatus::need_more;
  ParseError error = ParseError::none;
  std::unique_ptr<Head> head = std::make_unique<Head>();  // heads are large for the stack
  // The parsed bytes: the head's views point into them, so they live as long as it does
  // (callers may pass a temporary).
  std::unique_ptr<std::string> input;
};
using RequestResult = Result<RequestHead>;
using ResponseResult = Result<ResponseHead>;

// Parses in at once, or fed as in[0, 1), in[0, 2), ... until the parser stops asking for
// more when byte_by_byte.
template <class Head, class Parser>
Result<Head> parseWith(Parser parser, std::string_view in, bool byte_by_byte) {
  Result<Head> r;
  r.input = std::make_unique<std::string>(in);
  in = *r.input;
  for (size_t n = byte_by_byte ? 0 : in.size(); n <= in.size(); ++n) {
    r.status = parser.parse(in.substr(0, n), *r.head);
    if (r.status != ParseStatus::need_more) break;
  }
  r.error = parser.error();
  return r;
}

inline RequestResult parseRequest(std::string_view in,
                                  size_t max_head_bytes = kDefaultMaxHeadBytes) {
  return parseWith<RequestHead>(RequestParser(max_head_bytes), in, false);
}
inline RequestResult parseRequestByteByByte(std::string_view in) {
  return parseWith<RequestHead>(RequestParser(), in, true);
}
inline ParseError requestError(std::string_view in) {
  return parseRequest(in).error;
}

inline ResponseResult parseResponse(std::string_view in, bool head_request = false) {
  return parseWith<ResponseHead>(ResponseParser(kDefaultMaxHeadBytes, head_request), in, false);
}
inline ResponseResult parseResponseByteByByte(std::string_view in) {
  return parseWith<ResponseHead>(ResponseParser(), in, true);
}
inline ParseError responseError(std::string_view in) {
  return parseResponse(in).error;
}

}  // namespace greenlb::proxy::http::testing
