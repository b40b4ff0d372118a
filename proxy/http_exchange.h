// One HTTP request forwarded to an upstream and its response relayed back
// (docs/proxying.md; docs/architecture.md, "A request's path"): route,
// pick an endpoint, reuse or open a connection, send the head and stream the body, wait for
// the first response byte under the response timeout, stream the response back. Failures
// before anything reached the client become retries where that is safe, else 502/503/504.
#pragma once

#include <cstdint>
#include <memory>

#include "balancer/endpoint.h"
#include "balancer/upstream.h"
#include "core/time.h"
#include "proxy/buffer_pool.h"
#include "proxy/http/message.h"
#include "proxy/http/request_id.h"
#include "proxy/input_window.h"
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
  enum class Attempt : uint8_t { done, retry, retry_fresh, failed };

  bool forward(balancer::Upstream& up);
  // One try on one endpoint: connect (or reuse), send, await and relay the response.
  // `can_retry`: a retry budget is left, so a retryable failure may return retry.
  Attempt attempt(balancer::Upstream& up, balancer::Endpoint& ep, bool allow_pooled,
                  bool can_retry);
  Attempt sendRequest(balancer::Upstream& up, balancer::Endpoint& ep, bool reused,
                      bool can_retry);
  Attempt awaitResponse(balancer::Upstream& up, balancer::Endpoint& ep, bool reused,
                        bool can_retry);
  bool relayResponse(balancer::Upstream& up, balancer::Endpoint& ep);
  bool tunnel();
  // A failed attempt: retry when allowed, else answer `status` to the client.
  Attempt fail(bool can_retry, bool retry_allowed, int status, const char* error);
  // A proxy-made response; false when the client connection must close afterwards.
  bool respondError(int status, const char* error);
  // Sleeps the retry's backoff; false when the wait was cut (killed).
  bool backoff(core::Duration base, uint32_t retry);
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
  bool body_streamed_ = false;  // body bytes beyond the buffer were sent upstream
  bool continue_sent_ = false;
  bool client_keep_alive_ = false;
  bool response_started_ = false;  // bytes went to the client

  Buffer scratch_;  // rewritten heads
  InputWindow out_;  // the upstream's response
  std::unique_ptr<UpstreamConnection> upstream_conn_;
  http::ResponseHead response_;

  // For metrics and the access log.
  int upstream_index_ = -1;
  balancer::Upstream* upstream_ = nullptr;
  balancer::Endpoint* endpoint_ = nullptr;
  EndpointPool* pinned_ = nullptr;  // endpoint_'s pool on this hub, pinned until we end
  int status_ = 0;
  int pending_status_ = 502;  // what to answer if the retries run out
  uint32_t attempts_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;
  double first_byte_seconds_ = -1;
  const char* error_ = "";
};

}  // namespace greenlb::proxy
