// Types shared by the HTTP/1.1 parsers and head writers. Parsed heads hold views into the
// caller's buffer: they stay valid only while that buffer keeps the head bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace greenlb::proxy::http {

// More header lines than this is answered with 431.
inline constexpr size_t kMaxHeaders = 100;
// Heads an upstream may send us; larger is a broken response (502).
inline constexpr size_t kMaxResponseHeadBytes = size_t{32} * 1024;
// Room for a rewritten head: the received one plus the headers the proxy adds.
inline constexpr size_t kHeadRewriteSlack = 2048;
// Used when the caller gives no limit; the listener's max_header_bytes default
// (docs/configuration.md, "[listener.limits]").
inline constexpr size_t kDefaultMaxHeadBytes = size_t{32} * 1024;

// One header line. Both views point into the caller's buffer; value has no leading or
// trailing whitespace (OWS).
struct Header {
  std::string_view name, value;
};

enum class Version : uint8_t { http10, http11 };

// How the message body is delimited.
enum class BodyKind : uint8_t { none, content_length, chunked, until_close };

enum class ParseError : uint8_t {
  none,
  bad_request,       // 400 (502 when an upstream sent it)
  header_too_large,  // 431: head over the limit or more than kMaxHeaders lines
  not_implemented,   // 501: CONNECT, well-formed transfer codings other than chunked
  bad_version,       // 505: a well-formed HTTP-version other than 1.0 and 1.1
};

// The status a proxy-made response carries for a client request that failed to parse:
// 400, 431, 501 or 505 (0 for ParseError::none).
int statusFor(ParseError e);

// A short name for logs ("bad_request", ...).
std::string_view toString(ParseError e);

enum class ParseStatus : uint8_t { done, need_more, error };

// The four request-target forms of RFC 9112 section 3.2.
enum class TargetForm : uint8_t { origin, absolute, authority, asterisk };

// Looks a header up by name (case-insensitive); nullptr when absent. The first of several.
const Header* findHeader(std::span<const Header> headers, std::string_view name);

struct RequestHead {
  std::string_view method, target;
  Version version = Version::http11;
  TargetForm target_form = TargetForm::origin;
  Header headers[kMaxHeaders];
  uint32_t header_count = 0;
  // none, content_length or chunked: requests are never until_close. content_length with
  // content_length == 0 means an explicit "Content-Length: 0".
  BodyKind body = BodyKind::none;
  uint64_t content_length = 0;
  bool keep_alive = false;       // by version and the Connection tokens close / keep-alive
  bool expect_continue = false;  // "Expect: 100-continue" on an HTTP/1.1 request
  bool upgrade = false;  // HTTP/1.1, Connection lists "upgrade" and an Upgrade header exists
  std::string_view upgrade_protocol;  // the (first) Upgrade header's value
  // Host header value, or the authority of an absolute-form target (which wins over a
  // differing Host header, RFC 9112 section 3.2.2). Empty for HTTP/1.0 without Host.
  std::string_view host;
  std::string_view request_id;  // X-Request-Id as received (first), unvalidated
  size_t head_bytes = 0;        // bytes of the head including the final CRLF CRLF
  // HTTP/2: `host` is the request's :authority; forwarded as Host, never as a Host field.
  bool host_from_authority = false;

  std::span<const Header> fields() const { return {headers, header_count}; }
  const Header* find(std::string_view name) const { return findHeader(fields(), name); }
};

struct ResponseHead {
  Version version = Version::http11;
  int status = 0;
  std::string_view reason;
  Header headers[kMaxHeaders];
  uint32_t header_count = 0;
  // What follows the head: none for HEAD requests, 1xx, 204 and 304 whatever the headers
  // say; until_close when neither Content-Length nor Transfer-Encoding is present.
  BodyKind body = BodyKind::none;
  // What the framing headers declared (none, content_length or chunked) even when no body
  // follows, so a HEAD or 304 response keeps its Content-Length when forwarded.
  BodyKind framing = BodyKind::none;
  uint64_t content_length = 0;
  bool keep_alive = false;  // by version and Connection tokens; false when until_close
  bool upgrade = false;     // 101 Switching Protocols: the connection becomes a tunnel
  size_t head_bytes = 0;

  std::span<const Header> fields() const { return {headers, header_count}; }
  const Header* find(std::string_view name) const { return findHeader(fields(), name); }
};

// GET, HEAD, OPTIONS, PUT, DELETE and TRACE: the methods a retry may repeat
// (docs/proxying.md, "Retries").
bool isIdempotentMethod(std::string_view method);

}  // namespace greenlb::proxy::http
