#include "metrics/families.h"

namespace greenlb::metrics {

ListenerMetrics::ListenerMetrics(size_t hubs)
    : connections_accepted(hubs),
      connections_active(hubs),
      client_errors{Counter(hubs), Counter(hubs), Counter(hubs), Counter(hubs)},
      bytes_received(hubs),
      bytes_sent(hubs),
      tls_handshakes{Counter(hubs), Counter(hubs)},
      tls_handshake_duration(hubs, kLatencyBuckets) {}

void ListenerMetrics::setCertificateExpiry(std::string name, double unix_seconds) {
  std::lock_guard lock(certificates_mu_);
  certificates_[std::move(name)] = unix_seconds;
}

void ListenerMetrics::clearCertificates() {
  std::lock_guard lock(certificates_mu_);
  certificates_.clear();
}

std::vector<std::pair<std::string, double>> ListenerMetrics::certificates() const {
  std::lock_guard lock(certificates_mu_);
  return {certificates_.begin(), certificates_.end()};
}

bool ListenerMetrics::hasTls() const {
  {
    std::lock_guard lock(certificates_mu_);
    if (!certificates_.empty()) return true;
  }
  for (const Counter& c : tls_handshakes) {
    if (c.value() != 0) return true;
  }
  return false;
}

RequestMetrics::RequestMetrics(size_t hubs) : requests(hubs), duration(hubs, kLatencyBuckets) {}

UpstreamMetrics::UpstreamMetrics(size_t hubs)
    : connect_duration(hubs, kLatencyBuckets),
      first_byte_duration(hubs, kLatencyBuckets),
      timeouts{Counter(hubs), Counter(hubs), Counter(hubs)},
      retries(hubs),
      protocol_errors(hubs),
      unavailable{Counter(hubs), Counter(hubs), Counter(hubs)},
      pool_idle(hubs) {}

EndpointMetrics::EndpointMetrics(size_t hubs)
    : requests(hubs),
      connect_failures(hubs),
      ejections(hubs),
      health_checks{Counter(hubs), Counter(hubs)} {}

}  // namespace greenlb::metrics
