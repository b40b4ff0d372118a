// One request's (or tunnel's) walk over an upstream's endpoints: pick, connect (a pooled
// connection or a new one, TCP then TLS), count, report to outlier detection, and decide
// whether a failure is tried again (retry.on, attempts, the retry budget, backoff). The
// one upstream-attempt path of HTTP exchanges and TCP tunnels (docs/balancing.md,
// "Retries").
//
//   UpstreamAttempts a(hub, up, tls);
//   while (balancer::Endpoint* ep = a.next()) {
//     auto conn = a.connect(/*allow_pooled=*/true);
//     if (conn) { ... send, await; on failure: if (a.retry(error, replayable)) continue; }
//     ...
//   }
//   // a.error() says why there was no endpoint or no connection.
#pragma once

#include <cstdint>
#include <memory>

#include "balancer/picker.h"
#include "balancer/retry_budget.h"
#include "balancer/upstream.h"
#include "proxy/h2/stream_handle.h"
#include "proxy/upstream_error.h"
#include "proxy/upstream_pool.h"

namespace greenlb::proxy {

class ClientTlsContext;
class HubContext;

class UpstreamAttempts {
 public:
  // `tls`: the upstream's client TLS context, or null for plain TCP.
  UpstreamAttempts(HubContext& hub, balancer::Upstream& up, const ClientTlsContext* tls);
  ~UpstreamAttempts();
  UpstreamAttempts(const UpstreamAttempts&) = delete;
  UpstreamAttempts& operator=(const UpstreamAttempts&) = delete;

  // The pick's input (a consistent-hash key), set before the first next().
  balancer::PickContext& pickContext() { return ctx_; }
  // The client the attempts are for, where the upstream is sent PROXY headers
  // (send_proxy_protocol, docs/proxy-protocol.md): a new connection's header names `client`
  // as its source and the local address of `client_socket` (what the client connected to)
  // as its destination; pooled connections are then only those sent for `client`. Both
  // must outlive the attempts.
  void proxyFor(const core::SocketAddress& client, const core::Stream* client_socket) {
    proxy_client_ = &client;
    proxy_client_socket_ = client_socket;
  }

  // The endpoint of the next attempt, its request begun (counted in flight, holding its
  // max_connections slot): the first pick; after retry(), another endpoint where one
  // exists; after again(), the same endpoint. Null when none can be had: error() says why
  // (already counted in greenlb_upstream_unavailable_total), or cancelled when a retry's
  // backoff was cut.
  balancer::Endpoint* next();

  // A connection to the current endpoint: the most recent idle pooled one when
  // `allow_pooled` and the pool has one (reused() then says so), else a new one, connected
  // within timeouts.connect. Null on failure: error() says why (counted in the connect
  // metrics, not yet reported to outlier detection); retry() decides what follows.
  std::unique_ptr<UpstreamConnection> openConnection(bool allow_pooled);
  // For protocol = "http2": a new stream on one of this hub's connections to the current
  // endpoint with room for it, opening a connection when all are full (reused() says
  // whether the connection existed). Null on failure, as openConnection.
  H2StreamHandle openStream();
  bool reused() const { return reused_; }

  // The attempt failed with `e` after next(): whether another one follows. True when `e`
  // falls under a `retry.on` condition (`status` for upstream_status) and, for failures
  // after the request may have reached the upstream, `replayable` (the request is
  // idempotent and can be sent again whole); when attempts are left and the retry budget
  // allows. Counts the retry; the next next() sleeps its backoff first.
  bool retry(UpstreamError e, bool replayable, int status = 0);
  // The attempt's reused connection turned out closed before the request could have been
  // processed: the same endpoint again on a new connection, not counted as a retry.
  void again() { again_ = true; }

  // Passive outlier detection for the current endpoint.
  void reportFailure();
  void reportSuccess();

  // The current endpoint's pool on this hub (pinned until the next pick or the end).
  EndpointPool& pool() { return *pinned_; }
  balancer::Endpoint* endpoint() const { return endpoint_; }
  UpstreamError error() const { return error_; }
  uint32_t attempts() const { return attempts_; }

 private:
  void endAttempt();
  bool backoff(uint32_t retry);
  // Sends the PROXY header on a new connection (before TLS, as HAProxy's send-proxy does).
  core::Status sendProxyHeader(UpstreamConnection& conn, conf::ProxyProtocol version);

  HubContext& hub_;
  balancer::Upstream& up_;
  const ClientTlsContext* tls_;
  const core::SocketAddress* proxy_client_ = nullptr;
  const core::Stream* proxy_client_socket_ = nullptr;
  size_t hub_index_;
  balancer::PickContext ctx_;
  balancer::RetryBudget::Request budget_;
  balancer::Endpoint* endpoint_ = nullptr;
  EndpointPool* pinned_ = nullptr;  // endpoint_'s pool: kept (with its Endpoint) until we end
  UpstreamError error_ = UpstreamError::none;
  uint32_t attempts_ = 0;
  uint32_t retries_ = 0;
  bool begun_ = false;  // endpoint_'s request is counted in flight
  bool again_ = false;
  bool backoff_pending_ = false;
  bool fresh_only_ = false;  // again(): the pool's connections are not for this attempt
  bool reused_ = false;
};

}  // namespace greenlb::proxy
