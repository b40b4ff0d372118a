#include "metrics/families.h"

namespace greenlb::metrics {

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

Counter& ListenerMetrics::rateLimited(const std::string& route) {
  std::lock_guard lock(rate_limited_mu_);
  auto& counter = rate_limited_[route];
  if (!counter) counter = std::make_unique<Counter>(hubs_);
  return *counter;
}

std::vector<std::pair<std::string, uint64_t>> ListenerMetrics::rateLimitedCounts() const {
  std::lock_guard lock(rate_limited_mu_);
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [route, counter] : rate_limited_) out.emplace_back(route, counter->value());
  return out;
}

bool RequestMetrics::counted() const {
  if (duration.snapshot().count != 0) return true;
  bool any = false;
  requests.forEach([&](int, uint64_t) { any = true; });
  return any;
}

}  // namespace greenlb::metrics
