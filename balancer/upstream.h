// One configured upstream: its endpoints (shared by every hub) and, per hub, the policy's
// picker and that hub's own snapshot of the membership; its retry budget, its queue of
// requests waiting for a slot, and its background work (active health checks, DNS
// discovery).
//
// pick() runs on a hub thread with no lock and no allocation. Membership changes (DNS
// discovery) build a new immutable EndpointSet (with its Maglev table) and post it to
// every hub, so requests in flight keep the endpoints they picked alive until they end.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "balancer/endpoint_set.h"
#include "balancer/pending_queue.h"
#include "balancer/picker.h"
#include "balancer/probe_channel.h"
#include "balancer/request_view.h"
#include "balancer/retry_budget.h"
#include "conf/config.h"
#include "conf/policy_table.h"
#include "core/dns.h"
#include "core/hub.h"
#include "metrics/registry.h"

namespace greenlb::balancer {

class DnsDiscovery;
class HealthChecker;

enum class PickFailure : uint8_t { none, no_healthy, limits };

class Upstream {
 public:
  // `hubs[i]` is hub i; pick(i, ...) may only run there. `resolver`: where DNS discovery
  // finds its nameservers and hosts file ([global] resolv_conf, hosts_file).
  Upstream(conf::UpstreamConfig config, metrics::Registry& registry,
           std::vector<core::Hub*> hubs, core::ResolverOptions resolver = {});
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  const conf::UpstreamConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  metrics::UpstreamMetrics& metrics() const { return *metrics_; }
  size_t hubCount() const { return hubs_.size(); }

  // Starts the upstream's background work once it serves traffic, stops it when a reload
  // retires the upstream or the process shuts down. Both on a fiber of hub 0 (idempotent).
  //  - active health checks: one fiber per endpoint, endpoint i's on hub i % hubs;
  //  - DNS discovery ([upstream] dns): start() resolves once before it returns (bounded,
  //    so the first membership is in place when the upstream starts serving), then a
  //    fiber on hub 0 re-resolves every resolve_every.
  // stop() returns once the discovery fiber has ended (it is the only background work
  // that uses this object); health-check fibers are killed on their own hubs and hold
  // only what they touch (their Endpoint), so they may end a moment later.
  void start();
  void stop();
  // What active checks speak over (TLS upstreams); set before start(), never after.
  void setProbeHooks(ProbeHooks hooks) { probe_hooks_ = std::move(hooks); }

  // A new endpoint of this upstream, its metrics registered under (upstream, name).
  std::shared_ptr<Endpoint> makeEndpoint(const std::string& name, const core::SocketAddress& at,
                                         uint32_t weight);

  // Replaces the membership. Before the hubs run (initial load, or a reload that has not
  // published this upstream yet) it is applied at once; afterwards each hub switches
  // when its inbox runs the update. Endpoints kept from the old set keep their state.
  // What the policy shares between hubs (maglev's lookup table) is built here, by the caller.
  void setEndpoints(std::vector<std::shared_ptr<Endpoint>> endpoints, bool hubs_running);

  // Sets ctx.hash / ctx.has_hash from `request` when this upstream's policy picks by a hash
  // key (Envoy's computeHashKey); leaves them alone otherwise, at the cost of one branch.
  // A request without the key (header or cookie absent) gets no hash: maglev spreads it.
  void computeHashKey(const RequestView& request, PickContext& ctx) const {
    if (needs_ != conf::RequestNeeds::none) hashInto(request, ctx);
  }

  // Hub `hub` only: an endpoint for this request, or nullptr with the reason.
  Endpoint* pick(size_t hub, const PickContext& ctx, PickFailure* why);

