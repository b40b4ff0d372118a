#include "proxy/tcp_tunnel.h"

#include <memory>

#include "balancer/request_view.h"
#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/client_connection.h"
#include "proxy/generation.h"
#include "proxy/hub_context.h"
#include "proxy/listener_socket.h"
#include "proxy/tunnel.h"
#include "proxy/upstream_attempts.h"

namespace greenlb::proxy {

using core::Clock;

void serveTcp(ClientConnection& client) {
  HubContext& hub = client.hub();
  size_t h = hub.index();
  GenerationLease lease(hub);
  Generation* owner = nullptr;
  const ListenerPlan& plan = client.listener().planIn(*lease, &owner);
  const conf::ListenerConfig& lc = *plan.config;
  int index = owner->findUpstream(lc.upstream);
  if (index < 0) return;
  balancer::Upstream& up = *owner->upstreams[static_cast<size_t>(index)];
  // The same attempt path as HTTP requests: a tunnel holds its endpoint's max_connections
  // slot (waiting as one of max_pending when every endpoint is full) and counts for
  // least_conn from its connect to its end; connect failures are retried under retry.on,
  // the retry budget and the backoff.
  UpstreamAttempts attempts(hub, up, owner->upstream_tls[static_cast<size_t>(index)].get());
  // send_proxy_protocol: one header per client connection, since each has its own
  // upstream connection.
  attempts.proxyFor(client.peer(), &client.stream());
  // maglev's "client_ip", the one key a tcp listener's upstream may hash
  // (conf/policy_table.h): the client's address, the PROXY header's source if one came.
  balancer::RequestView view;
  view.peer = &client.peer();
  up.computeHashKey(view, attempts.pickContext());
  std::unique_ptr<UpstreamConnection> conn;
  while (attempts.next() != nullptr) {
    conn = attempts.openConnection(/*allow_pooled=*/false);
    if (conn != nullptr) break;
    if (attempts.error() == UpstreamError::cancelled) return;
    attempts.reportFailure();
    if (!attempts.retry(attempts.error(), /*replayable=*/true)) return;
  }
  if (conn == nullptr) return;  // closing is all an L4 client can be told
  // A DNS change may drop the endpoint from every membership during the tunnel (hours):
  // the attempt's pin keeps it (and its pool) until the tunnel ends.
  attempts.reportSuccess();
  TunnelResult t = runTunnel(client.transport(), conn->transport(), lc.timeouts.tunnel_idle);
  plan.metrics->bytes_received.add(h, t.a_to_b);
  plan.metrics->bytes_sent.add(h, t.b_to_a);
}

}  // namespace greenlb::proxy
