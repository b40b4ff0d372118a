#include "proxy/http/response_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/proxy/http/parse_helpers.h"

namespace greenlb::proxy::http {
namespace {

using testing::parseResponse;
using testing::parseResponseByteByByte;
using testing::responseError;

constexpr ParseError kOk = ParseError::none;
constexpr ParseError k400 = ParseError::bad_request;

TEST(ResponseParser, ContentLengthResponse) {
  const std::string in =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  auto r = parseResponse(in);
  ASSERT_EQ(r.status, ParseStatus::done);
  const ResponseHead& h = *r.head;
  EXPECT_EQ(h.version, Version::http11);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.reason, "OK");
  ASSERT_EQ(h.header_count, 2u);
  EXPECT_EQ(h.headers[0].name, "Content-Type");
  EXPECT_EQ(h.body, BodyKind::content_length);
  EXPECT_EQ(h.framing, BodyKind::content_length);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.upgrade);
  EXPECT_EQ(h.head_bytes, in.size() - 5);
}

TEST(ResponseParser, ChunkedResponse) {
  auto r = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::chunked);
  EXPECT_TRUE(r.head->keep_alive);
}

TEST(ResponseParser, NoFramingMeansUntilClose) {
  auto r = parseResponse("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::until_close);
  EXPECT_EQ(r.head->framing, BodyKind::none);
  EXPECT_FALSE(r.head->keep_alive);
}

TEST(ResponseParser, HeadResponseHasNoBody) {
  auto r = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true);
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::none);
  EXPECT_EQ(r.head->framing, BodyKind::content_length);
  EXPECT_EQ(r.head->content_length, 1234u);
  EXPECT_TRUE(r.head->keep_alive);
}

TEST(ResponseParser, HeadResponseWithoutFramingKeepsAlive) {
  auto r = parseResponse("HTTP/1.1 200 OK\r\n\r\n", true);
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::none);
  EXPECT_TRUE(r.head->keep_alive);
}

TEST(ResponseParser, BodilessStatuses) {
  for (const char* in : {"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                         "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
                         "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\n\r\n"}) {
    SCOPED_TRACE(in);
    auto r = parseResponse(in);
    ASSERT_EQ(r.status, ParseStatus::done);
    EXPECT_EQ(r.head->body, BodyKind::none);
    EXPECT_TRUE(r.head->keep_alive);
  }
}

TEST(ResponseParser, SwitchingProtocolsIsAnUpgrade) {
  auto r = parseResponse(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_TRUE(r.head->upgrade);
  EXPECT_EQ(r.head->body, BodyKind::none);
  EXPECT_FALSE(r.head->keep_alive);
}

TEST(ResponseParser, EmptyReasonWithAndWithoutSpace) {
  auto a = parseResponse("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(a.status, ParseStatus::done);
  EXPECT_EQ(a.head->reason, "");
  auto b = parseResponse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(b.status, ParseStatus::done);
  EXPECT_EQ(b.head->reason, "");
  EXPECT_EQ(b.head->status, 200);
}

TEST(ResponseParser, ReasonWithSpacesAndObsText) {
  auto r = parseResponse("HTTP/1.1 404 Not \xe2\x80\x9c Found\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->reason, "Not \xe2\x80\x9c Found");
}

TEST(ResponseParser, Http10Response) {
  auto a = parseResponse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(a.status, ParseStatus::done);
  EXPECT_EQ(a.head->version, Version::http10);
  EXPECT_FALSE(a.head->keep_alive);
  auto b = parseResponse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_EQ(b.status, ParseStatus::done);
  EXPECT_TRUE(b.head->keep_alive);
}

TEST(ResponseParser, ConnectionClose) {
  auto r = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->keep_alive);
}

TEST(ResponseParser, BadStatusCodes) {
  EXPECT_EQ(responseError("HTTP/1.1 20 OK\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 2000 OK\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 abc OK\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 099 OK\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 600 OK\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1  200 OK\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 -20 OK\r\n\r\n"), k400);
}

TEST(ResponseParser, ControlCharacterInReasonIsRejected) {
  EXPECT_EQ(responseError("HTTP/1.1 200 O\x01K\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 200 O\rK\r\n\r\n"), k400);
}

TEST(ResponseParser, UnsupportedVersions) {
  EXPECT_EQ(responseError("HTTP/2.0 200 OK\r\n\r\n"), ParseError::bad_version);
  EXPECT_EQ(responseError("HTTP/1.2 200 OK\r\n\r\n"), ParseError::bad_version);
  EXPECT_EQ(responseError("HTTP/1.x 200 OK\r\n\r\n"), k400);
  EXPECT_EQ(responseError("ICY 200 OK\r\n\r\n"), k400);
}

TEST(ResponseParser, NonHttpBytesFailAtTheFirstByte) {
  auto r = parseResponse("\x15\x03");
  EXPECT_EQ(r.status, ParseStatus::error);
}

TEST(ResponseParser, LeadingCrlfIsRejected) {
  EXPECT_EQ(responseError("\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), k400);
}

TEST(ResponseParser, ClAndTeIsRejected) {
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"),
            k400);
}

TEST(ResponseParser, DifferingContentLengthsAreRejected) {
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n"),
            k400);
}

TEST(ResponseParser, BadContentLengthIsRejected) {
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), k400);
}

