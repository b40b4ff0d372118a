#include "balancer/endpoint.h"

#include <algorithm>

namespace greenlb::balancer {

Endpoint::Endpoint(std::string name, core::SocketAddress address, uint32_t weight, size_t hubs,
                   std::shared_ptr<metrics::EndpointMetrics> metrics)
    : name_(std::move(name)),
      address_(address),
      weight_(weight == 0 ? 1 : weight),
      metrics_(std::move(metrics)),
      slots_(new Slot[hubs]) {
  metrics_->up.store(1, std::memory_order_relaxed);
}

void Endpoint::setHealthy(bool h, core::TimePoint now) {
  bool was = healthy_.exchange(h, std::memory_order_seq_cst);
  if (h && !was) startRamp(now);
  refreshUp(now);
}

void Endpoint::ejectFor(core::Duration base, core::TimePoint now) {
  core::TimePoint last_until = ejectedUntil();
  uint32_t run = ejections_.load(std::memory_order_relaxed);
  if (run != 0 && now - last_until > base * 10) run = 0;
  int64_t factor = std::min<int64_t>(int64_t{1} << std::min<uint32_t>(run, 4), 10);
  core::TimePoint until = now + base * factor;
  ejections_.store(run + 1, std::memory_order_relaxed);
  ejected_until_.store(until.time_since_epoch().count(), std::memory_order_seq_cst);
  refreshUp(now);
}

core::TimePoint Endpoint::rampStart() const {
  // Back from an ejection ramps from the moment the ejection ended.
  int64_t from = std::max(ramp_from_.load(std::memory_order_relaxed),
                          ejected_until_.load(std::memory_order_relaxed));
  return core::TimePoint(core::Duration(from));
}

void Endpoint::refreshUp(core::TimePoint now) {
  // Health and ejection are written by different fibers on different hubs; whoever stores
  // last re-reads the state afterwards, so the gauge cannot stay on a stale value.
  for (;;) {
    if (retired_.load(std::memory_order_seq_cst)) return;
    int64_t want = available(now) ? 1 : 0;
    metrics_->up.store(want, std::memory_order_seq_cst);
    if ((available(now) ? 1 : 0) == want) return;
  }
}

}  // namespace greenlb::balancer
