// The outcome of an endpoint's latest active health check, for the status page's "down by
// health check: status 503" (docs/observability.md). Written by the endpoint's check fiber
// once per interval and read by the admin server; both are cold paths, so a mutex guards
// the reason text (never held across a park).
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "core/time.h"

namespace greenlb::balancer {

class LastCheck {
 public:
  struct Outcome {
    bool ok = false;
    std::string reason;  // why it failed ("connect refused", "status 503"); "" when ok
    core::TimePoint at{};
  };

  void set(bool ok, std::string reason, core::TimePoint at) {
    std::lock_guard lock(mu_);
    outcome_ = Outcome{ok, std::move(reason), at};
  }
  // Nothing before the first check (and for endpoints without active checks).
  std::optional<Outcome> get() const {
    std::lock_guard lock(mu_);
    return outcome_;
  }

 private:
  mutable std::mutex mu_;
  std::optional<Outcome> outcome_;
};

}  // namespace greenlb::balancer