  // pick() and begin the request on the endpoint (ep.beginRequest() is done: end it with
  // endRequest). With max_connections the slot is reserved atomically, so the limit holds
  // across hubs. When every available endpoint is at max_connections, waits for a slot as
  // one of at most max_pending waiting requests, for up to timeouts.connect (HAProxy's
  // "timeout queue" defaults to its connect timeout too). On a fiber of hub `hub`;
  // refreshes ctx.now after waiting.
  Endpoint* pickOrWait(size_t hub, PickContext& ctx, PickFailure* why);

  // Hub `hub`: a request on `ep` (begun by pickOrWait, or pick then ep.beginRequest()) ended:
  // frees its slot and wakes a request waiting for one on this hub.
  void endRequest(size_t hub, Endpoint& ep) {
    ep.endRequest();
    if (inFlightLimit() != 0) pending_.released(hub);
  }

  // Passive outlier detection (docs/balancing.md, "Passive outlier ejection"), from any
  // hub: a request on `ep` failed (connect failure, reset, timeout, 5xx) or succeeded.
  void reportFailure(Endpoint& ep, core::TimePoint now);
  void reportSuccess(Endpoint& ep) { ep.recordSuccess(); }

  // Retrying requests <= max(3, budget_percent% of requests in flight) (docs/balancing.md,
  // "Retries and the retry budget").
  RetryBudget& retryBudget() { return retry_budget_; }
  const PendingQueue& pending() const { return pending_; }

  // The latest membership, from any thread (takes a mutex: not for the hot path).
  std::shared_ptr<const EndpointSet> snapshot() const;
  // Hub `hub` only: the membership that hub currently picks from.
  const EndpointSet& hubEndpoints(size_t hub) const { return *hubs_state_[hub].set; }

  bool inPanic() const { return metrics_->panic.load(std::memory_order_relaxed) != 0; }

  // Requests in flight an endpoint may have, across hubs (0 = no limit): over HTTP/1.1 one
  // per connection, so max_connections and max_requests both bound it; over HTTP/2 a
  // request is a stream, bounded by max_requests (docs/balancing.md, "Limits").
  uint64_t inFlightLimit() const {
    const conf::UpstreamLimits& l = config_.limits;
    if (config_.protocol == conf::UpstreamProtocol::http2) return l.max_requests;
    if (l.max_connections == 0) return l.max_requests;
    if (l.max_requests == 0) return l.max_connections;
    return std::min(l.max_connections, l.max_requests);
  }

 private:
  struct alignas(64) HubState {
    std::shared_ptr<const EndpointSet> set;
    std::unique_ptr<Picker> picker;
  };
  static void applyOnHub(HubState& hs, std::shared_ptr<const EndpointSet> set);
  void hashInto(const RequestView& request, PickContext& ctx) const;
  Endpoint* pickAndBegin(size_t hub, const PickContext& ctx, PickFailure* why);
  size_t hubIndexOrZero() const;
  void setPanic(bool on);
  void scheduleReturn(Endpoint& ep);

  conf::UpstreamConfig config_;
  conf::RequestNeeds needs_;  // what computeHashKey reads (conf/policy_table.h)
  metrics::Registry& registry_;
  metrics::UpstreamMetrics* metrics_;
  std::vector<core::Hub*> hubs_;
  core::ResolverOptions resolver_options_;
  // Shared with the membership updates posted to the hubs: one may run after this
  // upstream is gone (stopped and released before its hub drained its inbox).
  std::shared_ptr<HubState[]> hubs_state_;
  RetryBudget retry_budget_;
  PendingQueue pending_;
  mutable std::mutex mu_;  // guards latest_, version_ and health_
  std::shared_ptr<const EndpointSet> latest_;
  uint64_t version_ = 0;
  std::mutex eject_mu_;  // serializes ejection decisions (max_ejected_percent); cold path
  bool started_ = false;  // hub 0
  ProbeHooks probe_hooks_;
  std::unique_ptr<HealthChecker> health_;
  std::unique_ptr<DnsDiscovery> dns_;  // hub 0
};

}  // namespace greenlb::balancer
