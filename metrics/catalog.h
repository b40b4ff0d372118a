// Every greenlb_* metric family: name, type and help text, in exposition order (SPEC 5).
//
// One table, so the exposition, the tests and the docs cannot disagree on a name.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "prometheus/metric_type.h"

namespace greenlb::metrics {

enum class FamilyId : size_t {
  build_info,
  connections_accepted,
  connections_active,
  client_errors,
  bytes_received,
  bytes_sent,
  tls_handshakes,
  tls_handshake_duration,
  tls_certificate_expiry,
  requests,
  request_duration,
  upstream_requests,
  upstream_connect_duration,
  upstream_first_byte_duration,
  upstream_endpoint_up,
  upstream_endpoint_in_flight,
  upstream_connect_failures,
  upstream_timeouts,
  upstream_retries,
  upstream_protocol_errors,
  upstream_ejections,
  upstream_health_checks,
  upstream_unavailable,
  upstream_panic,
  upstream_pool_idle,
  hub_fibers,
  hub_loop_lag,
  config_reloads,
  config_last_reload_success,
  count_,  // not a family: the number of them
};

struct FamilyInfo {
  FamilyId id;
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  bool per_endpoint;  // carries the endpoint label (dropped when per_endpoint_metrics is off)
};

inline constexpr size_t kFamilyCount = static_cast<size_t>(FamilyId::count_);

namespace catalog_detail {
using prometheus::MetricType;
using enum FamilyId;
inline constexpr MetricType kCounter = MetricType::Counter;
inline constexpr MetricType kGauge = MetricType::Gauge;
inline constexpr MetricType kHistogram = MetricType::Histogram;
}  // namespace catalog_detail

// Indexed by FamilyId.
inline constexpr std::array<FamilyInfo, kFamilyCount> kFamilies = [] {
  using namespace catalog_detail;
  return std::array<FamilyInfo, kFamilyCount>{{
      {build_info, "greenlb_build_info", kGauge,
       "Build of the running greenlb (the value is always 1).", false},
      {connections_accepted, "greenlb_connections_accepted_total", kCounter,
       "Client connections accepted by the listener.", false},
      {connections_active, "greenlb_connections_active", kGauge,
       "Client connections currently open on the listener.", false},
      {client_errors, "greenlb_client_errors_total", kCounter,
       "Client requests or connections ended by a client-side error, by reason.", false},
      {bytes_received, "greenlb_bytes_received_total", kCounter,
       "Bytes received from clients by the listener.", false},
      {bytes_sent, "greenlb_bytes_sent_total", kCounter, "Bytes sent to clients by the listener.",
       false},
      {tls_handshakes, "greenlb_tls_handshakes_total", kCounter,
       "TLS handshakes with clients on the listener, by result.", false},
      {tls_handshake_duration, "greenlb_tls_handshake_duration_seconds", kHistogram,
       "Duration of TLS handshakes with clients on the listener, in seconds.", false},
      {tls_certificate_expiry, "greenlb_tls_certificate_expiry_timestamp_seconds", kGauge,
       "Unix time at which the listener's certificate expires (its notAfter).", false},
      {requests, "greenlb_requests_total", kCounter,
       "HTTP requests answered to clients, by listener, upstream and exact status code.", false},
      {request_duration, "greenlb_request_duration_seconds", kHistogram,
       "Time from a request's arrival to the end of its response, in seconds.", false},
      {upstream_requests, "greenlb_upstream_requests_total", kCounter,
       "Responses received from an upstream endpoint, by exact status code.", true},
      {upstream_connect_duration, "greenlb_upstream_connect_duration_seconds", kHistogram,
       "Time to open a connection (TCP and TLS) to an upstream endpoint, in seconds.", false},
      {upstream_first_byte_duration, "greenlb_upstream_first_byte_duration_seconds", kHistogram,
       "Time from a request sent upstream to the first byte of its response, in seconds.", false},
      {upstream_endpoint_up, "greenlb_upstream_endpoint_up", kGauge,
       "1 when the endpoint may receive traffic (healthy and not ejected), else 0.", true},
      {upstream_endpoint_in_flight, "greenlb_upstream_endpoint_in_flight", kGauge,
       "Requests in flight to the endpoint, across all hubs.", true},
      {upstream_connect_failures, "greenlb_upstream_connect_failures_total", kCounter,
       "Failed connection attempts (TCP or TLS) to the endpoint.", true},
      {upstream_timeouts, "greenlb_upstream_timeouts_total", kCounter,
       "Upstream timeouts, by kind (connect, response, idle).", false},
      {upstream_retries, "greenlb_upstream_retries_total", kCounter,
       "Requests retried on another attempt.", false},
      {upstream_protocol_errors, "greenlb_upstream_protocol_errors_total", kCounter,
       "Upstream responses that broke HTTP framing after their head (bytes past the end of "
       "the response); the connection was closed, never reused.",
       false},
      {upstream_ejections, "greenlb_upstream_ejections_total", kCounter,
       "Outlier ejections of the endpoint.", true},
      {upstream_health_checks, "greenlb_upstream_health_checks_total", kCounter,
       "Active health checks of the endpoint, by result.", true},
      {upstream_unavailable, "greenlb_upstream_unavailable_total", kCounter,
       "Requests answered 503 without reaching an endpoint, by reason.", false},
      {upstream_panic, "greenlb_upstream_panic", kGauge,
       "1 while every endpoint is out and traffic spreads over all of them (panic mode).", false},
      {upstream_pool_idle, "greenlb_upstream_pool_idle_connections", kGauge,
       "Idle keep-alive connections to the upstream's endpoints, over all hubs.", false},
      {hub_fibers, "greenlb_hub_fibers", kGauge, "Live fibers on the hub.", false},
      {hub_loop_lag, "greenlb_hub_loop_lag_seconds", kHistogram,
       "Lateness of the hub's periodic loop probe timer, in seconds.", false},
      {config_reloads, "greenlb_config_reloads_total", kCounter,
       "Configuration reloads, by result (the initial load is not counted).", false},
      {config_last_reload_success, "greenlb_config_last_reload_success_timestamp_seconds", kGauge,
       "Unix time of the last successful configuration load or reload.", false},
  }};
}();

constexpr const FamilyInfo& familyInfo(FamilyId id) {
  return kFamilies[static_cast<size_t>(id)];
}

// The table is indexed by id: catch an entry out of place at compile time.
inline constexpr bool kFamiliesInIdOrder = [] {
  for (size_t i = 0; i < kFamilyCount; ++i) {
    if (static_cast<size_t>(kFamilies[i].id) != i) return false;
  }
  return true;
}();
static_assert(kFamiliesInIdOrder, "kFamilies must list the families in FamilyId order");

}  // namespace greenlb::metrics
