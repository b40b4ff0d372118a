// The process-wide metrics registry: creates the metric objects the proxy and the balancer
// count into and turns them into the /metrics exposition (docs/observability.md).
//
// Get-or-create calls happen at startup and on reload (they take a mutex); the objects they
// return keep their addresses for the life of the registry, and their counters live for the
// process (a reload asks for the same names and gets the same objects back). Endpoints are
// the exception: see endpoint().
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/families.h"
#include "metrics/process_metrics.h"
#include "metrics/sharded.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace prometheus {
class Registry;
}

namespace greenlb::core {
class Hub;
}

namespace greenlb::metrics {

// Upper bounds (seconds) of greenlb_hub_loop_lag_seconds: a healthy hub is late by
// microseconds, a stalled one by tens of milliseconds or more.
inline constexpr double kLoopLagBuckets[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

class Registry : public prometheus::Collectable {
 public:
  // `hubs`: the number of hubs that count (indices 0..hubs-1), 1..kMaxHubs. Also exports
  // greenlb_build_info{version} 1, and sets the last-reload-success timestamp to now: the
  // registry is made with the initial configuration, whose load succeeded.
  Registry(size_t hubs, std::string version);
  ~Registry() override;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  size_t hubs() const { return hubs_; }

  ListenerMetrics& listener(const std::string& name);
  RequestMetrics& requests(const std::string& listener, const std::string& upstream);
  UpstreamMetrics& upstream(const std::string& name);

  // Exported while someone holds the shared_ptr. When the last holder drops it (the
  // endpoint left after a DNS change or a reload and its in-flight work finished), its
  // series leave the exposition, which keeps cardinality bounded; asking again later starts
  // from zero. While it is alive, asking again returns the same object.
  std::shared_ptr<EndpointMetrics> endpoint(const std::string& upstream,
                                            const std::string& address);
  // The endpoints of `upstream` still alive (address, metrics), by address: those that
  // left its membership and still finish requests are among them. Takes the mutex.
  std::vector<std::pair<std::string, std::shared_ptr<EndpointMetrics>>> endpointsOf(
      const std::string& upstream) const;

  // [admin] per_endpoint_metrics: false drops every endpoint-labelled family from the
  // exposition. Counting goes on (the balancer reads in_flight).
  void setPerEndpointMetrics(bool on) { per_endpoint_.store(on, std::memory_order_relaxed); }
  bool perEndpointMetrics() const { return per_endpoint_.load(std::memory_order_relaxed); }

  // Exports greenlb_hub_fibers{hub} (read from each hub's counters when scraped) and
  // greenlb_hub_loop_lag_seconds{hub}, fed by a loop-lag observer installed on each hub's
  // thread through Hub::post. The hubs and this registry must outlive each other's use:
  // keep the registry alive until the hubs have stopped.
  void attachHubs(std::vector<core::Hub*> hubs);

  // Counts a configuration reload by result; success also sets
  // greenlb_config_last_reload_success_timestamp_seconds to now. Any thread.
  void configReloaded(bool success);
  uint64_t configReloads(bool success) const {
    return reloads_[success ? 0 : 1].load(std::memory_order_relaxed);
  }
  double lastReloadSuccess() const { return last_reload_success_.load(std::memory_order_relaxed); }

  // Every family of the exposition: greenlb_* (this Collect), those registered with
  // prometheus(), then process_*. Families without samples are left out.
  std::vector<prometheus::MetricFamily> collectAll() const;
  // The /metrics body: Prometheus text 0.0.4, or OpenMetrics 1.0 text (see exposition.h for
  // the content types and the Accept check).
  std::string serialize(bool openmetrics) const;

  // A prometheus-cpp registry whose metrics are appended to the exposition: for rare,
  // non-hot-path metrics that the families here do not cover.
  std::shared_ptr<prometheus::Registry> prometheus() { return extra_; }

  // prometheus::Collectable: the greenlb_* families, summed over the hub cells now.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  using EndpointKey = std::pair<std::string, std::string>;  // upstream, address

  const size_t hubs_;
  const std::string version_;
  std::atomic<bool> per_endpoint_{true};
  std::atomic<uint64_t> reloads_[2] = {};  // success, failure: off the hot path
  std::atomic<double> last_reload_success_{0};

  mutable std::mutex mu_;  // guards the maps below (not the objects they point to)
  std::map<std::string, std::unique_ptr<ListenerMetrics>> listeners_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<RequestMetrics>> requests_;
  std::map<std::string, std::unique_ptr<UpstreamMetrics>> upstreams_;
  // Expired entries are pruned by endpoint() and by scrapes.
  mutable std::map<EndpointKey, std::weak_ptr<EndpointMetrics>> endpoints_;
  static constexpr size_t kMinPruneAt = 64;
  size_t prune_at_ = kMinPruneAt;  // endpoint() prunes when the map reaches this size
  std::vector<core::Hub*> hubs_attached_;
  // By hub id; written by that hub's thread only, so one cell each. Never freed before the
  // registry: a hub's observer may still point at one after a second attachHubs().
  std::map<int, std::unique_ptr<Histogram>> loop_lag_;

  std::shared_ptr<prometheus::Registry> extra_;
  ProcessCollector process_;
};

}  // namespace greenlb::metrics
