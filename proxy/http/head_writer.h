// Rewrites parsed heads for the other side of the proxy: hop-by-hop headers out,
// forwarding headers in, framing normalised. Writes into a caller-provided fixed buffer
// and never allocates.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "proxy/http/header_rules.h"
#include "proxy/http/message.h"

namespace greenlb::proxy::http {

struct ForwardInfo {
  std::string_view client_ip;   // appended to X-Forwarded-For
  std::string_view proto;       // "http" or "https": X-Forwarded-Proto
  std::string_view request_id;  // X-Request-Id sent upstream (replaces the client's)
  bool upgrade = false;         // tunnelling: keep Upgrade, send "Connection: upgrade"
  bool drop_expect = false;     // the proxy answers Expect itself
  std::string_view default_host{};  // Host to send when the request has none (HTTP/1.0)
  // The route's request_headers, applied after the proxy's own fields (null: none), and
  // the values of their variables; the route's rewrite_prefix.
  const HeaderRules* rules = nullptr;
  const RuleVars* vars = nullptr;
  PrefixRewrite rewrite{};
};

// The request head to send upstream: the original method and target, always HTTP/1.1
// (keep-alive, so no Connection header unless upgrading). Copies end-to-end headers in
// order; drops Connection and the headers it lists, Keep-Alive, Proxy-Connection, TE,
// Trailer, Upgrade (unless upgrading) and Expect (when asked, and always for HTTP/1.0); writes the
// framing as one normalised Content-Length or "Transfer-Encoding: chunked" line where the first
// framing header was; for an absolute-form target, Host becomes its authority (RFC 9112 3.2.2);
// then appends X-Forwarded-For (received values joined with ", ", then client_ip),
// X-Forwarded-Proto, X-Forwarded-Host (= head.host) and X-Request-Id, replacing
// received ones. Connection tokens cannot remove Host, Content-Length or
// Transfer-Encoding. Header rules then drop the fields they remove or set (received or the
// proxy's own) and append the ones they set and add; a prefix rewrite changes the target.
// Returns the bytes written, 0 when out is too small.
size_t writeUpstreamRequestHead(const RequestHead& head, const ForwardInfo& info,
                                std::span<char> out);

struct ResponseInfo {
  std::string_view request_id;  // X-Request-Id returned (replaces the upstream's)
  bool keep_alive = true;       // the proxy's decision for the client connection
  bool client_is_http10 = false;
  // HTTP/1.0 client and chunked response: no Transfer-Encoding, the body is sent
  // de-chunked and close-delimited (implies Connection: close).
  bool dechunk = false;
  // The route's response_headers (null: none), applied after X-Request-Id.
  const HeaderRules* rules = nullptr;
  const RuleVars* vars = nullptr;
  // A sticky session's cookie (the whole Set-Cookie value), written after X-Request-Id;
  // empty = none. At most kMaxStickyCookieBytes.
  std::string_view set_cookie;
};
inline constexpr size_t kMaxStickyCookieBytes = 256;

// The response head to send to the client: "HTTP/1.1 status reason", headers as for
// requests (Upgrade kept for a 101, which gets "Connection: upgrade"), X-Request-Id set,
// "Connection: close" when not keeping the client connection, "Connection: keep-alive"
// for a kept HTTP/1.0 client. Returns the bytes written, 0 when out is too small.
size_t writeClientResponseHead(const ResponseHead& head, const ResponseInfo& info,
                               std::span<char> out);

}  // namespace greenlb::proxy::http
