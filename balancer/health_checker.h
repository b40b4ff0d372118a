// Active health checks of one upstream's endpoints ([upstream.health]).
//
// One fiber per endpoint, spread over the hubs (the i-th endpoint checked on hub i % hubs,
// later ones round robin), checks it every `interval` (health_probe.h): exactly one check
// per endpoint per interval in the whole process, not one per hub. `fall` failed checks in
// a row take it out of rotation, `rise` passed checks in a row bring it back; each change
// is logged to stderr and greenlb_upstream_health_checks_total{result} counts every check.
//
// Initial state (HAProxy's `init-state up`): an endpoint starts up, as an endpoint without
// checks does (docs/balancing.md, "Panic mode"), and its first check runs at once; if that
// first check fails the endpoint goes down immediately rather than after `fall` failures,
// since it was never seen up. So a fresh process neither starts in panic (Envoy's
// "unhealthy until the first pass") nor sends traffic for `fall` intervals to a backend
// that is not there.
//
// The fibers hold shared_ptrs to what they touch (their Endpoint, the settings); the
// controller only posts start and kill orders to their hubs, so it and its Upstream may go
// away while a killed fiber is still unwinding.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "balancer/endpoint_set.h"
#include "balancer/probe_channel.h"
#include "conf/config.h"
#include "core/hub.h"

namespace greenlb::balancer {

class HealthChecker {
 public:
  // `hooks`: see probe_channel.h (empty for plain HTTP/1.1 and TCP checks).
  HealthChecker(std::string upstream, conf::HealthConfig config, std::vector<core::Hub*> hubs,
                ProbeHooks hooks = {});
  ~HealthChecker();  // stop()
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Checks every endpoint of `set`: starts checks for new ones, stops those of endpoints
  // no longer in it (state lives in the Endpoint, so a kept one just keeps its fiber).
  // Any thread.
  void follow(const EndpointSet& set);
  // Kills every check (on its own hub). Any thread; idempotent.
  void stop();
  // Endpoints being checked.
  size_t size() const;

 private:
  struct Settings {
    std::string upstream;
    conf::HealthConfig config;
    ProbeHooks hooks;
  };
  struct Probe;
  struct ProbeFiber;
  static void run(Probe& probe);
  void startProbe(std::shared_ptr<Endpoint> ep);

  std::shared_ptr<const Settings> settings_;
  std::vector<core::Hub*> hubs_;
  mutable std::mutex mu_;  // guards probes_ and next_hub_
  std::vector<std::shared_ptr<Probe>> probes_;
  size_t next_hub_ = 0;
};

}  // namespace greenlb::balancer
