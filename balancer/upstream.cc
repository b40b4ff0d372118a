#include "balancer/upstream.h"

#include <algorithm>
#include <cstdio>

#include "balancer/dns_discovery.h"
#include "balancer/hash_key.h"
#include "balancer/health_checker.h"
#include "balancer/policies.h"
#include "core/timeout.h"

namespace greenlb::balancer {

using core::Clock;

Upstream::Upstream(conf::UpstreamConfig config, metrics::Registry& registry,
                   std::vector<core::Hub*> hubs, core::ResolverOptions resolver)
    : config_(std::move(config)),
      needs_(conf::needsOf(config_)),
      registry_(registry),
      metrics_(&registry.upstream(config_.name)),
      hubs_(std::move(hubs)),
      resolver_options_(std::move(resolver)),
      hubs_state_(new HubState[hubs_.size()]),
      retry_budget_(config_.retry.budget_percent, hubs_.size()),
      pending_(config_.limits.max_pending, hubs_.size()),
      latest_(std::make_shared<EndpointSet>()) {
  for (size_t i = 0; i < hubs_.size(); ++i) {
    hubs_state_[i].set = latest_;
    hubs_state_[i].picker = makePicker(config_.balance, i, 0x9e3779b97f4a7c15ULL * (i + 1));
    hubs_state_[i].picker->reset(*latest_);
  }
}

Upstream::~Upstream() {
  // stop() has normally run (on hub 0); this covers objects that never started serving.
  if (health_ != nullptr) health_->stop();
}

void Upstream::start() {
  if (started_) return;
  started_ = true;
  // A predecessor replaced by this reload may have written an endpoint's `up` gauge after
  // this upstream's endpoints set it (the reload stops the old upstream first).
  for (const auto& e : snapshot()->endpoints) e->refreshUp(Clock::now());
  if (config_.health) {
    auto checker = std::make_unique<HealthChecker>(name(), *config_.health, hubs_, probe_hooks_);
    std::lock_guard<std::mutex> lock(mu_);
    checker->follow(*latest_);
    health_ = std::move(checker);
  }
  if (config_.dns) {
    dns_ = std::make_unique<DnsDiscovery>(*this, *config_.dns, config_.resolve_every,
                                          resolver_options_);
    dns_->start();
  }
}

void Upstream::stop() {
  if (dns_ != nullptr) {
    dns_->stop();
    dns_.reset();
  }
  std::unique_ptr<HealthChecker> checker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checker = std::move(health_);
  }
  if (checker != nullptr) checker->stop();
  // A reload replaced this upstream: its successor's endpoints own the gauges now.
  for (const auto& e : snapshot()->endpoints) e->retire();
}

std::shared_ptr<Endpoint> Upstream::makeEndpoint(const std::string& name,
                                                 const core::SocketAddress& at, uint32_t weight) {
  auto endpoint = std::make_shared<Endpoint>(name, at, weight, hubs_.size(),
                                             registry_.endpoint(config_.name, name));
  endpoint->setStickyId(stickyIdOf(config_.name, name));
  return endpoint;
}

void Upstream::setEndpoints(std::vector<std::shared_ptr<Endpoint>> endpoints, bool hubs_running) {
  auto set = std::make_shared<EndpointSet>();
  set->endpoints = std::move(endpoints);
  preparePolicy(config_.balance, *set);
  if (config_.sticky) {
    std::vector<std::pair<uint64_t, uint32_t>> ids;
    for (size_t i = 0; i < set->endpoints.size(); ++i) {
      ids.emplace_back(set->endpoints[i]->stickyId(), static_cast<uint32_t>(i));
    }
    set->sticky = StickyIndex(ids);
  }
  std::shared_ptr<const EndpointSet> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    set->version = ++version_;
    previous = std::move(latest_);
    latest_ = set;
    if (health_ != nullptr) health_->follow(*set);
  }
  if (previous != nullptr) {
    for (const auto& e : previous->endpoints) {
      if (std::find(set->endpoints.begin(), set->endpoints.end(), e) == set->endpoints.end()) {
        e->retire();
      }
    }
  }
  for (size_t i = 0; i < hubs_.size(); ++i) {
    if (!hubs_running) {
      applyOnHub(hubs_state_[i], set);
    } else {
      hubs_[i]->post([state = hubs_state_, i, set] { applyOnHub(state[i], set); });
    }
  }
}

void Upstream::applyOnHub(HubState& hs, std::shared_ptr<const EndpointSet> set) {
  if (hs.set->version > set->version) return;  // an older update arriving late
  hs.set = std::move(set);
  hs.picker->reset(*hs.set);
}

