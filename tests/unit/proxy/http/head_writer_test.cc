#include "proxy/http/head_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/proxy/http/head_writer_helpers.h"
#include "tests/unit/proxy/http/parse_helpers.h"

namespace greenlb::proxy::http {
namespace {

using testing::parseRequest;
using testing::parseResponse;

ForwardInfo defaultForward() {
  ForwardInfo info;
  info.client_ip = "10.0.0.7";
  info.proto = "http";
  info.request_id = "rid-1";
  return info;
}

std::string upstream(std::string_view request, const ForwardInfo& info = defaultForward()) {
  return testing::upstreamHead(request, info);
}

std::string client(std::string_view response, const ResponseInfo& info, bool head = false) {
  return testing::clientHead(response, info, head);
}

// --- requests -----------------------------------------------------------------------------

TEST(WriteUpstreamRequestHead, SimpleGet) {
  EXPECT_EQ(upstream("GET /a?b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"),
            "GET /a?b HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: example.com\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, ExistingForwardedForIsJoinedAndAppended) {
  EXPECT_EQ(upstream("GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nHost: a\r\n"
                     "x-forwarded-for: 2.2.2.2, 3.3.3.3\r\nX-Forwarded-For:\r\n\r\n"),
            "GET / HTTP/1.1\r\n"
            "Host: a\r\n"
            "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: a\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, ForwardingHeadersAndRequestIdAreReplaced) {
  ForwardInfo info = defaultForward();
  info.proto = "https";
  EXPECT_EQ(upstream("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: gopher\r\n"
                     "X-Forwarded-Host: evil\r\nX-Request-Id: client-id\r\n\r\n",
                     info),
            "GET / HTTP/1.1\r\n"
            "Host: a\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Forwarded-Host: a\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, HopByHopHeadersAreRemoved) {
  EXPECT_EQ(upstream("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\n"
                     "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
                     "Trailer: X-Sum\r\nUpgrade: h2c\r\nx-secret: 1\r\nX-Kept: 2\r\n\r\n"),
            "GET / HTTP/1.1\r\n"
            "Host: a\r\n"
            "X-Kept: 2\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: a\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, ConnectionCannotRemoveHostOrFraming) {
  EXPECT_EQ(upstream("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                     "Connection: Host, Content-Length, Transfer-Encoding\r\n\r\n"),
            "POST / HTTP/1.1\r\n"
            "Host: a\r\n"
            "Content-Length: 3\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: a\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, ContentLengthIsNormalised) {
  EXPECT_EQ(upstream("POST /p HTTP/1.1\r\nContent-Length: 5, 05\r\nHost: a\r\n"
                     "Content-Length: 5\r\n\r\n"),
            "POST /p HTTP/1.1\r\n"
            "Content-Length: 5\r\n"
            "Host: a\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: a\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, ChunkedIsKeptAndNormalised) {
  EXPECT_EQ(upstream("PUT /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tChunked \r\n\r\n"),
            "PUT /p HTTP/1.1\r\n"
            "Host: a\r\n"
            "Transfer-Encoding: chunked\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: a\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, ExpectIsKeptOrDropped) {
  const char* in =
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
  ForwardInfo info = defaultForward();
  info.client_ip = "";
  info.proto = "";
  info.request_id = "";
  EXPECT_EQ(upstream(in, info),
            "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n"
            "X-Forwarded-Host: a\r\n\r\n");
  info.drop_expect = true;
  EXPECT_EQ(upstream(in, info),
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nX-Forwarded-Host: a\r\n\r\n");
}

TEST(WriteUpstreamRequestHead, Http10ExpectIsDropped) {
  ForwardInfo info;
  EXPECT_EQ(upstream("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", info),
            "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
}

TEST(WriteUpstreamRequestHead, Http10WithoutHostGetsTheDefaultHost) {
  ForwardInfo info;
  info.default_host = "10.0.0.9:8080";
  EXPECT_EQ(upstream("GET /x HTTP/1.0\r\n\r\n", info),
            "GET /x HTTP/1.1\r\nHost: 10.0.0.9:8080\r\n\r\n");
  // A request with a Host keeps its own.
  EXPECT_EQ(upstream("GET /x HTTP/1.0\r\nHost: a\r\n\r\n", info),
            "GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-Host: a\r\n\r\n");
}

TEST(WriteUpstreamRequestHead, WebSocketUpgrade) {
  ForwardInfo info = defaultForward();
  info.upgrade = true;
  EXPECT_EQ(upstream("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Key: k==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     info),
            "GET /ws HTTP/1.1\r\n"
            "Host: a\r\n"
            "Upgrade: websocket\r\n"
            "Sec-WebSocket-Key: k==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Connection: upgrade\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: a\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, AbsoluteFormHostIsTheAuthority) {
  EXPECT_EQ(upstream("GET http://api.example.com/x HTTP/1.1\r\nHost: other\r\nA: b\r\n\r\n"),
            "GET http://api.example.com/x HTTP/1.1\r\n"
            "Host: api.example.com\r\n"
            "A: b\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: api.example.com\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, Http10WithoutHostBecomesHttp11WithoutHost) {
  EXPECT_EQ(upstream("GET / HTTP/1.0\r\nConnection: keep-alive\r\nUser-Agent: old\r\n\r\n"),
            "GET / HTTP/1.1\r\n"
            "User-Agent: old\r\n"
            "X-Forwarded-For: 10.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Request-Id: rid-1\r\n"
            "\r\n");
}

TEST(WriteUpstreamRequestHead, TooSmallBufferGivesZero) {
  auto r = parseRequest("GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  std::vector<char> buf(4096);
  const size_t need = writeUpstreamRequestHead(*r.head, defaultForward(), buf);
  ASSERT_GT(need, 0u);
  for (size_t n = 0; n < need; ++n) {
    std::vector<char> small(n);
    EXPECT_EQ(writeUpstreamRequestHead(*r.head, defaultForward(), small), 0u) << n;
  }
  std::vector<char> exact(need);
  EXPECT_EQ(writeUpstreamRequestHead(*r.head, defaultForward(), exact), need);
}

// --- responses ----------------------------------------------------------------------------

TEST(WriteClientResponseHead, SimpleResponse) {
  ResponseInfo info{.request_id = "rid-2"};
  EXPECT_EQ(client("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 12\r\n"
                   "X-Request-Id: upstream-id\r\n\r\n",
                   info),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/html\r\n"
            "Content-Length: 12\r\n"
            "X-Request-Id: rid-2\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, CloseWhenNotKeepingAlive) {
  ResponseInfo info{.request_id = "r", .keep_alive = false};
  EXPECT_EQ(client("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n\r\n",
                   info),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Length: 0\r\n"
            "Connection: close\r\n"
            "X-Request-Id: r\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, KeepAliveForHttp10Client) {
  ResponseInfo info{.request_id = "r", .keep_alive = true, .client_is_http10 = true};
  EXPECT_EQ(client("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", info),
            "HTTP/1.1 200 OK\r\n"
            "Content-Length: 2\r\n"
            "Connection: keep-alive\r\n"
            "X-Request-Id: r\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, DechunkForHttp10Client) {
  ResponseInfo info{
      .request_id = "r", .keep_alive = true, .client_is_http10 = true, .dechunk = true};
  EXPECT_EQ(client("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n"
                   "Content-Type: a/b\r\n\r\n",
                   info),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: a/b\r\n"
            "Connection: close\r\n"
            "X-Request-Id: r\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, ChunkedIsKeptForHttp11Client) {
  ResponseInfo info{.request_id = "r"};
  EXPECT_EQ(client("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", info),
            "HTTP/1.1 200 OK\r\n"
            "Transfer-Encoding: chunked\r\n"
            "X-Request-Id: r\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, SwitchingProtocolsKeepsUpgrade) {
  ResponseInfo info{.request_id = "r"};
  EXPECT_EQ(client("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: x=\r\n\r\n",
                   info),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Sec-WebSocket-Accept: x=\r\n"
            "Connection: upgrade\r\n"
            "X-Request-Id: r\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, UpgradeIsDroppedOtherwise) {
  ResponseInfo info{};
  EXPECT_EQ(client("HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nConnection: upgrade, X-Hop\r\n"
                   "X-Hop: 1\r\nContent-Length: 0\r\n\r\n",
                   info),
            "HTTP/1.1 200 OK\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, HeadResponseKeepsItsContentLength) {
  ResponseInfo info{.request_id = "r"};
  EXPECT_EQ(client("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", info, /*head=*/true),
            "HTTP/1.1 200 OK\r\n"
            "Content-Length: 1234\r\n"
            "X-Request-Id: r\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, Http10UpstreamBecomesHttp11) {
  ResponseInfo info{.request_id = "r", .keep_alive = false};
  EXPECT_EQ(client("HTTP/1.0 200 \r\nServer: old\r\n\r\n", info),
            "HTTP/1.1 200 \r\n"
            "Server: old\r\n"
            "Connection: close\r\n"
            "X-Request-Id: r\r\n"
            "\r\n");
}

TEST(WriteClientResponseHead, TooSmallBufferGivesZero) {
  auto r = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  ResponseInfo info{.request_id = "abc"};
  std::vector<char> buf(4096);
  const size_t need = writeClientResponseHead(*r.head, info, buf);
  ASSERT_GT(need, 0u);
  for (size_t n = 0; n < need; ++n) {
    std::vector<char> small(n);
    EXPECT_EQ(writeClientResponseHead(*r.head, info, small), 0u) << n;
  }
}

}  // namespace
}  // namespace greenlb::proxy::http
