#include "proxy/http/request_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/proxy/http/parse_helpers.h"

namespace greenlb::proxy::http {
namespace {

using namespace std::string_literals;
using testing::parseRequest;
using testing::parseRequestByteByByte;
using testing::requestError;

constexpr ParseError kOk = ParseError::none;
constexpr ParseError k400 = ParseError::bad_request;
constexpr ParseError k431 = ParseError::header_too_large;
constexpr ParseError k501 = ParseError::not_implemented;
constexpr ParseError k505 = ParseError::bad_version;

// A POST with Host and the given extra header lines (each ending in CRLF).
std::string post(std::string_view lines) {
  return "POST /upload HTTP/1.1\r\nHost: example.com\r\n"s + std::string(lines) + "\r\n";
}
std::string get(std::string_view lines) {
  return "GET / HTTP/1.1\r\nHost: example.com\r\n"s + std::string(lines) + "\r\n";
}

// --- well-formed requests -----------------------------------------------------------------

TEST(RequestParser, SimpleGet) {
  const std::string in =
      "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\n"
      "Accept: */*\r\n\r\n";
  auto r = parseRequest(in);
  ASSERT_EQ(r.status, ParseStatus::done);
  const RequestHead& h = *r.head;
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/index.html?q=1");
  EXPECT_EQ(h.target_form, TargetForm::origin);
  EXPECT_EQ(h.version, Version::http11);
  ASSERT_EQ(h.header_count, 3u);
  EXPECT_EQ(h.headers[0].name, "Host");
  EXPECT_EQ(h.headers[0].value, "example.com");
  EXPECT_EQ(h.headers[1].name, "User-Agent");
  EXPECT_EQ(h.headers[2].value, "*/*");
  EXPECT_EQ(h.host, "example.com");
  EXPECT_EQ(h.body, BodyKind::none);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.expect_continue);
  EXPECT_FALSE(h.upgrade);
  EXPECT_EQ(h.request_id, "");
  EXPECT_EQ(h.head_bytes, in.size());
  ASSERT_NE(h.find("user-agent"), nullptr);
  EXPECT_EQ(h.find("USER-AGENT")->value, "curl/8");
  EXPECT_EQ(h.find("Cookie"), nullptr);
}

TEST(RequestParser, ValuesAreTrimmedOfOws) {
  auto r = parseRequest(get("X-A: \t  spaced  value \t \r\nX-B:tight\r\nX-C:\r\nX-D:   \r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->find("X-A")->value, "spaced  value");
  EXPECT_EQ(r.head->find("X-B")->value, "tight");
  EXPECT_EQ(r.head->find("X-C")->value, "");
  EXPECT_EQ(r.head->find("X-D")->value, "");
}

TEST(RequestParser, ObsTextInValuesIsAllowed) {
  EXPECT_EQ(requestError(get("X-Name: caf\xc3\xa9\r\n")), kOk);
}

TEST(RequestParser, NeedsMoreUntilTheEmptyLine) {
  RequestParser parser;
  RequestHead head;
  EXPECT_EQ(parser.parse("", head), ParseStatus::need_more);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n", head), ParseStatus::need_more);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r", head), ParseStatus::need_more);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", head), ParseStatus::done);
  EXPECT_EQ(head.host, "a");
}

TEST(RequestParser, ResumesInACopiedBuffer) {
  // The caller may move its bytes between calls (same content, same start).
  const std::string in = get("X-Long: 0123456789\r\n");
  RequestParser parser;
  RequestHead head;
  std::string first = in.substr(0, 20);
  EXPECT_EQ(parser.parse(first, head), ParseStatus::need_more);
  std::string second = in;
  EXPECT_EQ(parser.parse(second, head), ParseStatus::done);
  EXPECT_EQ(head.find("X-Long")->value, "0123456789");
  EXPECT_EQ(head.method.data(), second.data());
}

TEST(RequestParser, Http10WithoutHostIsAccepted) {
  auto r = parseRequest("GET /x HTTP/1.0\r\nAccept: */*\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->version, Version::http10);
  EXPECT_EQ(r.head->host, "");
  EXPECT_FALSE(r.head->keep_alive);
}

TEST(RequestParser, Http10KeepAlive) {
  auto r = parseRequest("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_TRUE(r.head->keep_alive);
}

TEST(RequestParser, Http11ConnectionClose) {
  auto r = parseRequest(get("Connection: close\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->keep_alive);
}

TEST(RequestParser, CloseWinsOverKeepAlive) {
  auto r = parseRequest(get("Connection: keep-alive\r\nConnection: foo, CLOSE\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->keep_alive);
}

TEST(RequestParser, ConnectionToleratesEmptyListElements) {
  auto r = parseRequest(get("Connection: , close ,\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->keep_alive);
}

TEST(RequestParser, ConnectionWithNonTokenIsRejected) {
  EXPECT_EQ(requestError(get("Connection: keep alive\r\n")), k400);
}

TEST(RequestParser, ContentLengthBody) {
  auto r = parseRequest(post("Content-Length: 12\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::content_length);
  EXPECT_EQ(r.head->content_length, 12u);
}

TEST(RequestParser, ExplicitZeroContentLength) {
  auto r = parseRequest(post("Content-Length: 0\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::content_length);
  EXPECT_EQ(r.head->content_length, 0u);
}

TEST(RequestParser, LargestContentLength) {
  auto r = parseRequest(post("Content-Length: 9223372036854775807\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->content_length, 9223372036854775807u);
}

TEST(RequestParser, ChunkedBody) {
  auto r = parseRequest(post("Transfer-Encoding: chunked\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::chunked);
}

TEST(RequestParser, ChunkedIsCaseInsensitive) {
  auto r = parseRequest(post("transfer-encoding: Chunked\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::chunked);
}

TEST(RequestParser, TabBeforeTransferEncodingValueIsFine) {
  auto r = parseRequest(post("Transfer-Encoding:\tchunked\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::chunked);
}

TEST(RequestParser, ExpectContinue) {
  auto r = parseRequest(post("Content-Length: 5\r\nExpect: 100-Continue\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_TRUE(r.head->expect_continue);
}

TEST(RequestParser, ExpectContinueIgnoredForHttp10) {
  auto r = parseRequest("POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->expect_continue);
}

TEST(RequestParser, WebSocketUpgrade) {
  auto r = parseRequest(get("Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_TRUE(r.head->upgrade);
  EXPECT_EQ(r.head->upgrade_protocol, "websocket");
}

TEST(RequestParser, UpgradeHeaderWithoutConnectionTokenIsNoUpgrade) {
  auto r = parseRequest(get("Upgrade: websocket\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->upgrade);
}

TEST(RequestParser, ConnectionUpgradeWithoutUpgradeHeaderIsNoUpgrade) {
  auto r = parseRequest(get("Connection: upgrade\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->upgrade);
}

TEST(RequestParser, UpgradeIgnoredForHttp10) {
  auto r = parseRequest("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_FALSE(r.head->upgrade);
}

TEST(RequestParser, RequestIdIsTheFirstRawValue) {
  auto r = parseRequest(get("X-Request-Id: abc 123\r\nx-request-id: second\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->request_id, "abc 123");
}

TEST(RequestParser, LowercaseMethodIsAToken) {
  auto r = parseRequest("get / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->method, "get");
}

TEST(RequestParser, ExtensionMethod) {
  auto r = parseRequest("PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->method, "PROPFIND");
}

// --- request-target forms ---------------------------------------------------------------

TEST(RequestParser, AbsoluteFormUsesTheAuthorityAsHost) {
  auto r = parseRequest("GET http://api.example.com:8080/v1?x=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->target_form, TargetForm::absolute);
  EXPECT_EQ(r.head->host, "api.example.com:8080");
  EXPECT_EQ(r.head->target, "http://api.example.com:8080/v1?x=1");
}

TEST(RequestParser, AbsoluteFormHttpsWithoutPath) {
  auto r = parseRequest("GET HTTPS://Example.COM HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->host, "Example.COM");
}

TEST(RequestParser, AbsoluteFormWithQueryRightAfterAuthority) {
  auto r = parseRequest("GET http://a.b?x HTTP/1.1\r\nHost: a.b\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->host, "a.b");
}

TEST(RequestParser, AbsoluteFormStillNeedsHostInHttp11) {
  EXPECT_EQ(requestError("GET http://a.b/ HTTP/1.1\r\n\r\n"), k400);
}

TEST(RequestParser, AbsoluteFormWithUserinfoIsRejected) {
  EXPECT_EQ(requestError("GET http://user@a.b/ HTTP/1.1\r\nHost: a.b\r\n\r\n"), k400);
}

TEST(RequestParser, AbsoluteFormWithEmptyAuthorityIsRejected) {
  EXPECT_EQ(requestError("GET http:///x HTTP/1.1\r\nHost: a.b\r\n\r\n"), k400);
}

TEST(RequestParser, AbsoluteFormWithOtherSchemeIsRejected) {
  EXPECT_EQ(requestError("GET ftp://a.b/ HTTP/1.1\r\nHost: a.b\r\n\r\n"), k400);
}

TEST(RequestParser, AsteriskFormWithOptions) {
  auto r = parseRequest("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->target_form, TargetForm::asterisk);
}

TEST(RequestParser, AsteriskFormWithOtherMethodIsRejected) {
  EXPECT_EQ(requestError("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, AuthorityFormWithoutConnectIsRejected) {
  EXPECT_EQ(requestError("GET example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n"), k400);
}

TEST(RequestParser, RelativeTargetIsRejected) {
  EXPECT_EQ(requestError("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, ConnectIsNotImplemented) {
  EXPECT_EQ(requestError("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
            k501);
}

// --- request line strictness --------------------------------------------------------------

TEST(RequestParser, NonTokenMethodIsRejected) {
  EXPECT_EQ(requestError("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("G\"ET / HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, NonHttpBytesFailAtTheFirstByte) {
  // A TLS ClientHello on a plain-text port: no need to wait for a line end.
  auto r = parseRequest("\x16\x03\x01");
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.error, k400);
}

TEST(RequestParser, DoubleSpaceInRequestLineIsRejected) {
  EXPECT_EQ(requestError("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, TabSeparatorIsRejected) {
  EXPECT_EQ(requestError("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, LeadingSpaceIsRejected) {
  EXPECT_EQ(requestError(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, TrailingSpaceAfterVersionIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, TargetWithControlOrNonAsciiIsRejected) {
  EXPECT_EQ(requestError("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, NulInRequestLineIsRejected) {
  EXPECT_EQ(requestError("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s), k400);
}

TEST(RequestParser, Http09RequestLineIsRejected) {
  EXPECT_EQ(requestError("GET /\r\n\r\n"), k400);
}

TEST(RequestParser, Http12IsVersionNotSupported) {
  EXPECT_EQ(requestError("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), k505);
}

TEST(RequestParser, Http20IsVersionNotSupported) {
  EXPECT_EQ(requestError("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), k505);
  // The HTTP/2 connection preface's first part.
  EXPECT_EQ(requestError("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), k505);
}

TEST(RequestParser, Http09VersionIsVersionNotSupported) {
  EXPECT_EQ(requestError("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), k505);
}

TEST(RequestParser, MalformedVersionIsBadRequest) {
  EXPECT_EQ(requestError("GET / http/1.1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/11\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTPS/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, OneLeadingCrlfIsIgnored) {
  const std::string in = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  auto r = parseRequest(in);
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->method, "GET");
  EXPECT_EQ(r.head->head_bytes, in.size());
}

TEST(RequestParser, TwoLeadingCrlfsAreRejected) {
  EXPECT_EQ(requestError("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, LeadingBareLfIsRejected) {
  EXPECT_EQ(requestError("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
}

// --- header line strictness ---------------------------------------------------------------

TEST(RequestParser, ObsFoldIsRejected) {
  EXPECT_EQ(requestError(get("X-A: one\r\n two\r\n")), k400);
  EXPECT_EQ(requestError(get("X-A: one\r\n\ttwo\r\n")), k400);
}

TEST(RequestParser, WhitespaceLineBeforeFirstHeaderIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), k400);
}

TEST(RequestParser, BareLfInRequestLineIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\nHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, BareLfEndingAHeaderIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), k400);
}

TEST(RequestParser, BareLfAsFinalLineIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\n\n"), k400);
}

TEST(RequestParser, BareLfInsideAValueIsRejected) {
  // Smuggles "X-B: c" past a parser that splits lines on LF alone.
  EXPECT_EQ(requestError(get("X-A: b\nX-B: c\r\n")), k400);
}

TEST(RequestParser, BareCrInValueIsRejected) {
  EXPECT_EQ(requestError(get("X-A: b\rc\r\n")), k400);
}

TEST(RequestParser, BareCrBeforeCrlfIsRejected) {
  EXPECT_EQ(requestError(get("X-A: b\r\r\n")), k400);
}

TEST(RequestParser, BareCrInRequestLineIsRejected) {
  EXPECT_EQ(requestError("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\rHost: a\r\n\r\n"), k400);
}

TEST(RequestParser, BareCrInHeaderNameIsRejected) {
  EXPECT_EQ(requestError(get("X\r-A: b\r\n")), k400);
}

TEST(RequestParser, CrAloneAsFinalLineIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n"), k400);
}

TEST(RequestParser, WhitespaceBeforeColonIsRejected) {
  EXPECT_EQ(requestError(get("X-A : b\r\n")), k400);
  EXPECT_EQ(requestError(get("X-A\t: b\r\n")), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), k400);
}

TEST(RequestParser, EmptyHeaderNameIsRejected) {
  EXPECT_EQ(requestError(get(": b\r\n")), k400);
}

TEST(RequestParser, HeaderLineWithoutColonIsRejected) {
  EXPECT_EQ(requestError(get("X-A b\r\n")), k400);
  EXPECT_EQ(requestError(get("X-A\r\n")), k400);
}

TEST(RequestParser, NonTokenHeaderNameIsRejected) {
  EXPECT_EQ(requestError(get("X(A): b\r\n")), k400);
  EXPECT_EQ(requestError(get("X A: b\r\n")), k400);
  EXPECT_EQ(requestError(get("X\x01: b\r\n")), k400);
  EXPECT_EQ(requestError(get("X\xc3\xa4: b\r\n")), k400);
  EXPECT_EQ(requestError(get("X/A: b\r\n")), k400);
  EXPECT_EQ(requestError(get("X\"A\": b\r\n")), k400);
}

TEST(RequestParser, NulInValueIsRejected) {
  EXPECT_EQ(requestError(get("X-A: b\0c\r\n"s)), k400);
}

TEST(RequestParser, ControlCharactersInValueAreRejected) {
  EXPECT_EQ(requestError(get("X-A: b\x01\r\n")), k400);
  EXPECT_EQ(requestError(get("X-A: \x1b[31m\r\n")), k400);
  EXPECT_EQ(requestError(get("X-A: b\x7f\r\n")), k400);
  EXPECT_EQ(requestError(get("X-A: \x0b"
                             "b\r\n")),
            k400);
}

// --- Host ---------------------------------------------------------------------------------

TEST(RequestParser, MissingHostInHttp11IsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), k400);
}

TEST(RequestParser, MultipleHostHeadersAreRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), k400);
}

TEST(RequestParser, InvalidHostIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost:\r\n\r\n"), k400);
  EXPECT_EQ(requestError("GET / HTTP/1.0\r\nHost: \r\n\r\n"), k400);
}

TEST(RequestParser, HostWithPortAndIpLiteral) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"), kOk);
  auto r = parseRequest("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->host, "[::1]:80");
}

// --- framing (request smuggling) ----------------------------------------------------------

TEST(RequestParser, ClThenTeIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n")), k400);
}

TEST(RequestParser, TeThenClIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked\r\nContent-Length: 6\r\n")), k400);
}

TEST(RequestParser, TeWithZeroClIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n")), k400);
}

TEST(RequestParser, XchunkedIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: xchunked\r\n")), k400);
}

TEST(RequestParser, ChunkedWithSuffixIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunkedx\r\n")), k400);
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked-false\r\n")), k400);
}

TEST(RequestParser, SpaceBeforeTeColonIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding : chunked\r\n")), k400);
}

TEST(RequestParser, ChunkedThenIdentityIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked, identity\r\n")), k400);
}

TEST(RequestParser, IdentityAloneIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: identity\r\n")), k400);
}

TEST(RequestParser, UnknownCodingAloneIsRejected) {
  // chunked is not final, so the length is unknowable: 400 (RFC 9112 section 6.3).
  EXPECT_EQ(requestError(post("Transfer-Encoding: x-custom\r\n")), k400);
  EXPECT_EQ(requestError(post("Transfer-Encoding: gzip\r\n")), k400);
}

TEST(RequestParser, KnownFramingWithOtherCodingIsNotImplemented) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: gzip, chunked\r\n")), k501);
  EXPECT_EQ(requestError(post("Transfer-Encoding: x-custom, chunked\r\n")), k501);
}

TEST(RequestParser, ChunkedTwiceIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked, chunked\r\n")), k400);
}

TEST(RequestParser, DuplicateChunkedTeHeadersAreRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
            k400);
}

TEST(RequestParser, DuplicateTeHeadersCombineInOrder) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")), k400);
  EXPECT_EQ(requestError(post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")), k501);
}

TEST(RequestParser, EmptyTeIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding:\r\n")), k400);
  EXPECT_EQ(requestError(post("Transfer-Encoding: \r\n")), k400);
}

TEST(RequestParser, TeWithEmptyElementIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: , chunked\r\n")), k400);
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked,\r\n")), k400);
}

TEST(RequestParser, TeWithParametersIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked;q=1\r\n")), k400);
}

TEST(RequestParser, QuotedTeIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: \"chunked\"\r\n")), k400);
}

TEST(RequestParser, TeWithControlCharacterIsRejected) {
  EXPECT_EQ(requestError(post("Transfer-Encoding: \x0b"
                              "chunked\r\n")),
            k400);
  EXPECT_EQ(requestError(post("Transfer-Encoding: chunked\x00\r\n"s)), k400);
}

TEST(RequestParser, TeOnHttp10IsRejected) {
  EXPECT_EQ(requestError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), k400);
}

TEST(RequestParser, LookalikeTeNameIsAnOrdinaryHeader) {
  // Not a framing header for us, so not for the upstream either (it is forwarded as is).
  auto r = parseRequest(post("Transfer_Encoding: chunked\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::none);
}

TEST(RequestParser, SignedContentLengthIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: +5\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: -5\r\n")), k400);
}

TEST(RequestParser, HexContentLengthIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: 0x5\r\n")), k400);
}

TEST(RequestParser, NonDigitContentLengthIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: 5 5\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: 5.0\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: 1e3\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: five\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: \"5\"\r\n")), k400);
}

TEST(RequestParser, EmptyContentLengthIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length:\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: ,\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: 5,\r\n")), k400);
}

TEST(RequestParser, OverflowingContentLengthIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: 9223372036854775808\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: 18446744073709551616\r\n")), k400);
  EXPECT_EQ(requestError(post("Content-Length: 99999999999999999999999\r\n")), k400);
}

TEST(RequestParser, DifferingDuplicateContentLengthIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: 5\r\nContent-Length: 6\r\n")), k400);
}

TEST(RequestParser, DifferingContentLengthListIsRejected) {
  EXPECT_EQ(requestError(post("Content-Length: 5, 6\r\n")), k400);
}

TEST(RequestParser, IdenticalDuplicateContentLengthIsOneValue) {
  auto r = parseRequest(post("Content-Length: 5\r\ncontent-length: 5\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->body, BodyKind::content_length);
  EXPECT_EQ(r.head->content_length, 5u);
}

TEST(RequestParser, IdenticalContentLengthListIsOneValue) {
  auto r = parseRequest(post("Content-Length: 5, 5,05\r\n"));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->content_length, 5u);
}

// --- limits -------------------------------------------------------------------------------

TEST(RequestParser, HeadOneByteUnderTheLimitIsAccepted) {
  const std::string in = get("X-Pad: 0123456789\r\n");
  auto r = parseRequest(in, in.size() + 1);
  EXPECT_EQ(r.status, ParseStatus::done);
}

// A head must leave room behind it: one that fills max_header_bytes exactly is too large
// (with a body behind it, it used to leave the body no room and the connection closed
// silently instead of answering 431).
TEST(RequestParser, HeadExactlyAtTheLimitIs431) {
  const std::string in = get("X-Pad: 0123456789\r\n");
  auto r = parseRequest(in, in.size());
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.error, k431);
}

TEST(RequestParser, HeadOverTheLimitIs431) {
  const std::string in = get("X-Pad: 0123456789\r\n");
  auto r = parseRequest(in, in.size() - 1);
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.error, k431);
}

TEST(RequestParser, HeadOverTheLimitIs431WhileStillIncomplete) {
  RequestParser parser(64);
  RequestHead head;
  std::string in = "GET / HTTP/1.1\r\nX-Pad: " + std::string(100, 'a');
  EXPECT_EQ(parser.parse(in.substr(0, 63), head), ParseStatus::need_more);
  EXPECT_EQ(parser.parse(in.substr(0, 64), head), ParseStatus::error);
  EXPECT_EQ(parser.error(), k431);
}

TEST(RequestParser, LongRequestLineIs431) {
  std::string in = "GET /" + std::string(40000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  auto r = parseRequest(in, 32 * 1024);
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.error, k431);
}

std::string withHeaders(size_t n) {
  std::string lines;
  for (size_t i = 1; i < n; ++i) lines += "X-" + std::to_string(i) + ": v\r\n";
  return get(lines);  // + Host
}

TEST(RequestParser, MaxHeadersAreAccepted) {
  auto r = parseRequest(withHeaders(kMaxHeaders));
  ASSERT_EQ(r.status, ParseStatus::done);
  EXPECT_EQ(r.head->header_count, kMaxHeaders);
}

TEST(RequestParser, TooManyHeadersIs431) {
  EXPECT_EQ(requestError(withHeaders(kMaxHeaders + 1)), k431);
}

TEST(RequestParser, ResetAllowsANewLimit) {
  RequestParser parser(10);
  RequestHead head;
  const std::string in = get("");
  EXPECT_EQ(parser.parse(in, head), ParseStatus::error);
  parser.reset(1024);
  EXPECT_EQ(parser.parse(in, head), ParseStatus::done);
}

TEST(RequestParser, ErrorIsSticky) {
  RequestParser parser;
  RequestHead head;
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\nHost: a\r\n\r\n", head), ParseStatus::error);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", head), ParseStatus::error);
  parser.reset();
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", head), ParseStatus::done);
}

// --- pipelining and incremental parsing ---------------------------------------------------

TEST(RequestParser, PipelinedRequestsInOneBuffer) {
  const std::string in =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  RequestParser parser;
  RequestHead head;
  std::string_view rest = in;
  ASSERT_EQ(parser.parse(rest, head), ParseStatus::done);
  EXPECT_EQ(head.target, "/a");
  rest.remove_prefix(head.head_bytes);
  parser.reset();
  ASSERT_EQ(parser.parse(rest, head), ParseStatus::done);
  EXPECT_EQ(head.target, "/b");
  ASSERT_EQ(head.body, BodyKind::content_length);
  EXPECT_EQ(rest.substr(head.head_bytes, head.content_length), "abc");
  rest.remove_prefix(head.head_bytes + head.content_length);
  parser.reset();
  ASSERT_EQ(parser.parse(rest, head), ParseStatus::done);
  EXPECT_EQ(head.target, "/c");
  EXPECT_FALSE(head.keep_alive);
  EXPECT_EQ(head.head_bytes, rest.size());
}

void expectSameHead(const RequestHead& a, const RequestHead& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.version, b.version);
  ASSERT_EQ(a.header_count, b.header_count);
  for (uint32_t i = 0; i < a.header_count; ++i) {
    EXPECT_EQ(a.headers[i].name, b.headers[i].name);
    EXPECT_EQ(a.headers[i].value, b.headers[i].value);
  }
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.content_length, b.content_length);
  EXPECT_EQ(a.keep_alive, b.keep_alive);
  EXPECT_EQ(a.expect_continue, b.expect_continue);
  EXPECT_EQ(a.upgrade, b.upgrade);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.head_bytes, b.head_bytes);
}

const char* const kSplitMessages[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\nPOST /p?q HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n"
    "Expect: 100-continue\r\nX-Request-Id: r1\r\n\r\n0123456789",
    "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
};

TEST(RequestParser, ByteByByteEqualsAllAtOnce) {
  for (const char* msg : kSplitMessages) {
    SCOPED_TRACE(msg);
    auto whole = parseRequest(msg);
    auto split = parseRequestByteByByte(msg);
    ASSERT_EQ(whole.status, ParseStatus::done);
    ASSERT_EQ(split.status, ParseStatus::done);
    expectSameHead(*whole.head, *split.head);
  }
}

TEST(RequestParser, EverySplitPointEqualsAllAtOnce) {
  for (const char* msg : kSplitMessages) {
    const std::string in = msg;
    auto whole = parseRequest(in);
    ASSERT_EQ(whole.status, ParseStatus::done);
    for (size_t cut = 0; cut <= in.size(); ++cut) {
      SCOPED_TRACE(cut);
      RequestParser parser;
      RequestHead head;
      ParseStatus first = parser.parse(std::string_view(in).substr(0, cut), head);
      if (cut < whole.head->head_bytes) {
        ASSERT_EQ(first, ParseStatus::need_more);
        ASSERT_EQ(parser.parse(in, head), ParseStatus::done);
      } else {
        ASSERT_EQ(first, ParseStatus::done);
      }
      expectSameHead(*whole.head, head);
    }
  }
}

const char* const kBadMessages[] = {
    "GET / HTTP/1.1\r\nHost: a\r\nX: b\nY: c\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n",
};

TEST(RequestParser, ByteByByteGivesTheSameError) {
  for (const char* msg : kBadMessages) {
    SCOPED_TRACE(msg);
    auto whole = parseRequest(msg);
    auto split = parseRequestByteByByte(msg);
    ASSERT_EQ(whole.status, ParseStatus::error);
    ASSERT_EQ(split.status, ParseStatus::error);
    EXPECT_EQ(whole.error, split.error);
  }
}

// --- helpers ------------------------------------------------------------------------------

TEST(ParseError, StatusFor) {
  EXPECT_EQ(statusFor(ParseError::none), 0);
  EXPECT_EQ(statusFor(k400), 400);
  EXPECT_EQ(statusFor(k431), 431);
  EXPECT_EQ(statusFor(k501), 501);
  EXPECT_EQ(statusFor(k505), 505);
  EXPECT_EQ(toString(k431), "header_too_large");
}

TEST(Message, IdempotentMethods) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
    EXPECT_TRUE(isIdempotentMethod(m)) << m;
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", ""})
    EXPECT_FALSE(isIdempotentMethod(m)) << m;
}

}  // namespace
}  // namespace greenlb::proxy::http
