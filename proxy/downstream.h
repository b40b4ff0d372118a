// The client side of one exchange: an HTTP/1.1 connection's current request, or one HTTP/2
// stream (docs/architecture.md, "One exchange for every protocol"). HttpExchange routes,
// balances, retries, times out, rewrites, counts and logs against this interface alone, the
// way HAProxy's streams see HTX and Envoy's router never sees a codec.
#pragma once

#include <span>
#include <string_view>

#include "core/result.h"
#include "core/socket.h"
#include "core/time.h"
#include "proxy/http/header_rules.h"
#include "proxy/http/message.h"
#include "proxy/message_body.h"

namespace greenlb::proxy {

class H1Downstream;
class HubContext;

class Downstream {
 public:
  virtual ~Downstream() = default;

  // The request head; its views stay valid for the whole exchange. An HTTP/2 request is
  // presented as HTTP/1.1 would carry it (Host from :authority, cookies joined).
  virtual const http::RequestHead& head() const = 0;
  virtual std::string_view protocol() const = 0;  // "HTTP/1.1", "HTTP/1.0", "HTTP/2.0"
  virtual const core::SocketAddress& peer() const = 0;
  // The client connection's socket (a PROXY header sent upstream names its local address),
  // or null where there is none.
  virtual const core::Stream* socket() const { return nullptr; }
  virtual bool tls() const = 0;
  virtual HubContext& hub() = 0;
  // The HTTP/1.1 connection itself, for the byte-level path between two HTTP/1.1 sides;
  // null for HTTP/2.
  virtual H1Downstream* http1() { return nullptr; }

  // --- the request body ---
  // All of the body is in hand (none, or buffered whole): it can be sent again on a retry.
  virtual bool bodyInHand() const = 0;
  // That body (empty for none). Valid until takeBodyInHand().
  virtual std::string_view bodyInHandView() const = 0;
  // Done with the body in hand: no retry will send it again.
  virtual void takeBodyInHand() = 0;
  // The body when not all of it is in hand, as payload. A first read answers
  // "Expect: 100-continue" where the codec needs it.
  virtual BodySource& requestBody() = 0;
  // Nothing of the request is left to read from the client.
  virtual bool requestBodyDone() const = 0;
  virtual void setRequestBodyDone() = 0;
  // Bytes of the request's body taken from the client so far (framing included).
  virtual uint64_t bytesReceived() const = 0;

  // --- the response ---
  // The upstream's response head, rewritten for this client (hop-by-hop headers out,
  // X-Request-Id set); the body follows through responseBody().
  virtual core::Status sendResponseHead(const http::ResponseHead& head,
                                        std::string_view request_id) = 0;
  virtual BodySink& responseBody() = 0;
  // A response greenlb makes itself (docs/security.md: short, generic, with the request
  // id); `grpc`: as a gRPC trailers-only response where the protocol allows.
  // `retry_after`: seconds for a Retry-After header (0 = none). Returns the bytes sent, 0
  // when the client is gone.
  virtual size_t sendError(int status, std::string_view request_id, uint32_t retry_after) = 0;
  // The response (or a part of it) went out: an error now can only cut the stream.
  virtual bool responseStarted() const = 0;
  // The response was cut half way: end the client's stream abruptly.
  virtual void abortResponse() = 0;

  // The matched route's response_headers and their variables' values (docs/proxying.md,
  // "Header rules and prefix rewrite"), set by the exchange before the upstream's response
  // head is sent; not applied to the responses greenlb makes (sendError). Both outlive
  // the exchange's use of this Downstream.
  void setResponseRules(const http::HeaderRules* rules, const http::RuleVars* vars) {
    response_rules_ = rules;
    rule_vars_ = vars;
  }
  // A Set-Cookie value to add to the upstream's response head ([upstream.sticky],
  // docs/balancing.md "Sticky sessions"); empty = none. Lives in the exchange.
  void setStickyCookie(std::string_view value) { sticky_cookie_ = value; }

 protected:
  const http::HeaderRules* response_rules_ = nullptr;  // null: none
  const http::RuleVars* rule_vars_ = nullptr;
  std::string_view sticky_cookie_;
};

}  // namespace greenlb::proxy
