#include "proxy/http/response_parser.h"

#include "proxy/http/field_parser.h"
#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {

ParseStatus ResponseParser::parse(std::string_view buf, ResponseHead& out) {
  // Fail fast on a peer that does not speak HTTP/1.x at all.
  if (!buf.empty() && buf[0] != 'H') return scanner_.fail(ParseError::bad_request);
  return scanAndParse(scanner_, buf, [&](std::string_view head) { return parseHead(head, out); });
}

ParseError ResponseParser::parseHead(std::string_view head, ResponseHead& out) const {
  const char* p = head.data();
  const char* const end = p + head.size();

  // status-line = HTTP-version SP 3DIGIT SP [reason-phrase] CRLF. The SP before an empty
  // reason is often left out by servers; accept that (the CRLF still ends the line).
  if (end - p < 14) return ParseError::bad_request;  // "HTTP/1.1 200" CRLF CRLF
  if (ParseError e = parseVersion(p, out.version); e != ParseError::none) return e;
  p += 8;
  if (p[0] != ' ' || !isDigit(p[1]) || !isDigit(p[2]) || !isDigit(p[3]))
    return ParseError::bad_request;
  out.status = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
  if (out.status < 100 || out.status > 599) return ParseError::bad_request;
  p += 4;
  const char* reason = p;
  if (*p == ' ') {
    reason = ++p;
    p = skipFieldValueChars(p, end);
  }
  if (p[0] != '\r' || p[1] != '\n') return ParseError::bad_request;
  out.reason = std::string_view(reason, p - reason);
  p += 2;

  FieldSummary s;
  if (ParseError e = parseFields(p, end, out.headers, out.header_count, s); e != ParseError::none)
    return e;
  BodyKind framing = BodyKind::none;
  if (ParseError e = resolveFraming(s, out.version, framing); e != ParseError::none) return e;
  out.framing = framing;
  out.content_length = framing == BodyKind::content_length ? s.content_length : 0;

  // RFC 9112 section 6.3: these never have a body whatever the headers say.
  const bool bodiless = head_request_ || out.status < 200 || out.status == 204 || out.status == 304;
  if (bodiless)
    out.body = BodyKind::none;
  else if (framing == BodyKind::none)
    out.body = BodyKind::until_close;
  else
    out.body = framing;
  out.upgrade = out.status == 101;
  out.keep_alive =
      !out.upgrade && out.body != BodyKind::until_close && keepAliveFor(s, out.version);
  out.head_bytes = head.size();
  return ParseError::none;
}

}  // namespace greenlb::proxy::http
