#include "proxy/http/head_writer.h"

#include <algorithm>

#include "proxy/http/buffer_writer.h"
#include "proxy/http/header_names.h"
#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {
namespace {

// Marks the headers named by Connection tokens (RFC 9110 section 7.6.1).
void markConnectionListed(std::span<const Header> headers, bool (&listed)[kMaxHeaders]) {
  for (size_t i = 0; i < headers.size(); ++i) listed[i] = false;
  for (const Header& connection : headers) {
    if (connection.name.size() != 10 || !equalsIgnoreCase(connection.name, "connection")) continue;
    CommaSplitter tokens(connection.value);
    for (std::string_view token; tokens.next(token);) {
      if (token.empty()) continue;
      for (size_t i = 0; i < headers.size(); ++i)
        if (equalsIgnoreCase(headers[i].name, token)) listed[i] = true;
    }
  }
}

void putFraming(BufferWriter& w, BodyKind framing, uint64_t content_length) {
  if (framing == BodyKind::content_length) {
    w.put("Content-Length: ");
    w.putDecimal(content_length);
    w.put("\r\n");
  } else if (framing == BodyKind::chunked) {
    w.put("Transfer-Encoding: chunked\r\n");
  }
}

// What the copy of the received headers leaves out or replaces, per direction.
struct CopyRules {
  BodyKind framing;  // written once, where the first Content-Length/Transfer-Encoding was
  uint64_t content_length;
  bool keep_upgrade;
  bool drop_expect;
  bool drop_host;
  bool drop_forwarded;  // X-Forwarded-*: the request writer appends its own
};

// Without header rules the loop is the same as before they existed: whether there are any
// is decided once per head, not per field.
template <bool kWithRules>
void copyHeaders(BufferWriter& w, std::span<const Header> headers, const CopyRules& rules,
                 const HeaderRules* header_rules) {
  bool listed[kMaxHeaders];
  markConnectionListed(headers, listed);
  bool framing_written = false;
  for (size_t i = 0; i < headers.size(); ++i) {
    const Header& h = headers[i];
    bool keep = !listed[i];
    switch (headerId(h.name)) {
      case HeaderId::content_length:
      case HeaderId::transfer_encoding:
        // Normalised ("5, 5" becomes one value, "Chunked" becomes "chunked") so the next
        // hop cannot read the framing differently from us.
        if (!framing_written) putFraming(w, rules.framing, rules.content_length);
        framing_written = true;
        keep = false;
        break;
      case HeaderId::host:
        // Connection tokens never remove framing or Host: only our own rules do.
        keep = !rules.drop_host;
        break;
      case HeaderId::upgrade:
        keep = rules.keep_upgrade;
        break;
      case HeaderId::expect:
        keep = keep && !rules.drop_expect;
        break;
      case HeaderId::connection:
      case HeaderId::keep_alive:
      case HeaderId::proxy_connection:
      case HeaderId::te:
      case HeaderId::trailer:
      case HeaderId::x_request_id:  // always replaced
        keep = false;
        break;
      case HeaderId::x_forwarded_for:
      case HeaderId::x_forwarded_proto:
      case HeaderId::x_forwarded_host:
        keep = keep && !rules.drop_forwarded;
        break;
      case HeaderId::other:
        break;
    }
    if constexpr (kWithRules) {
      if (keep && header_rules->drops(h.name)) keep = false;
    }
    if (keep) w.putHeader(h.name, h.value);
  }
  if (!framing_written) putFraming(w, rules.framing, rules.content_length);
}

void copyHeaders(BufferWriter& w, std::span<const Header> headers, const CopyRules& rules,
                 const HeaderRules* header_rules) {
  if (header_rules == nullptr) {
    copyHeaders<false>(w, headers, rules, nullptr);
  } else {
    copyHeaders<true>(w, headers, rules, header_rules);
  }
}

// The fields the rules set and add, values expanded.
void putRuleFields(BufferWriter& w, const HeaderRules& rules, const RuleVars& vars) {
  for (size_t i = 0; i < rules.fieldCount(); ++i) {
    HeaderRules::Field f = rules.field(i);
    w.put(f.name);
    w.put(": ");
    rules.expand(f, vars, [&](std::string_view piece) { w.put(piece); });
    w.put("\r\n");
  }
}

// A field the proxy writes itself, unless a rule removes or sets it.
bool writesOwn(const HeaderRules* rules, HeaderId id) {
  return rules == nullptr || !rules->drops(id);
}

void putForwardedFor(BufferWriter& w, std::span<const Header> headers, std::string_view client_ip) {
  bool any = false;
  for (const Header& h : headers) {
    if (h.value.empty() || headerId(h.name) != HeaderId::x_forwarded_for) continue;
    w.put(any ? ", " : "X-Forwarded-For: ");
    w.put(h.value);
    any = true;
  }
  if (!client_ip.empty()) {
    w.put(any ? ", " : "X-Forwarded-For: ");
    w.put(client_ip);
    any = true;
  }
  if (any) w.put("\r\n");
}

}  // namespace

