#include "proxy/tcp_tunnel.h"

#include <memory>

#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/client_connection.h"
#include "proxy/generation.h"
#include "proxy/hub_context.h"
#include "proxy/listener_socket.h"
#include "proxy/tunnel.h"

namespace greenlb::proxy {

using core::Clock;

void serveTcp(ClientConnection& client) {
  HubContext& hub = client.hub();
  size_t h = hub.index();
  Generation* gen = hub.acquire();
  Generation* owner = nullptr;
  const ListenerPlan& plan = client.listener().planIn(*gen, &owner);
  const conf::ListenerConfig& lc = *plan.config;
  int index = owner->findUpstream(lc.upstream);
  if (index < 0) {
    hub.release(gen);
    return;
  }
  balancer::Upstream& up = *owner->upstreams[static_cast<size_t>(index)];
  const conf::UpstreamConfig& uc = up.config();
  balancer::PickContext ctx;
  core::Stream upstream;
  const ClientTlsContext* tls = owner->upstream_tls[static_cast<size_t>(index)].get();
  std::unique_ptr<Transport> upstream_tls;
  balancer::Endpoint* ep = nullptr;
  // A DNS change may drop the endpoint from every membership during the connect or the
  // tunnel (hours): the tunnel keeps it alive itself. Once per connection, not per byte.
  std::shared_ptr<balancer::Endpoint> held;
  for (uint32_t attempt = 0; attempt <= uc.retry.attempts; ++attempt) {
    ctx.now = Clock::now();
    balancer::PickFailure why;
    // Begun here: a tunnel holds its slot under max_connections (waiting as one of
    // max_pending when every endpoint is full) and counts for least_conn from its connect.
    ep = up.pickOrWait(h, ctx, &why);
    if (ep == nullptr) {
      auto reason = why == balancer::PickFailure::limits ? metrics::Unavailable::limits
                                                         : metrics::Unavailable::no_healthy;
      up.metrics().unavailable[metrics::index(reason)].add(h);
      break;
    }
    ctx.addTried(ep);
    held = ep->shared_from_this();
    core::TimePoint t0 = Clock::now();
    core::Status st;
    bool timed_out;
    {
      core::Timeout t(uc.timeouts.connect);
      st = upstream.connectTo(ep->address());
      if (st.ok() && tls != nullptr) {
        auto session = tls->handshake(ep->name(), upstream);
        if (session.ok()) {
          upstream_tls = std::move(*session);
        } else {
          st = session.error();
          upstream.close();
        }
      }
      timed_out = t.expired();
    }
    if (st.ok()) {
      up.metrics().connect_duration.observe(h, core::toSeconds(Clock::now() - t0));
      break;
    }
    up.endRequest(h, *ep);
    if (st.error().cancelled()) {
      ep = nullptr;
      break;
    }
    ep->metrics().connect_failures.add(h);
    if (timed_out) up.metrics().timeouts[metrics::index(metrics::TimeoutKind::connect)].add(h);
    up.reportFailure(*ep, Clock::now());
    ep = nullptr;
    if (attempt < uc.retry.attempts) up.metrics().retries.add(h);
  }
  if (ep == nullptr) {
    hub.release(gen);
    return;  // closing is all an L4 client can be told
  }
  up.reportSuccess(*ep);
  PlainTransport plain(upstream);
  Transport& upstream_transport = upstream_tls != nullptr ? *upstream_tls : plain;
  TunnelResult t = runTunnel(client.transport(), upstream_transport, lc.timeouts.tunnel_idle);
  up.endRequest(h, *ep);
  plan.metrics->bytes_received.add(h, t.a_to_b);
  plan.metrics->bytes_sent.add(h, t.b_to_a);
  hub.release(gen);
}

}  // namespace greenlb::proxy
