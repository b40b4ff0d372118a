#include "proxy/http/error_response.h"

#include "proxy/http/buffer_writer.h"

namespace greenlb::proxy::http {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

size_t writeErrorResponse(int status, std::string_view request_id, bool close, std::span<char> out,
                          bool head_request, uint32_t retry_after) {
  if (status < 100 || status > 999) return 0;
  std::string_view reason = reasonPhrase(status);
  if (reason.empty()) reason = "Error";
  BufferWriter w(out);
  w.put("HTTP/1.1 ");
  w.putDecimal(static_cast<uint64_t>(status));
  w.put(" ");
  w.put(reason);
  w.put("\r\nContent-Type: text/plain\r\nContent-Length: ");
  w.putDecimal(reason.size() + 1);
  w.put("\r\n");
  if (!request_id.empty()) w.putHeader("X-Request-Id", request_id);
  if (retry_after != 0) {
    w.put("Retry-After: ");
    w.putDecimal(retry_after);
    w.put("\r\n");
  }
  if (close) w.put("Connection: close\r\n");
  w.put("\r\n");
  if (!head_request) {
    w.put(reason);
    w.put("\n");
  }
  return w.finish();
}

size_t writeContinueResponse(std::span<char> out) {
  BufferWriter w(out);
  w.put("HTTP/1.1 100 Continue\r\n\r\n");
  return w.finish();
}

}  // namespace greenlb::proxy::http
