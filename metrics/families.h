// The metric objects the proxy and the balancer count into, one per label set (SPEC 5).
//
// The Registry creates them and keeps them at stable addresses; the hot path holds plain
// pointers and counts with the sharded primitives (no lock). Arrays are indexed by the
// enums below, e.g. `listener.client_errors[index(ClientError::too_large)].add(hub)`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/sharded.h"

namespace greenlb::metrics {

enum class ClientError : uint8_t { bad_request, header_timeout, too_large, reset };  // reason
enum class TimeoutKind : uint8_t { connect, response, idle };                        // kind
enum class Unavailable : uint8_t { no_healthy, limits, draining };                   // reason
enum class CheckResult : uint8_t { success, failure };                               // result

// Label values, in enum order.
inline constexpr std::string_view kClientErrorNames[] = {"bad_request", "header_timeout",
                                                         "too_large", "reset"};
inline constexpr std::string_view kTimeoutKindNames[] = {"connect", "response", "idle"};
inline constexpr std::string_view kUnavailableNames[] = {"no_healthy", "limits", "draining"};
inline constexpr std::string_view kCheckResultNames[] = {"success", "failure"};

// The array index of an enum value.
template <class E>
constexpr size_t index(E e) {
  return static_cast<size_t>(e);
}

// Labels: listener.
struct ListenerMetrics {
  explicit ListenerMetrics(size_t hubs);

  Counter connections_accepted;
  Gauge connections_active;
  Counter client_errors[std::size(kClientErrorNames)];  // by ClientError
  Counter bytes_received;
  Counter bytes_sent;
  Counter tls_handshakes[std::size(kCheckResultNames)];  // by CheckResult
  Histogram tls_handshake_duration;

  // greenlb_tls_certificate_expiry_timestamp_seconds{listener,name}; `name` identifies the
  // certificate (its file or subject). Startup and reload only (takes a mutex); a reload
  // calls clearCertificates() first and sets the new list.
  void setCertificateExpiry(std::string name, double unix_seconds);
  void clearCertificates();
  std::vector<std::pair<std::string, double>> certificates() const;
  // TLS families are exported for listeners that have certificates or did handshakes, so
  // plain listeners carry no TLS series.
  bool hasTls() const;

 private:
  mutable std::mutex certificates_mu_;
  std::map<std::string, double> certificates_;
};

// Labels: listener, upstream ("" for proxy-made answers with no upstream).
struct RequestMetrics {
  explicit RequestMetrics(size_t hubs);

  StatusCounters requests;  // greenlb_requests_total{listener,upstream,code}
  Histogram duration;       // greenlb_request_duration_seconds{listener,upstream}
};

// Labels: upstream.
struct UpstreamMetrics {
  explicit UpstreamMetrics(size_t hubs);

  Histogram connect_duration;
  Histogram first_byte_duration;
  Counter timeouts[std::size(kTimeoutKindNames)];  // by TimeoutKind
  Counter retries;
  Counter protocol_errors;  // greenlb_upstream_protocol_errors_total{upstream}
  Counter unavailable[std::size(kUnavailableNames)];  // by Unavailable
  std::atomic<int64_t> panic{0};                      // 0/1, written by the balancer
  Gauge pool_idle;  // greenlb_upstream_pool_idle_connections{upstream}
};

// Labels: upstream, endpoint ("127.0.0.1:9001").
struct EndpointMetrics {
  explicit EndpointMetrics(size_t hubs);

  StatusCounters requests;  // greenlb_upstream_requests_total{upstream,endpoint,code}
  Counter connect_failures;
  Counter ejections;
  Counter health_checks[std::size(kCheckResultNames)];  // by CheckResult
  std::atomic<int64_t> up{1};                           // 0/1, written by the balancer
  // The endpoint's in-flight requests across all hubs: the one shared count that
  // least_conn reads, so it is a true atomic (fetch_add/fetch_sub from any hub).
  std::atomic<int64_t> in_flight{0};
};

}  // namespace greenlb::metrics
