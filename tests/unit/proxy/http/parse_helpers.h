// Helpers shared by the parser tests: whole-buffer and byte-by-byte parsing.
#pragma once

#include <memory>
#include <string_view>

#include "proxy/http/request_parser.h"
#include "proxy/http/response_parser.h"

namespace greenlb::proxy::http::testing {

struct RequestResult {
  ParseStatus status;
  ParseError error;
  std::unique_ptr<RequestHead> head = std::make_unique<RequestHead>();
};

inline RequestResult parseRequest(std::string_view in,
                                  size_t max_head_bytes = kDefaultMaxHeadBytes) {
  RequestResult r;
  RequestParser parser(max_head_bytes);
  r.status = parser.parse(in, *r.head);
  r.error = parser.error();
  return r;
}

// Feeds in[0, 1), in[0, 2), ... until the parser stops asking for more.
inline RequestResult parseRequestByteByByte(std::string_view in,
                                            size_t max_head_bytes = kDefaultMaxHeadBytes) {
  RequestResult r;
  RequestParser parser(max_head_bytes);
  r.status = ParseStatus::need_more;
  for (size_t n = 0; n <= in.size() && r.status == ParseStatus::need_more; ++n)
    r.status = parser.parse(in.substr(0, n), *r.head);
  r.error = parser.error();
  return r;
}

inline ParseError requestError(std::string_view in) {
  RequestResult r = parseRequest(in);
  return r.status == ParseStatus::error ? r.error : ParseError::none;
}

struct ResponseResult {
  ParseStatus status;
  ParseError error;
  std::unique_ptr<ResponseHead> head = std::make_unique<ResponseHead>();
};

inline ResponseResult parseResponse(std::string_view in, bool head_request = false) {
  ResponseResult r;
  ResponseParser parser(kDefaultMaxHeadBytes, head_request);
  r.status = parser.parse(in, *r.head);
  r.error = parser.error();
  return r;
}

inline ResponseResult parseResponseByteByByte(std::string_view in) {
  ResponseResult r;
  ResponseParser parser;
  r.status = ParseStatus::need_more;
  for (size_t n = 0; n <= in.size() && r.status == ParseStatus::need_more; ++n)
    r.status = parser.parse(in.substr(0, n), *r.head);
  r.error = parser.error();
  return r;
}

inline ParseError responseError(std::string_view in) {
  ResponseResult r = parseResponse(in);
  return r.status == ParseStatus::error ? r.error : ParseError::none;
}

}  // namespace greenlb::proxy::http::testing
