// One backend address of an upstream, shared by every hub.
//
// Its mutable state is atomics (health, ejection, in-flight) read on the hot path without
// a lock; the rest is fixed at construction. Per-hub state the proxy keeps for an endpoint
// (its pool of idle connections) is reached from hubState(hub), one padded slot per hub.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "balancer/last_check.h"
#include "core/socket.h"
#include "core/time.h"
#include "metrics/families.h"

namespace greenlb::balancer {

// What a hub keeps for an endpoint beyond the balancer's own state (the proxy's pool of idle
// connections to it): opaque here. The proxy owns it and sets and clears the slot on that
// hub's thread; an endpoint it points from is kept alive by the proxy until it clears it.
class EndpointHubState {
 protected:
  ~EndpointHubState() = default;
};

// shared_from_this: background work started for one endpoint (the timer that puts an
// ejected endpoint back, its health checks) keeps it alive rather than its Upstream.
class Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  Endpoint(std::string name, core::SocketAddress address, uint32_t weight, size_t hubs,
           std::shared_ptr<metrics::EndpointMetrics> metrics);
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // "host:port" as configured (or as discovered), the label of its metrics.
  const std::string& name() const { return name_; }
  const core::SocketAddress& address() const { return address_; }
  uint32_t weight() const { return weight_; }
  // What a sticky cookie carries for this endpoint (balancer/sticky.h); set by its
  // Upstream before the endpoint is shared.
  uint64_t stickyId() const { return sticky_id_; }
  void setStickyId(uint64_t id) { sticky_id_ = id; }

  // Active health check state; an endpoint without checks is healthy. Coming back from
  // unhealthy starts its slow-start ramp at `now`.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  void setHealthy(bool h, core::TimePoint now);
  // The latest active check's outcome (written by the health checker, read by /status).
  LastCheck& lastCheck() { return last_check_; }
  const LastCheck& lastCheck() const { return last_check_; }

  // Passive outlier ejection: out of rotation until `until`.
  bool ejectedAt(core::TimePoint now) const {
    return now.time_since_epoch().count() < ejected_until_.load(std::memory_order_relaxed);
  }
  core::TimePoint ejectedUntil() const {
    return core::TimePoint(core::Duration(ejected_until_.load(std::memory_order_relaxed)));
  }
  // Ejects for `base`, doubled for each ejection in a row up to 10x; a run of ejections
  // is forgotten once the endpoint has stayed in for 10x `base`.
  void ejectFor(core::Duration base, core::TimePoint now);
  // Eligible for traffic right now (health and ejection; limits are checked by the caller).
  bool available(core::TimePoint now) const { return healthy() && !ejectedAt(now); }

  // When the endpoint last re-entered rotation (back from unhealthy or ejected, or added
  // to a running upstream): slow start ramps its weight from there. Epoch = never.
  core::TimePoint rampStart() const;
  void startRamp(core::TimePoint now) {
    ramp_from_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }

  // Sets greenlb_upstream_endpoint_up from the state at `now` (healthy and not ejected).
  // Safe against a racing writer: it stores until what it stored matches the state.
  // Does nothing once retired.
  void refreshUp(core::TimePoint now);

  // Left its upstream's membership, or its upstream was replaced by a reload. The gauge
  // series is shared by (upstream, name), so a successor endpoint of the same name may own
  // it now: late state changes (a request in flight failing, an ejection ending) no longer
  // write it.
  void retire() { retired_.store(true, std::memory_order_seq_cst); }
  bool retired() const { return retired_.load(std::memory_order_seq_cst); }

  // Requests in flight across all hubs: one shared atomic (least_conn and p2c read it).
  int64_t inFlight() const { return metrics_->in_flight.load(std::memory_order_relaxed); }
  void beginRequest() { metrics_->in_flight.fetch_add(1, std::memory_order_relaxed); }
  // Begins a request only while fewer than `max` are in flight, atomically across hubs:
  // two hubs that both saw the last slot free cannot both take it.
  bool tryBeginRequest(int64_t max) {
    int64_t n = metrics_->in_flight.load(std::memory_order_relaxed);
    while (n < max) {
      if (metrics_->in_flight.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  void endRequest() { metrics_->in_flight.fetch_sub(1, std::memory_order_relaxed); }

  metrics::EndpointMetrics& metrics() { return *metrics_; }

  // Consecutive failures seen by passive outlier detection. Success only writes when the
  // count is non-zero, so healthy traffic does not bounce the cache line between hubs.
  uint32_t recordFailure() { return consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1; }
  void recordSuccess() {
    if (consecutive_failures_.load(std::memory_order_relaxed) != 0) {
      consecutive_failures_.store(0, std::memory_order_relaxed);
    }
  }
  std::atomic<uint32_t>& ejectionCount() { return ejections_; }

  // The proxy's per-hub state for this endpoint; only hub `hub` touches slot `hub`.
  EndpointHubState*& hubState(size_t hub) { return slots_[hub].value; }

 private:
  struct alignas(64) Slot {
    EndpointHubState* value = nullptr;
  };
  std::string name_;
  core::SocketAddress address_;
  uint32_t weight_;
  uint64_t sticky_id_ = 0;
  std::atomic<bool> healthy_{true};
  std::atomic<bool> retired_{false};
  std::atomic<int64_t> ejected_until_{0};  // steady-clock nanoseconds
  std::atomic<int64_t> ramp_from_{0};      // steady-clock nanoseconds; 0 = no ramp
  std::atomic<uint32_t> consecutive_failures_{0};
  std::atomic<uint32_t> ejections_{0};  // how many times ejected in a row (backoff)
  std::shared_ptr<metrics::EndpointMetrics> metrics_;
  std::unique_ptr<Slot[]> slots_;
  LastCheck last_check_;  // cold: after the hot members
};

}  // namespace greenlb::balancer
