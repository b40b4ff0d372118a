// The parts of HTTP/1.1 head syntax that requests and responses share: the HTTP-version,
// header lines, and what the framing and connection headers say (RFC 9112 sections 2-7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/http/message.h"

namespace greenlb::proxy::http {

// What the header lines of one head said about framing and the connection. Filled by
// parseFields; the request and response parsers turn it into their head's fields.
struct FieldSummary {
  uint32_t content_length_count = 0;  // Content-Length header lines
  uint64_t content_length = 0;        // their (identical) value
  uint32_t transfer_encoding_count = 0;
  uint32_t chunked_count = 0;       // "chunked" elements over all Transfer-Encoding lines
  uint32_t other_coding_count = 0;  // any other coding
  bool chunked_last = false;        // the final coding is chunked
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  uint32_t host_count = 0;
  std::string_view host;        // the first Host value
  std::string_view upgrade;     // the first Upgrade value
  std::string_view expect;      // the first Expect value
  std::string_view request_id;  // the first X-Request-Id value
};

// Parses "HTTP/x.y" at p (8 bytes must be readable): bad_request when malformed,
// bad_version when well-formed but neither 1.0 nor 1.1.
ParseError parseVersion(const char* p, Version& version);

// Parses the header lines in [p, end), which must end with the head's final CRLF CRLF
// (or be just the final CRLF). Stores views in headers[0, count) and sums them up.
ParseError parseFields(const char* p, const char* end, Header* headers, uint32_t& count,
                       FieldSummary& summary);

// The message framing the headers declare: none, content_length or chunked. Rejects
// Transfer-Encoding with Content-Length, in HTTP/1.0, or without a final single chunked
// (bad_request), and other codings before chunked (not_implemented).
ParseError resolveFraming(const FieldSummary& summary, Version version, BodyKind& framing);

// Persistence by version and Connection tokens (RFC 9112 section 9.3).
inline bool keepAliveFor(const FieldSummary& summary, Version version) {
  if (summary.connection_close) return false;
  return version == Version::http11 || summary.connection_keep_alive;
}

}  // namespace greenlb::proxy::http