size_t writeUpstreamRequestHead(const RequestHead& head, const ForwardInfo& info,
                                std::span<char> out) {
  BufferWriter w(out);
  w.put(head.method);
  w.put(" ");
  if (info.rewrite.active()) {
    size_t at = pathOffset(head.target);
    size_t rest = std::min(head.target.size(), at + info.rewrite.prefix_len);
    w.put(head.target.substr(0, at));
    w.put(info.rewrite.with);
    w.put(head.target.substr(rest));
  } else {
    w.put(head.target);
  }
  w.put(" HTTP/1.1\r\n");
  // For an absolute-form target, and for HTTP/2's :authority, Host is the authority.
  const bool absolute = head.target_form == TargetForm::absolute || head.host_from_authority;
  if (absolute) w.putHeader("Host", head.host);
  // The request goes out as HTTP/1.1, which requires Host: an HTTP/1.0 client that sent
  // none gets the upstream's authority (as nginx's proxy_set_header Host default does).
  if (head.host.empty() && !info.default_host.empty()) w.putHeader("Host", info.default_host);
  copyHeaders(w, head.fields(),
              CopyRules{.framing = head.body,
                        .content_length = head.content_length,
                        .keep_upgrade = info.upgrade,
                        // HTTP/1.0 expectations are to be ignored (RFC 9110 10.1.1); sent
                        // upstream as 1.1 they would come alive.
                        .drop_expect = info.drop_expect || head.version == Version::http10,
                        .drop_host = absolute,
                        .drop_forwarded = true},
              info.rules);
  if (info.upgrade) w.put("Connection: upgrade\r\n");
  const HeaderRules* rules = info.rules;
  if (writesOwn(rules, HeaderId::x_forwarded_for))
    putForwardedFor(w, head.fields(), info.client_ip);
  if (!info.proto.empty() && writesOwn(rules, HeaderId::x_forwarded_proto)) {
    w.putHeader("X-Forwarded-Proto", info.proto);
  }
  if (!head.host.empty() && writesOwn(rules, HeaderId::x_forwarded_host)) {
    w.putHeader("X-Forwarded-Host", head.host);
  }
  if (!info.request_id.empty() && writesOwn(rules, HeaderId::x_request_id)) {
    w.putHeader("X-Request-Id", info.request_id);
  }
  if (rules != nullptr) putRuleFields(w, *rules, *info.vars);
  w.put("\r\n");
  return w.finish();
}

size_t writeClientResponseHead(const ResponseHead& head, const ResponseInfo& info,
                               std::span<char> out) {
  BufferWriter w(out);
  w.put("HTTP/1.1 ");
  w.putDecimal(static_cast<uint64_t>(head.status));
  w.put(" ");
  w.put(head.reason);
  w.put("\r\n");
  copyHeaders(w, head.fields(),
              CopyRules{.framing = info.dechunk ? BodyKind::none : head.framing,
                        .content_length = head.content_length,
                        .keep_upgrade = head.upgrade,
                        .drop_expect = false,
                        .drop_host = false,
                        .drop_forwarded = false},
              info.rules);
  if (head.upgrade)
    w.put("Connection: upgrade\r\n");
  else if (!info.keep_alive || info.dechunk)
    w.put("Connection: close\r\n");
  else if (info.client_is_http10)
    w.put("Connection: keep-alive\r\n");
  if (!info.request_id.empty() && writesOwn(info.rules, HeaderId::x_request_id)) {
    w.putHeader("X-Request-Id", info.request_id);
  }
  if (!info.set_cookie.empty()) w.putHeader("Set-Cookie", info.set_cookie);
  if (info.rules != nullptr) putRuleFields(w, *info.rules, *info.vars);
  w.put("\r\n");
  return w.finish();
}

}  // namespace greenlb::proxy::http
