#include "proxy/http/field_parser.h"

#include <limits>

#include "proxy/http/header_names.h"
#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {
namespace {

// Larger values cannot be a real body and would overflow the arithmetic of callers.
constexpr uint64_t kMaxContentLength = std::numeric_limits<int64_t>::max();

bool parseDecimal(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return false;  // no sign, no hex, no inner whitespace
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (kMaxContentLength - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// Content-Length may repeat (as lines or as a list, "5, 5") only with one value:
// RFC 9110 section 8.6 lets a recipient accept that as a single value, as HAProxy does;
// the head writers then forward one normalised Content-Length line.
bool addContentLength(std::string_view value, FieldSummary& s) {
  CommaSplitter items(value);
  for (std::string_view item; items.next(item);) {
    uint64_t v = 0;
    if (!parseDecimal(item, v)) return false;
    if (s.content_length_count > 0 && v != s.content_length) return false;
    s.content_length = v;
    ++s.content_length_count;
  }
  return true;
}

bool addTransferEncoding(std::string_view value, FieldSummary& s) {
  ++s.transfer_encoding_count;
  CommaSplitter items(value);
  for (std::string_view item; items.next(item);) {
    // Bare tokens only: no empty elements and no parameters, so every intermediary
    // reading this list agrees on where chunked is.
    if (!isToken(item)) return false;
    s.chunked_last = equalsIgnoreCase(item, "chunked");
    if (s.chunked_last)
      ++s.chunked_count;
    else
      ++s.other_coding_count;
  }
  return true;
}

bool addConnection(std::string_view value, FieldSummary& s) {
  CommaSplitter items(value);
  for (std::string_view item; items.next(item);) {
    if (item.empty()) continue;  // the list rule allows empty elements
    if (!isToken(item)) return false;
    if (equalsIgnoreCase(item, "close"))
      s.connection_close = true;
    else if (equalsIgnoreCase(item, "keep-alive"))
      s.connection_keep_alive = true;
    else if (equalsIgnoreCase(item, "upgrade"))
      s.connection_upgrade = true;
  }
  return true;
}

bool summarize(const Header& h, FieldSummary& s) {
  switch (headerId(h.name)) {
    case HeaderId::content_length:
      return addContentLength(h.value, s);
    case HeaderId::transfer_encoding:
      return addTransferEncoding(h.value, s);
    case HeaderId::connection:
      return addConnection(h.value, s);
    case HeaderId::host:
      if (s.host_count++ == 0) s.host = h.value;
      return true;
    case HeaderId::upgrade:
      if (s.upgrade.empty()) s.upgrade = h.value;
      return true;
    case HeaderId::expect:
      if (s.expect.empty()) s.expect = h.value;
      return true;
    case HeaderId::x_request_id:
      if (s.request_id.empty()) s.request_id = h.value;
      return true;
    default:
      return true;
  }
}

}  // namespace

ParseError parseVersion(const char* p, Version& version) {
  // HTTP-name is case-sensitive; exactly one digit each side of the dot.
  if (p[0] != 'H' || p[1] != 'T' || p[2] != 'T' || p[3] != 'P' || p[4] != '/' || !isDigit(p[5]) ||
      p[6] != '.' || !isDigit(p[7]))
    return ParseError::bad_request;
  if (p[5] != '1') return ParseError::bad_version;
  if (p[7] == '1') {
    version = Version::http11;
  } else if (p[7] == '0') {
    version = Version::http10;
  } else {
    return ParseError::bad_version;
  }
  return ParseError::none;
}

ParseError parseFields(const char* p, const char* end, Header* headers, uint32_t& count,
                       FieldSummary& summary) {
  count = 0;
  while (p < end) {
    if (*p == '\r') {  // the final empty line (the scanner found its LF)
      return end - p == 2 && p[1] == '\n' ? ParseError::none : ParseError::bad_request;
    }
    // field-name ":" with nothing in between: this also rejects obs-fold (a line starting
    // with SP/HTAB), empty names, and whitespace before the colon.
    const char* name = p;
    while (p < end && isTokenChar(*p)) ++p;
    if (p == name || p == end || *p != ':') return ParseError::bad_request;
    const char* name_end = p++;
    while (p < end && isOws(*p)) ++p;
    const char* value = p;
    p = skipFieldValueChars(p, end);
    // The value ends at CRLF; anything else here is a CTL, NUL or a bare CR.
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return ParseError::bad_request;
    const char* value_end = p;
    while (value_end > value && isOws(value_end[-1])) --value_end;
    p += 2;
    if (count == kMaxHeaders) return ParseError::header_too_large;
    Header& h = headers[count++];
    h.name = std::string_view(name, name_end - name);
    h.value = std::string_view(value, value_end - value);
    if (!summarize(h, summary)) return ParseError::bad_request;
  }
  return ParseError::bad_request;  // no final empty line
}

ParseError resolveFraming(const FieldSummary& s, Version version, BodyKind& framing) {
  if (s.transfer_encoding_count > 0) {
    // HTTP/1.0 has no transfer codings: such a message's framing is faulty (RFC 9112 6.1).
    if (version == Version::http10) return ParseError::bad_request;
    // Both framings present is the classic request smuggling set-up.
    if (s.content_length_count > 0) return ParseError::bad_request;
    // The length is unknowable unless chunked is final, and chunked applies at most once.
    if (!s.chunked_last || s.chunked_count != 1) return ParseError::bad_request;
    if (s.other_coding_count > 0) return ParseError::not_implemented;
    framing = BodyKind::chunked;
  } else if (s.content_length_count > 0) {
    framing = BodyKind::content_length;
  } else {
    framing = BodyKind::none;
  }
  return ParseError::none;
}

}  // namespace greenlb::proxy::http
