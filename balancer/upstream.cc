#include "balancer/upstream.h"

#include <algorithm>
#include <cstdio>

namespace greenlb::balancer {

Upstream::Upstream(conf::UpstreamConfig config, metrics::Registry& registry,
                   std::vector<core::Hub*> hubs)
    : config_(std::move(config)),
      registry_(registry),
      metrics_(&registry.upstream(config_.name)),
      hubs_(std::move(hubs)),
      hubs_state_(new HubState[hubs_.size()]),
      latest_(std::make_shared<EndpointSet>()) {
  for (size_t i = 0; i < hubs_.size(); ++i) {
    hubs_state_[i].set = latest_;
    hubs_state_[i].picker = makePicker(config_.balance, i, 0x9e3779b97f4a7c15ULL * (i + 1));
    hubs_state_[i].picker->reset(*latest_);
  }
}

void Upstream::start() {
  // Health checks and DNS discovery attach here (balancer/health_checker, dns_discovery).
}

void Upstream::stop() {}

std::shared_ptr<Endpoint> Upstream::makeEndpoint(const std::string& name,
                                                 const core::SocketAddress& at, uint32_t weight) {
  return std::make_shared<Endpoint>(name, at, weight, hubs_.size(),
                                    registry_.endpoint(config_.name, name));
}

void Upstream::setEndpoints(std::vector<std::shared_ptr<Endpoint>> endpoints, bool hubs_running) {
  auto set = std::make_shared<EndpointSet>();
  set->endpoints = std::move(endpoints);
  {
    std::lock_guard<std::mutex> lock(mu_);
    set->version = ++version_;
    latest_ = set;
  }
  for (size_t i = 0; i < hubs_.size(); ++i) {
    if (!hubs_running) {
      applyOnHub(i, set);
    } else {
      hubs_[i]->post([this, i, set] { applyOnHub(i, set); });
    }
  }
}

void Upstream::applyOnHub(size_t hub, std::shared_ptr<const EndpointSet> set) {
  HubState& hs = hubs_state_[hub];
  if (hs.set->version > set->version) return;  // an older update arriving late
  hs.set = std::move(set);
  hs.picker->reset(*hs.set);
}

std::shared_ptr<const EndpointSet> Upstream::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

void Upstream::setPanic(bool on) {
  int64_t want = on ? 1 : 0;
  if (metrics_->panic.load(std::memory_order_relaxed) != want) {
    metrics_->panic.store(want, std::memory_order_relaxed);
  }
}

void Upstream::reportFailure(Endpoint& ep, core::TimePoint now) {
  const conf::OutlierConfig& o = config_.outlier;
  if (o.consecutive_failures == 0) return;
  if (ep.recordFailure() < o.consecutive_failures || ep.ejectedAt(now)) return;
  // Never more than max(1, floor(n * pct / 100)) endpoints out at once (SPEC 2).
  std::shared_ptr<const EndpointSet> set = snapshot();
  size_t ejected = 0;
  for (const auto& e : set->endpoints) ejected += e->ejectedAt(now) ? 1 : 0;
  size_t max_out = std::max<size_t>(1, set->size() * o.max_ejected_percent / 100);
  if (ejected >= max_out) return;
  ep.ejectFor(o.ejection, now);
  ep.recordSuccess();  // the count starts again after the ejection
  ep.metrics().ejections.add(hubIndexOrZero());
  std::fprintf(stderr, "greenlb: upstream '%s': endpoint %s ejected for %.1fs after %u consecutive failures\n",
               name().c_str(), ep.name().c_str(),
               core::toSeconds(ep.ejectedUntil() - now), o.consecutive_failures);
}

size_t Upstream::hubIndexOrZero() const {
  core::Hub* h = core::Hub::current();
  return h != nullptr ? static_cast<size_t>(h->id()) : 0;
}

Endpoint* Upstream::pick(size_t hub, const PickContext& ctx, PickFailure* why) {
  HubState& hs = hubs_state_[hub];
  const EndpointSet& set = *hs.set;
  *why = PickFailure::none;
  if (set.empty()) {
    *why = PickFailure::no_healthy;
    return nullptr;
  }
  Filter filter;
  filter.max_connections = config_.limits.max_connections;
  int i = hs.picker->pick(set, ctx, filter);
  if (i >= 0) {
    setPanic(false);
    return set.endpoints[static_cast<size_t>(i)].get();
  }
  // Nothing available. Is it the limits (some endpoint up but full) or health?
  bool any_up = false, any_untried_up = false;
  for (const auto& e : set.endpoints) {
    if (e->available(ctx.now)) {
      any_up = true;
      any_untried_up |= !ctx.wasTried(e.get());
    }
  }
  if (any_untried_up) {
    *why = PickFailure::limits;
    return nullptr;
  }
  if (!any_up) {
    // Every endpoint is unhealthy or ejected: panic spreads over all of them (SPEC 4).
    if (!config_.panic) {
      *why = PickFailure::no_healthy;
      return nullptr;
    }
    setPanic(true);
    filter.mode = Filter::kAnyUntried;
    if ((i = hs.picker->pick(set, ctx, filter)) >= 0) return set.endpoints[static_cast<size_t>(i)].get();
  }
  // Every candidate was tried already: a retry goes to one of them again.
  filter.mode = Filter::kAny;
  if (!any_up && !config_.panic) {
    *why = PickFailure::no_healthy;
    return nullptr;
  }
  i = hs.picker->pick(set, ctx, filter);
  return i >= 0 ? set.endpoints[static_cast<size_t>(i)].get() : nullptr;
}

}  // namespace greenlb::balancer
