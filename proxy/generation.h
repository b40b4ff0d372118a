// Everything one loaded Config turns into: its upstreams (balancer state), each listener's
// routes and metric handles. A reload builds a new Generation and publishes it to every
// hub; requests that started on the old one finish on it.
//
// Upstreams whose definition did not change are carried over from the previous generation
// (same object: health, ejection and pools survive the reload).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "balancer/upstream.h"
#include "conf/config.h"
#include "core/hub.h"
#include "metrics/registry.h"
#include "proxy/rate_limiter.h"
#include "proxy/router.h"
#include "proxy/tls_context.h"

namespace greenlb::proxy {

// A rate limit in force (docs/rate-limits.md): its buckets, kept across reloads that leave
// it unchanged, and its greenlb_rate_limited_total counter.
struct RateLimit {
  std::shared_ptr<RateLimiter> limiter;  // null: no limit
  metrics::Counter* limited = nullptr;
};

struct ListenerPlan {
  const conf::ListenerConfig* config;
  Router router;
  metrics::ListenerMetrics* metrics;
  std::shared_ptr<const ServerTlsContext> tls;  // null: a plain listener
  // Per upstream index; the last entry is for requests no upstream took (upstream="").
  std::vector<metrics::RequestMetrics*> request_metrics;
  RateLimit rate_limit;                 // [listener.rate_limit]
  std::vector<RateLimit> route_limits;  // by route index
};

class Generation {
 public:
  uint64_t number = 0;
  std::shared_ptr<const conf::Config> config;
  std::vector<std::shared_ptr<balancer::Upstream>> upstreams;
  // Per upstream index: TLS to that upstream's endpoints, or null.
  std::vector<std::shared_ptr<const ClientTlsContext>> upstream_tls;
  std::vector<ListenerPlan> listeners;

  const ListenerPlan* findListener(const std::string& name) const;
  int findUpstream(const std::string& name) const;

  // Requests using this generation, per hub (padded; only hub i touches users(i)).
  int64_t& users(size_t hub) { return users_[hub].count; }

  explicit Generation(size_t hubs) : users_(new PerHub[hubs]) {}

 private:
  struct alignas(64) PerHub {
    int64_t count = 0;
  };
  std::unique_ptr<PerHub[]> users_;
};

// Builds a generation. Runs on a fiber: endpoint names are resolved with core's DNS. On
// failure returns nullptr and the reason in `error`. `previous` (may be null) lends its
// unchanged upstreams. `tls` holds the config's TLS contexts (loadTlsContexts).
std::shared_ptr<Generation> buildGeneration(std::shared_ptr<const conf::Config> config,
                                            const TlsContexts& tls,
                                            const Generation* previous, uint64_t number,
                                            metrics::Registry& registry,
                                            const std::vector<core::Hub*>& hubs,
                                            std::string* error);

}  // namespace greenlb::proxy