TEST(ResponseParser, TeOnHttp10IsRejected) {
  EXPECT_EQ(responseError("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), k400);
}

TEST(ResponseParser, NonChunkedTeIsRejected) {
  // RFC 9112 would read such a body until close; we refuse to guess (502 upstream).
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), k400);
}

TEST(ResponseParser, HeaderLineStrictness) {
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), k400);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n"), k400);
}

TEST(ResponseParser, ContinueThenFinalResponseInOneBuffer) {
  const std::string in =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  ResponseParser parser;
  ResponseHead head;
  std::string_view rest = in;
  ASSERT_EQ(parser.parse(rest, head), ParseStatus::done);
  EXPECT_EQ(head.status, 100);
  rest.remove_prefix(head.head_bytes);
  parser.reset();
  ASSERT_EQ(parser.parse(rest, head), ParseStatus::done);
  EXPECT_EQ(head.status, 201);
  EXPECT_EQ(rest.substr(head.head_bytes), "ok");
}

TEST(ResponseParser, ResetKeepsTheHeadRequestFlagItIsGiven) {
  ResponseParser parser(1024, true);
  ResponseHead head;
  ASSERT_EQ(parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head), ParseStatus::done);
  EXPECT_EQ(head.body, BodyKind::none);
  parser.reset(false);
  ASSERT_EQ(parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head), ParseStatus::done);
  EXPECT_EQ(head.body, BodyKind::content_length);
  parser.reset(10, false);
  EXPECT_EQ(parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head), ParseStatus::error);
  EXPECT_EQ(parser.error(), ParseError::header_too_large);
}

TEST(ResponseParser, ByteByByteEqualsAllAtOnce) {
  for (const char* in :
       {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
        "HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}) {
    SCOPED_TRACE(in);
    auto whole = parseResponse(in);
    auto split = parseResponseByteByByte(in);
    ASSERT_EQ(whole.status, ParseStatus::done);
    ASSERT_EQ(split.status, ParseStatus::done);
    EXPECT_EQ(whole.head->status, split.head->status);
    EXPECT_EQ(whole.head->reason, split.head->reason);
    EXPECT_EQ(whole.head->header_count, split.head->header_count);
    EXPECT_EQ(whole.head->body, split.head->body);
    EXPECT_EQ(whole.head->content_length, split.head->content_length);
    EXPECT_EQ(whole.head->keep_alive, split.head->keep_alive);
    EXPECT_EQ(whole.head->head_bytes, split.head->head_bytes);
  }
}

TEST(ResponseParser, ByteByByteGivesTheSameError) {
  for (const char* in :
       {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n", "HTTP/3.0 200 OK\r\n\r\n"}) {
    SCOPED_TRACE(in);
    auto whole = parseResponse(in);
    auto split = parseResponseByteByByte(in);
    ASSERT_EQ(whole.status, ParseStatus::error);
    ASSERT_EQ(split.status, ParseStatus::error);
    EXPECT_EQ(whole.error, split.error);
  }
}

TEST(ResponseParser, MinimalHead) {
  EXPECT_EQ(responseError("HTTP/1.1 200\r\n\r\n"), kOk);
}

}  // namespace
}  // namespace greenlb::proxy::http
