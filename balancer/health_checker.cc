#include "balancer/health_checker.h"

#include <algorithm>
#include <cstdio>

#include "balancer/health_probe.h"

namespace greenlb::balancer {

using core::Clock;

// One endpoint's checks. `fiber` and `stopped` are touched only on `hub`'s thread.
struct HealthChecker::Probe {
  std::shared_ptr<Endpoint> endpoint;
  std::shared_ptr<const Settings> settings;
  core::Hub* hub = nullptr;
  core::Fiber* fiber = nullptr;
  bool stopped = false;
};

// The checking fiber's closure: clears probe->fiber when the fiber is done with it (ran to
// the end, or killed before it started), so a later kill order finds no dangling fiber.
struct HealthChecker::ProbeFiber {
  std::shared_ptr<Probe> probe;
  void operator()() { run(*probe); }
  ProbeFiber(std::shared_ptr<Probe> p) : probe(std::move(p)) {}
  ProbeFiber(ProbeFiber&&) = default;
  ~ProbeFiber() {
    if (probe != nullptr) probe->fiber = nullptr;
  }
};

HealthChecker::HealthChecker(std::string upstream, conf::HealthConfig config,
                             std::vector<core::Hub*> hubs, ProbeHooks hooks)
    : settings_(std::make_shared<const Settings>(
          Settings{std::move(upstream), std::move(config), std::move(hooks)})),
      hubs_(std::move(hubs)) {}

HealthChecker::~HealthChecker() { stop(); }

size_t HealthChecker::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return probes_.size();
}

void HealthChecker::follow(const EndpointSet& set) {
  std::lock_guard<std::mutex> lock(mu_);
  // Stop the checks of endpoints that left.
  for (size_t i = 0; i < probes_.size();) {
    const Endpoint* ep = probes_[i]->endpoint.get();
    bool kept = std::any_of(set.endpoints.begin(), set.endpoints.end(),
                            [ep](const std::shared_ptr<Endpoint>& e) { return e.get() == ep; });
    if (kept) {
      ++i;
      continue;
    }
    std::shared_ptr<Probe> p = std::move(probes_[i]);
    probes_[i] = std::move(probes_.back());
    probes_.pop_back();
    p->hub->post([p] {
      p->stopped = true;
      if (p->fiber != nullptr) p->fiber->kill();
    });
  }
  for (const auto& e : set.endpoints) {
    bool known = std::any_of(probes_.begin(), probes_.end(),
                             [&e](const std::shared_ptr<Probe>& p) { return p->endpoint == e; });
    if (!known) startProbe(e);
  }
}

void HealthChecker::startProbe(std::shared_ptr<Endpoint> ep) {
  auto p = std::make_shared<Probe>();
  p->endpoint = std::move(ep);
  p->settings = settings_;
  p->hub = hubs_[next_hub_++ % hubs_.size()];
  probes_.push_back(p);
  p->hub->post([p] {
    if (p->stopped) return;
    p->fiber = p->hub->spawnDetached("health-check", ProbeFiber(p));
    if (p->fiber == nullptr) {
      std::fprintf(stderr, "greenlb: upstream '%s': no fiber for the health checks of %s (stack limit)\n",
                   p->settings->upstream.c_str(), p->endpoint->name().c_str());
    }
  });
}

void HealthChecker::stop() {
  std::vector<std::shared_ptr<Probe>> probes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    probes.swap(probes_);
  }
  for (auto& p : probes) {
    p->hub->post([p] {
      p->stopped = true;
      if (p->fiber != nullptr) p->fiber->kill();
    });
  }
}

void HealthChecker::run(Probe& probe) {
  Endpoint& ep = *probe.endpoint;
  const Settings& s = *probe.settings;
  const conf::HealthConfig& cfg = s.config;
  auto hub = static_cast<size_t>(core::Hub::current()->id());
  uint32_t passed = 0, failed = 0;
  bool first = true;
  for (;;) {
    core::TimePoint started = Clock::now();
    ProbeResult r = probeEndpoint(ep, cfg, s.hooks);
    if (r.cancelled || probe.stopped) return;
    core::TimePoint now = Clock::now();
    ep.lastCheck().set(r.ok, r.ok ? std::string() : r.reason, now);
    if (r.ok) {
      ep.metrics().health_checks[metrics::index(metrics::CheckResult::success)].add(hub);
      failed = 0;
      ++passed;
      if (!ep.healthy() && passed >= cfg.rise) {
        ep.setHealthy(true, now);
        std::fprintf(stderr, "greenlb: upstream '%s': endpoint %s is UP (%u successful check%s)\n",
                     s.upstream.c_str(), ep.name().c_str(), passed, passed == 1 ? "" : "s");
      }
    } else {
      ep.metrics().health_checks[metrics::index(metrics::CheckResult::failure)].add(hub);
      passed = 0;
      ++failed;
      if (ep.healthy() && (first || failed >= cfg.fall)) {
        ep.setHealthy(false, now);
        std::fprintf(stderr, "greenlb: upstream '%s': endpoint %s is DOWN (%u failed check%s: %s)\n",
                     s.upstream.c_str(), ep.name().c_str(), failed, failed == 1 ? "" : "s",
                     r.reason.c_str());
      }
    }
    first = false;
    // Interval from start to start: one check per interval, however long checks take.
    core::Duration wait = cfg.interval - (Clock::now() - started);
    if (!core::sleep(std::max(wait, core::Duration::zero())).ok()) return;
  }
}

}  // namespace greenlb::balancer
