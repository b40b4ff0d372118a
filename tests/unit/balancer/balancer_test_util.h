// Test helpers: upstreams with made-up endpoints, picked from without running hubs, and a
// runtime of real hubs for what needs fibers (timers, checks, waiting).
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancer/upstream.h"
#include "conf/config.h"
#include "core/runtime.h"
#include "metrics/registry.h"

namespace greenlb::balancer::testing {

inline std::string endpointName(size_t i) { return "10.0.0." + std::to_string(i + 1) + ":80"; }

inline conf::UpstreamConfig upstreamConfig(conf::Balance balance) {
  conf::UpstreamConfig c;
  c.name = "app";
  c.balance = balance;
  if (balance == conf::Balance::maglev) c.hash.key = conf::HashKey::header;
  c.hash.name = "x-user";
  return c;
}

// An upstream of `weights.size()` endpoints named endpointName(i), with `hubs` hub slots
// (no hub objects: only pick() and setEndpoints(..., false) may be used).
struct TestUpstream {
  metrics::Registry registry;
  std::unique_ptr<Upstream> upstream;

  TestUpstream(conf::UpstreamConfig config, std::vector<uint32_t> weights, size_t hubs = 1)
      : registry(hubs, "test") {
    upstream = std::make_unique<Upstream>(std::move(config), registry,
                                          std::vector<core::Hub*>(hubs, nullptr));
    std::vector<std::shared_ptr<Endpoint>> eps;
    for (size_t i = 0; i < weights.size(); ++i) eps.push_back(make(endpointName(i), weights[i]));
    upstream->setEndpoints(std::move(eps), false);
  }
  std::shared_ptr<Endpoint> make(const std::string& name, uint32_t weight = 1) {
    return upstream->makeEndpoint(name, *core::SocketAddress::fromIp("127.0.0.1", 80), weight);
  }
  Endpoint& at(size_t i) { return upstream->hubEndpoints(0)[i]; }
  size_t size() { return upstream->hubEndpoints(0).size(); }

  // The name of the endpoint picked (or "" when none), on hub `hub`.
  std::string pickName(const PickContext& ctx, PickFailure* why = nullptr, size_t hub = 0) {
    PickFailure w;
    Endpoint* e = upstream->pick(hub, ctx, why != nullptr ? why : &w);
    return e == nullptr ? std::string() : e->name();
  }
  // Picks per endpoint name over `n` picks at `now`.
  std::map<std::string, int> counts(int n, core::TimePoint now = core::Clock::now()) {
    std::map<std::string, int> out;
    PickContext ctx;
    ctx.now = now;
    for (int i = 0; i < n; ++i) ++out[pickName(ctx)];
    return out;
  }
};

// Endpoints of `up` named `names`, at 127.0.0.1 ports 1, 2... (nothing listens there: for
// tests that never connect).
inline std::vector<std::shared_ptr<Endpoint>> fakeEndpoints(Upstream& up,
                                                           std::initializer_list<const char*> names) {
  std::vector<std::shared_ptr<Endpoint>> out;
  uint16_t port = 1;
  for (const char* n : names) out.push_back(up.makeEndpoint(n, *core::SocketAddress::fromIp("127.0.0.1", port++), 1));
  return out;
}

// `n` real hubs and a registry for them; run() runs a body as the main fiber on hub 0.
struct Hubs {
  core::Runtime runtime;
  metrics::Registry registry;
  std::vector<core::Hub*> hubs;

  explicit Hubs(unsigned n) : runtime(options(n)), registry(n, "test") {
    for (unsigned i = 0; i < n; ++i) hubs.push_back(&runtime.hub(i));
  }
  void run(std::function<void()> body) { runtime.run(std::move(body)); }

 private:
  static core::RuntimeOptions options(unsigned n) {
    core::RuntimeOptions o;
    o.hubs = n;
    return o;
  }
};

}  // namespace greenlb::balancer::testing
