// One HTTP request forwarded to an upstream and its response relayed back, whatever the
// client's protocol (docs/architecture.md, "One exchange for every protocol"): route, pick
// an endpoint, reuse or open a connection, send the head and the body, wait for the first
// response byte under the response timeout, relay the response; count and log. Failures
// before anything reached the client become retries where that is safe, else 502/503/504.
// The client side is a Downstream (an HTTP/1.1 connection or an HTTP/2 stream).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "core/time.h"
#include "core/timeout.h"
#include "proxy/buffer_pool.h"
#include "proxy/downstream.h"
#include "proxy/h2/stream_handle.h"
#include "proxy/http/head_writer.h"
#include "proxy/http/message.h"
#include "proxy/http/request_id.h"
#include "proxy/input_window.h"
#include "proxy/router.h"
#include "proxy/upstream_attempts.h"
#include "proxy/upstream_pool.h"

namespace greenlb::proxy {

class Generation;
struct ListenerPlan;
struct RateLimit;

class HttpExchange {
 public:
  // `started`: when the request began (its head's first byte was awaited).
  HttpExchange(Downstream& down, Generation& gen, const ListenerPlan& plan,
               core::TimePoint started);
  ~HttpExchange();

  // Runs the exchange to its end, response sent (or cut) and the request counted and
  // logged.
  void run();

 private:
  enum class Attempt : uint8_t { done, retry, failed };

  // The request's body framing as far as it arrived with the head: a malformed chunked
  // body, or one already over max_body_bytes, is answered before any upstream sees the
  // head. False when it answered.
  bool checkBodyInHand();
  // Whether `limit` turns the request away (answered 429 with Retry-After, counted).
  bool rateLimited(const RateLimit& limit);
  // A response head from `ep` arrived: counted, and told to outlier detection. True when
  // its status is retried (the caller lets go of the attempt).
  bool countResponse(balancer::Endpoint& ep);
  // The client's address as text (X-Forwarded-For, rules, rate limits, the access log).
  std::string_view clientIp();
  // [upstream.sticky]: the response from `ep` sets the cookie naming it, unless the
  // request's cookie named it already.
  void stickToEndpoint(const balancer::Upstream& up, const balancer::Endpoint& ep);
  void forward(balancer::Upstream& up);
  // One try on the endpoint attempts_ picked: connect (or reuse), send, await and relay.
  Attempt attempt(balancer::Upstream& up);
  // The same over an HTTP/2 upstream (protocol = "http2"): a stream on a shared
  // connection; a body not in hand streams alongside the response (gRPC streaming calls
  // go both ways at once).
  Attempt attemptH2(balancer::Upstream& up);
  // The rewritten request head's buffer.
  std::span<char> scratch();
  Attempt sendRequest(balancer::Upstream& up);
  // The body not in hand, streamed after the head: from here on the request cannot be
  // sent again.
  Attempt streamRequestBody(balancer::Upstream& up, size_t sent_with_head);
  Attempt awaitResponse(balancer::Upstream& up);
  void relayResponse(balancer::Upstream& up);
  // Back to the pool, when the response ended exactly at its framing and nothing else is
  // pending on the connection; else closed (bytes past the framing are the upstream's
  // protocol error). docs/security.md, "Upstream connection reuse".
  void releaseUpstream();
  void tunnel();
  // A failed attempt: tried again when attempts_ allows it (`replayable`: the request may
  // be sent again whole), else `e` is answered to the client.
  Attempt fail(UpstreamError e, bool replayable);
  // A reused connection that failed before the request can have been processed: the same
  // endpoint on a new connection when the request is idempotent, else fail(e).
  Attempt failReused(UpstreamError e, bool nothing_sent);
  // An HTTP/2 upstream request body that failed on the client's side.
  Attempt failRequestBody(const PayloadResult& r);
  // The route's request rules and rewrite, for a head writer's info.
  template <class Info>
  void applyRequestRules(Info& fi) const;
  // The gRPC deadline passed: DEADLINE_EXCEEDED answered (true), nothing retried.
  bool deadlinePassed();
  // A proxy-made response (or a cut, once the response started); `retry_after` seconds
  // for a Retry-After header (0 = none).
  void respondError(int status, std::string_view error, uint32_t retry_after = 0);
  void countClientError(metrics::ClientError reason);
  void finish();
  std::string_view requestId() const { return {request_id_, request_id_len_}; }
  // The request may be sent again whole: idempotent, its body in hand, none streamed.
  bool replayable() const { return idempotent_ && down_.bodyInHand() && !body_streamed_; }

  Downstream& down_;
  Generation& gen_;
  const ListenerPlan& plan_;
  const http::RequestHead& head_;
  core::TimePoint started_;
  size_t hub_;

  char request_id_[http::kMaxRequestIdLength];
  size_t request_id_len_ = 0;
  bool idempotent_;
  bool body_streamed_ = false;  // body bytes beyond the buffer were sent upstream

  Buffer scratch_;   // the rewritten request head
  InputWindow out_;  // the upstream's response
  std::optional<UpstreamAttempts> attempts_;  // lives to the end: it pins the endpoint
  std::unique_ptr<UpstreamConnection> upstream_conn_;
  H2StreamHandle h2_;  // protocol = "http2": the attempt's stream
  http::ResponseHead response_;
  // gRPC (content-type application/grpc*): its grpc-timeout, and the status it ended with.
  bool grpc_ = false;
  core::Duration grpc_timeout_{};
  core::Timeout* grpc_deadline_ = nullptr;  // while forward() runs under grpc-timeout
  int grpc_status_ = -1;

  // The matched route's rewrite and header rules (null: none), and their variables'
  // values for this request (docs/proxying.md, "Header rules and prefix rewrite").
  const RouteRules* rules_ = nullptr;
  http::RuleVars vars_;
  char client_ip_[64];     // the client's address as text, formatted once (clientIp())
  size_t client_ip_len_ = 0;

  // For metrics and the access log.
  int upstream_index_ = -1;
  balancer::Upstream* upstream_ = nullptr;
  int status_ = 0;
  uint64_t bytes_received_ = 0;  // request body bytes from the client (the head is added)
  uint64_t bytes_sent_ = 0;
  double first_byte_seconds_ = -1;
  char sticky_cookie_[http::kMaxStickyCookieBytes];  // the Set-Cookie value, when one is set
  std::string_view error_;
};

}  // namespace greenlb::proxy
