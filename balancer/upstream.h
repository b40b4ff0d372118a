// One configured upstream: its endpoints (shared by every hub) and, per hub, the policy's
// picker and that hub's own snapshot of the membership.
//
// pick() runs on a hub thread with no lock and no allocation. Membership changes (DNS
// discovery) build a new immutable EndpointSet and post it to every hub, so requests in
// flight keep the endpoints they picked alive until they end.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "balancer/endpoint_set.h"
#include "balancer/picker.h"
#include "conf/config.h"
#include "core/hub.h"
#include "metrics/registry.h"

namespace greenlb::balancer {

enum class PickFailure : uint8_t { none, no_healthy, limits };

class Upstream {
 public:
  // `hubs[i]` is hub i; pick(i, ...) may only run there.
  Upstream(conf::UpstreamConfig config, metrics::Registry& registry,
           std::vector<core::Hub*> hubs);
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  const conf::UpstreamConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  metrics::UpstreamMetrics& metrics() const { return *metrics_; }
  size_t hubCount() const { return hubs_.size(); }

  // Starts the upstream's background work once it serves traffic (active health checks,
  // DNS discovery), as fibers spread over the hubs; stop() ends it when a reload retires
  // the upstream or the process shuts down. Called on hub 0.
  void start();
  void stop();

  // A new endpoint of this upstream, its metrics registered under (upstream, name).
  std::shared_ptr<Endpoint> makeEndpoint(const std::string& name, const core::SocketAddress& at,
                                         uint32_t weight);

  // Replaces the membership. Before the hubs run (initial load, or a reload that has not
  // published this upstream yet) it is applied at once; afterwards each hub switches
  // when its inbox runs the update. Endpoints kept from the old set keep their state.
  void setEndpoints(std::vector<std::shared_ptr<Endpoint>> endpoints, bool hubs_running);

  // Hub `hub` only: an endpoint for this request, or nullptr with the reason.
  Endpoint* pick(size_t hub, const PickContext& ctx, PickFailure* why);

  // Passive outlier detection (SPEC [upstream.outlier]), from any hub: a request on `ep`
  // failed (connect failure, reset, timeout, 5xx) or succeeded.
  void reportFailure(Endpoint& ep, core::TimePoint now);
  void reportSuccess(Endpoint& ep) { ep.recordSuccess(); }

  // The latest membership, from any thread (takes a mutex: not for the hot path).
  std::shared_ptr<const EndpointSet> snapshot() const;
  // Hub `hub` only: the membership that hub currently picks from.
  const EndpointSet& hubEndpoints(size_t hub) const { return *hubs_state_[hub].set; }

  bool inPanic() const { return metrics_->panic.load(std::memory_order_relaxed) != 0; }

 private:
  struct alignas(64) HubState {
    std::shared_ptr<const EndpointSet> set;
    std::unique_ptr<Picker> picker;
  };
  void applyOnHub(size_t hub, std::shared_ptr<const EndpointSet> set);
  size_t hubIndexOrZero() const;
  void setPanic(bool on);

  conf::UpstreamConfig config_;
  metrics::Registry& registry_;
  metrics::UpstreamMetrics* metrics_;
  std::vector<core::Hub*> hubs_;
  std::unique_ptr<HubState[]> hubs_state_;
  mutable std::mutex mu_;  // guards latest_ and version_
  std::shared_ptr<const EndpointSet> latest_;
  uint64_t version_ = 0;
};

}  // namespace greenlb::balancer
