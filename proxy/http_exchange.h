// One HTTP request forwarded to an upstream and its response relayed back
// (docs/proxying.md; docs/architecture.md, "A request's path"): route,
// pick an endpoint, reuse or open a connection, send the head and stream the body, wait for
// the first response byte under the response timeout, stream the response back. Failures
// before anything reached the client become retries where that is safe, else 502/503/504.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "balancer/endpoint.h"
#include "balancer/upstream.h"
#include "core/time.h"
#include "proxy/buffer_pool.h"
#include "proxy/http/message.h"
#include "proxy/http/request_id.h"
#include "proxy/input_window.h"
#include "proxy/upstream_attempts.h"
#include "proxy/upstream_pool.h"

namespace greenlb::proxy {

class ClientConnection;
class Generation;
struct ListenerPlan;

class HttpExchange {
 public:
  HttpExchange(ClientConnection& client, Generation& gen, const ListenerPlan& plan,
               const http::RequestHead& head, InputWindow& in, core::TimePoint started,
               bool keep_alive_allowed);
  ~HttpExchange();

  // Runs the exchange. True when the client connection may carry another request.
  bool run();
  // Nothing of the request is left unread on the client connection.
  bool requestFullyRead() const { return request_body_done_; }

 private:
  enum class Attempt : uint8_t { done, retry, failed };

  // The request's body framing as far as it arrived with the head: a malformed chunked
  // body, or one already over max_body_bytes, is answered before any upstream sees the
  // head. False when it answered.
  bool checkBodyInHand();
  bool forward(balancer::Upstream& up);
  // One try on the endpoint attempts_ picked: connect (or reuse), send, await and relay.
  Attempt attempt(balancer::Upstream& up);
  Attempt sendRequest(balancer::Upstream& up);
  Attempt awaitResponse(balancer::Upstream& up);
  bool relayResponse(balancer::Upstream& up);
  // Back to the pool, when the response ended exactly at its framing and nothing else is
  // pending on the connection; else closed (bytes past the framing are the upstream's
  // protocol error). docs/security.md, "Upstream connection reuse".
  void releaseUpstream();
  bool tunnel();
  // Takes a request body that was buffered whole (and sent with the head) off the client
  // window, once no retry needs it any more.
  void takeBufferedBody();
  // A failed attempt: tried again when attempts_ allows it (`replayable`: the request may
  // be sent again whole), else `e` is answered to the client.
  Attempt fail(UpstreamError e, bool replayable);
  // A reused connection that failed before the request can have been processed: the same
  // endpoint on a new connection when the request is idempotent, else fail(e).
  Attempt failReused(UpstreamError e, bool nothing_sent);
  // A proxy-made response; false when the client connection must close afterwards.
  bool respondError(int status, std::string_view error);
  void finish();
  std::string_view requestId() const;
  static bool isValidRequestIdView(std::string_view id);

  ClientConnection& client_;
  Generation& gen_;
  const ListenerPlan& plan_;
  const http::RequestHead& head_;
  InputWindow& in_;
  core::TimePoint started_;
  size_t hub_;
  bool keep_alive_allowed_;

  char request_id_[http::kMaxRequestIdLength];
  size_t request_id_len_ = 0;
  bool idempotent_;
  bool replayable_;             // the whole request body is buffered: it can be sent again
  bool request_body_done_;      // nothing of this request is left unread on the client side
  bool buffered_body_taken_ = false;  // a replayable body left the client window
  bool body_streamed_ = false;  // body bytes beyond the buffer were sent upstream
  bool continue_sent_ = false;
  bool client_keep_alive_ = false;
  bool response_started_ = false;  // bytes went to the client

  Buffer scratch_;  // rewritten heads
  InputWindow out_;  // the upstream's response
  std::optional<UpstreamAttempts> attempts_;  // lives to the end: it pins the endpoint
  std::unique_ptr<UpstreamConnection> upstream_conn_;
  http::ResponseHead response_;

  // For metrics and the access log.
  int upstream_index_ = -1;
  balancer::Upstream* upstream_ = nullptr;
  int status_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;
  double first_byte_seconds_ = -1;
  std::string_view error_;
};

}  // namespace greenlb::proxy
