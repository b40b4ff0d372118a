// The metric objects the proxy and the balancer count into, one per label set
// (docs/observability.md, "Metric families"). Their fields are made from the one
// declaration of the families, metrics/family_list.h: a family of scope `listener` is a
// field of ListenerMetrics, and so on.
//
// The Registry creates them and keeps them at stable addresses; the hot path holds plain
// pointers and counts with the sharded primitives (no lock). Families counted by an enum
// are indexed with index(), e.g. `listener.client_errors[index(ClientError::too_large)]
// .add(hub)`.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/family_fields.h"
#include "metrics/family_list.h"
#include "metrics/labels.h"
#include "metrics/sharded.h"

namespace greenlb::metrics {

namespace detail {

// What every field is made from: a base, so that the fields' initializers can read it.
struct HubCount {
  size_t hubs_;
};

}  // namespace detail

// Labels: listener.
struct ListenerMetrics : private detail::HubCount {
  explicit ListenerMetrics(size_t hubs) : HubCount{hubs} {}

#define GREENLB_FIELD(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, Field field{hubs_};, Field field{hubs_};, , , , )
  GREENLB_METRIC_FAMILIES(GREENLB_FIELD)
#undef GREENLB_FIELD

  // greenlb_tls_certificate_expiry_timestamp_seconds{listener,name}; `name` identifies the
  // certificate (its file or subject). Startup and reload only (takes a mutex); a reload
  // calls clearCertificates() first and sets the new list.
  void setCertificateExpiry(std::string name, double unix_seconds);
  void clearCertificates();
  std::vector<std::pair<std::string, double>> certificates() const;
  // TLS families are exported for listeners that have certificates or did handshakes, so
  // plain listeners carry no TLS series.
  bool hasTls() const;

  // greenlb_rate_limited_total{listener, route}: the counter of one rate limit, `route`
  // "*" for the listener's own, else the route's index. Made at startup and reload (takes
  // a mutex); the counter keeps its address for the life of the registry.
  Counter& rateLimited(const std::string& route);
  std::vector<std::pair<std::string, uint64_t>> rateLimitedCounts() const;

 private:
  mutable std::mutex certificates_mu_;
  std::map<std::string, double> certificates_;
  mutable std::mutex rate_limited_mu_;
  std::map<std::string, std::unique_ptr<Counter>> rate_limited_;
};

// Labels: listener, upstream ("" for proxy-made answers with no upstream).
struct RequestMetrics : private detail::HubCount {
  explicit RequestMetrics(size_t hubs) : HubCount{hubs} {}

#define GREENLB_FIELD(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, , , Field field{hubs_};, , , )
  GREENLB_METRIC_FAMILIES(GREENLB_FIELD)
#undef GREENLB_FIELD

  // Whether any request was counted: only such listener-upstream pairs are exported.
  bool counted() const;
};

// Labels: upstream. `panic` is written by the balancer.
struct UpstreamMetrics : private detail::HubCount {
  explicit UpstreamMetrics(size_t hubs) : HubCount{hubs} {}

#define GREENLB_FIELD(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, , , , Field field{hubs_};, , )
  GREENLB_METRIC_FAMILIES(GREENLB_FIELD)
#undef GREENLB_FIELD
};

// Labels: upstream, endpoint ("127.0.0.1:9001"). `up` and `in_flight` are written by the
// balancer; in_flight is the one count least_conn reads, shared by every hub.
struct EndpointMetrics : private detail::HubCount {
  explicit EndpointMetrics(size_t hubs) : HubCount{hubs} {}

#define GREENLB_FIELD(id, scope, Field, field, name, help) \
  GREENLB_METRIC_SCOPE(scope, , , , , Field field{hubs_};, )
  GREENLB_METRIC_FAMILIES(GREENLB_FIELD)
#undef GREENLB_FIELD
};

}  // namespace greenlb::metrics
