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

bool RequestMetrics::counted() const {
  if (duration.snapshot().count != 0) return true;
  bool any = false;
  requests.forEach([&](int, uint64_t) { any = true; });
  return any;
}

}  // namespace greenlb::metrics
