#include "proxy/http/error_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace greenlb::proxy::http {
namespace {

std::string error(int status, std::string_view id, bool close, bool head = false) {
  std::vector<char> buf(1024);
  size_t n = writeErrorResponse(status, id, close, buf, head);
  return std::string(buf.data(), n);
}

TEST(ErrorResponse, BadRequestWithClose) {
  EXPECT_EQ(error(400, "rid", true),
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 12\r\n"
            "X-Request-Id: rid\r\n"
            "Connection: close\r\n"
            "\r\n"
            "Bad Request\n");
}

TEST(ErrorResponse, ServiceUnavailableKeepingTheConnection) {
  EXPECT_EQ(error(503, "r", false),
            "HTTP/1.1 503 Service Unavailable\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 20\r\n"
            "X-Request-Id: r\r\n"
            "\r\n"
            "Service Unavailable\n");
}

TEST(ErrorResponse, HeadRequestGetsNoBody) {
  EXPECT_EQ(error(504, "", false, true),
            "HTTP/1.1 504 Gateway Timeout\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 16\r\n"
            "\r\n");
}

TEST(ErrorResponse, EveryProxyStatusHasAReason) {
  for (int status : {400, 408, 413, 431, 501, 502, 503, 504, 505}) {
    EXPECT_FALSE(reasonPhrase(status).empty()) << status;
    const std::string r = error(status, "x", true);
    EXPECT_EQ(r.substr(0, 13), "HTTP/1.1 " + std::to_string(status) + " ");
    // The body is the reason phrase and nothing more.
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), std::string(reasonPhrase(status)) + "\n");
  }
}

TEST(ErrorResponse, UnknownStatusIsGeneric) {
  EXPECT_EQ(error(599, "", true),
            "HTTP/1.1 599 Error\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
            "Connection: close\r\n\r\nError\n");
  EXPECT_EQ(error(42, "", true), "");
}

TEST(ErrorResponse, TooSmallBufferGivesZero) {
  const size_t need = error(502, "id", true).size();
  for (size_t n = 0; n < need; ++n) {
    std::vector<char> small(n);
    EXPECT_EQ(writeErrorResponse(502, "id", true, small), 0u) << n;
  }
}

TEST(ErrorResponse, Continue) {
  char buf[64];
  const size_t n = writeContinueResponse(buf);
  EXPECT_EQ(std::string(buf, n), "HTTP/1.1 100 Continue\r\n\r\n");
  char tiny[10];
  EXPECT_EQ(writeContinueResponse(tiny), 0u);
}

}  // namespace
}  // namespace greenlb::proxy::http
