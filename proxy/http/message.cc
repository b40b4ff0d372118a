#include "proxy/http/message.h"

#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {

int statusFor(ParseError e) {
  switch (e) {
    case ParseError::none:
      return 0;
    case ParseError::bad_request:
      return 400;
    case ParseError::header_too_large:
      return 431;
    case ParseError::not_implemented:
      return 501;
    case ParseError::bad_version:
      return 505;
  }
  return 400;
}

std::string_view toString(ParseError e) {
  switch (e) {
    case ParseError::none:
      return "none";
    case ParseError::bad_request:
      return "bad_request";
    case ParseError::header_too_large:
      return "header_too_large";
    case ParseError::not_implemented:
      return "not_implemented";
    case ParseError::bad_version:
      return "bad_version";
  }
  return "unknown";
}

const Header* findHeader(std::span<const Header> headers, std::string_view name) {
  for (const Header& h : headers)
    if (equalsIgnoreCase(h.name, name)) return &h;
  return nullptr;
}

bool isIdempotentMethod(std::string_view m) {
  // Methods are case-sensitive (RFC 9110 section 9.1).
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

}  // namespace greenlb::proxy::http
