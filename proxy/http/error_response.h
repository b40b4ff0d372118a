// Responses the proxy makes itself: errors with a short generic body (no internal detail;
// that goes to the access log) and the interim 100 Continue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace greenlb::proxy::http {

// The reason phrase of a status the proxy may send ("Bad Gateway"); "" when unknown.
std::string_view reasonPhrase(int status);

// A complete response: status line, Content-Type: text/plain, Content-Length,
// X-Request-Id (when not empty), "Connection: close" when close, and the body "<reason>\n".
// head_request: answer to a HEAD, so the body is left out (Content-Length still says
// what a GET would get). retry_after: seconds for Retry-After (0 = no header). Returns
// the bytes written, 0 when out is too small.
size_t writeErrorResponse(int status, std::string_view request_id, bool close, std::span<char> out,
                          bool head_request = false, uint32_t retry_after = 0);

// "HTTP/1.1 100 Continue" CRLF CRLF. Returns the bytes written, 0 when out is too small.
size_t writeContinueResponse(std::span<char> out);

}  // namespace greenlb::proxy::http