void Upstream::hashInto(const RequestView& request, PickContext& ctx) const {
  char ip[64];
  std::string_view client_ip;
  if (request.peer != nullptr) client_ip = {ip, request.peer->ipText(ip, sizeof ip)};
  auto header = [&request](std::string_view name) {
    return request.header != nullptr ? request.header(request.request, name) : std::string_view();
  };
  if (auto h = hashKey(config_.hash, client_ip, request.target, header)) {
    ctx.hash = *h;
    ctx.has_hash = true;
  }
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
  // Failures of requests that were in flight when it was ejected say nothing new: counted,
  // they would eject it again on its first failure after it returns.
  if (ep.ejectedAt(now)) return;
  if (ep.recordFailure() < o.consecutive_failures) return;
  {
    // Never more than max(1, floor(n * pct / 100)) endpoints out at once
    // (docs/balancing.md, "Passive outlier ejection"). Hubs decide one at a time, so two
    // cannot both take the last ejection the limit allows.
    std::lock_guard<std::mutex> lock(eject_mu_);
    if (ep.ejectedAt(now)) return;
    std::shared_ptr<const EndpointSet> set = snapshot();
    size_t ejected = 0;
    for (const auto& e : set->endpoints) ejected += e->ejectedAt(now) ? 1 : 0;
    size_t max_out = std::max<size_t>(1, set->size() * o.max_ejected_percent / 100);
    if (ejected >= max_out) return;
    ep.ejectFor(o.ejection, now);
  }
  ep.recordSuccess();  // the count starts again after the ejection
  ep.metrics().ejections.add(hubIndexOrZero());
  std::fprintf(stderr, "greenlb: upstream '%s': endpoint %s ejected for %.1fs after %u consecutive failures\n",
               name().c_str(), ep.name().c_str(),
               core::toSeconds(ep.ejectedUntil() - now), o.consecutive_failures);
  scheduleReturn(ep);
}

void Upstream::scheduleReturn(Endpoint& ep) {
  // The endpoint is picked again as soon as the ejection ends (pickers compare times);
  // this only brings its `up` gauge back then. A fiber that holds the endpoint alone, so
  // it outlives neither the endpoint nor needs this upstream.
  core::Hub* hub = core::Hub::current();
  std::shared_ptr<Endpoint> self = ep.weak_from_this().lock();
  if (hub == nullptr || self == nullptr) return;
  (void)hub->spawnDetached("outlier-return", [e = std::move(self)] {
    for (;;) {
      core::TimePoint now = Clock::now();
      core::TimePoint until = e->ejectedUntil();
      if (now >= until) break;
      if (!core::sleep(until - now).ok()) return;
    }
    e->refreshUp(Clock::now());
  });
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
  filter.max_connections = inFlightLimit();
  filter.slow_start = config_.outlier.slow_start;
  // A sticky cookie's endpoint, while it may take the request (docs/balancing.md,
  // "Sticky sessions"); else the policy picks and the response sets the cookie anew.
  if (ctx.sticky != 0) {
    int at = set.sticky.find(ctx.sticky);
    if (at >= 0 && filter.accepts(set[static_cast<size_t>(at)], ctx)) {
      setPanic(false);
      return set.endpoints[static_cast<size_t>(at)].get();
    }
  }
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
  if (any_up) {
    // Every available endpoint was tried already: the retry goes to one of them again.
    filter.mode = Filter::kAvailableAgain;
    if ((i = hs.picker->pick(set, ctx, filter)) >= 0) return set.endpoints[static_cast<size_t>(i)].get();
    *why = PickFailure::limits;
    return nullptr;
  }
  // Every endpoint is unhealthy or ejected: panic spreads over all of them
  // (docs/balancing.md, "Panic mode").
  if (!config_.panic) {
    *why = PickFailure::no_healthy;
    return nullptr;
  }
  setPanic(true);
  filter.mode = Filter::kAnyUntried;
  if ((i = hs.picker->pick(set, ctx, filter)) < 0) {
    filter.mode = Filter::kAny;  // every one was tried: one of them again
    i = hs.picker->pick(set, ctx, filter);
  }
  return i >= 0 ? set.endpoints[static_cast<size_t>(i)].get() : nullptr;
}

Endpoint* Upstream::pickAndBegin(size_t hub, const PickContext& ctx, PickFailure* why) {
  const auto max = static_cast<int64_t>(inFlightLimit());
  // A slot seen free by pick() may be taken by another hub before this one begins: look
  // again a few times (each miss means someone else got a request through).
  for (int tries = 0; tries < 8; ++tries) {
    Endpoint* ep = pick(hub, ctx, why);
    if (ep == nullptr) return nullptr;
    if (max == 0 || inPanic()) {  // panic ignores limits (docs/balancing.md#panic-mode)
      ep->beginRequest();
      return ep;
    }
    if (ep->tryBeginRequest(max)) return ep;
  }
  *why = PickFailure::limits;
  return nullptr;
}

Endpoint* Upstream::pickOrWait(size_t hub, PickContext& ctx, PickFailure* why) {
  Endpoint* ep = pickAndBegin(hub, ctx, why);
  if (ep != nullptr || *why != PickFailure::limits) return ep;
  PendingQueue::Waiter waiter(pending_, hub);
  if (!waiter.admitted()) return nullptr;
  core::Timeout deadline(config_.timeouts.connect);
  while (waiter.wait()) {
    ctx.now = Clock::now();
    ep = pickAndBegin(hub, ctx, why);
    if (ep != nullptr || *why != PickFailure::limits) return ep;
  }
  ctx.now = Clock::now();
  *why = PickFailure::limits;  // no slot within the wait, or cancelled
  return nullptr;
}

}  // namespace greenlb::balancer
