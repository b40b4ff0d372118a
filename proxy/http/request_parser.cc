#include "proxy/http/request_parser.h"

#include "proxy/http/field_parser.h"
#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {
namespace {

// uri-host [":" port] characters (RFC 3986 reg-name, IP-literal, pct-encoding). Anything
// else (whitespace, '/', '@', '?') would let a Host value mislead routing or logs.
constexpr auto kHostTable = detail::makeTable([](unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("-._~!$&'()*+,;=%:[]").find(static_cast<char>(c)) !=
         std::string_view::npos;
});

bool isValidHost(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host)
    if (!kHostTable[static_cast<unsigned char>(c)]) return false;
  return true;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// The request-target's form; for absolute-form also its authority. bad_request when the
// form does not fit the method.
ParseError classifyTarget(std::string_view method, std::string_view target, TargetForm& form,
                          std::string_view& authority) {
  if (target.front() == '/') {
    form = TargetForm::origin;
    return ParseError::none;
  }
  if (target == "*") {
    form = TargetForm::asterisk;
    return method == "OPTIONS" ? ParseError::none : ParseError::bad_request;
  }
  size_t scheme = 0;
  if (startsWithIgnoreCase(target, "http://"))
    scheme = 7;
  else if (startsWithIgnoreCase(target, "https://"))
    scheme = 8;
  if (scheme == 0) {
    // authority-form belongs to CONNECT alone, which the caller already refused.
    form = TargetForm::authority;
    return ParseError::bad_request;
  }
  form = TargetForm::absolute;
  std::string_view rest = target.substr(scheme);
  authority = rest.substr(0, rest.find_first_of("/?#"));
  // userinfo ('@') is deprecated in http URIs and a favourite of spoofing.
  return isValidHost(authority) && authority.find('@') == std::string_view::npos
             ? ParseError::none
             : ParseError::bad_request;
}

}  // namespace

ParseStatus RequestParser::parse(std::string_view buf, RequestHead& out) {
  // Refuse non-HTTP bytes (a TLS ClientHello, binary garbage) at once instead of waiting
  // for a line end that may never come: a request starts with a method or the CRLF that
  // may precede it.
  if (!buf.empty() && !isTokenChar(buf[0]) && buf[0] != '\r')
    return scanner_.fail(ParseError::bad_request);
  return scanAndParse(scanner_, buf, [&](std::string_view head) { return parseHead(head, out); });
}

ParseError RequestParser::parseHead(std::string_view head, RequestHead& out) const {
  // The head ends in CRLF CRLF, so the scans below stop at a CR at the latest.
  const char* p = head.data() + scanner_.start();
  const char* const end = head.data() + head.size();

  // request-line = method SP request-target SP HTTP-version CRLF, single spaces.
  const char* method = p;
  while (isTokenChar(*p)) ++p;
  if (p == method || *p != ' ') return ParseError::bad_request;
  out.method = std::string_view(method, p - method);
  const char* target = ++p;
  p = skipTargetChars(p, end);
  // A line without a version is HTTP/0.9, which we do not speak: 400 like any other
  // malformed request line.
  if (p == target || *p != ' ') return ParseError::bad_request;
  out.target = std::string_view(target, p - target);
  ++p;
  if (end - p < 10) return ParseError::bad_request;
  if (ParseError e = parseVersion(p, out.version); e != ParseError::none) return e;
  p += 8;
  if (p[0] != '\r' || p[1] != '\n') return ParseError::bad_request;
  p += 2;
  // We are a reverse proxy, not a forward one.
  if (out.method == "CONNECT") return ParseError::not_implemented;

  std::string_view authority;
  if (ParseError e = classifyTarget(out.method, out.target, out.target_form, authority);
      e != ParseError::none)
    return e;

  FieldSummary s;
  if (ParseError e = parseFields(p, end, out.headers, out.header_count, s); e != ParseError::none)
    return e;

  // Exactly one valid Host; HTTP/1.1 requires it (RFC 9112 section 3.2).
  if (s.host_count > 1) return ParseError::bad_request;
  if (s.host_count == 1 && !isValidHost(s.host)) return ParseError::bad_request;
  if (s.host_count == 0 && out.version == Version::http11) return ParseError::bad_request;
  out.host = out.target_form == TargetForm::absolute ? authority : s.host;

  BodyKind framing = BodyKind::none;
  if (ParseError e = resolveFraming(s, out.version, framing); e != ParseError::none) return e;
  out.body = framing;
  out.content_length = framing == BodyKind::content_length ? s.content_length : 0;

  const bool http11 = out.version == Version::http11;
  out.keep_alive = keepAliveFor(s, out.version);
  // HTTP/1.0 requests cannot carry either (RFC 9110 sections 10.1.1 and 7.8).
  out.expect_continue = http11 && equalsIgnoreCase(s.expect, "100-continue");
  out.upgrade = http11 && s.connection_upgrade && !s.upgrade.empty();
  out.upgrade_protocol = s.upgrade;
  out.request_id = s.request_id;
  out.head_bytes = head.size();
  return ParseError::none;
}

}  // namespace greenlb::proxy::http
