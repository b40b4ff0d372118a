#include "balancer/dns_discovery.h"

#include <algorithm>
#include <cstdio>

#include "balancer/upstream.h"
#include "core/timeout.h"

namespace greenlb::balancer {

using core::Clock;

namespace {

// A resolution gets this long at most (evdns retries within it), and never longer than
// the interval, so a dead nameserver cannot stack rounds up.
core::Duration roundTimeout(core::Duration every) {
  return std::clamp<core::Duration>(every, std::chrono::seconds(1), std::chrono::seconds(5));
}

}  // namespace

std::vector<std::shared_ptr<Endpoint>> mergeMembership(Upstream& upstream,
                                                       const EndpointSet& current,
                                                       const std::vector<core::SocketAddress>& found,
                                                       bool ramp, core::TimePoint now,
                                                       size_t* added, size_t* removed) {
  std::vector<std::string> names;
  names.reserve(found.size());
  for (const auto& a : found) names.push_back(a.str());
  std::vector<std::shared_ptr<Endpoint>> out;
  *added = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    const std::string& name = names[i];
    if (std::any_of(out.begin(), out.end(), [&](const auto& e) { return e->name() == name; })) {
      continue;  // an address answered twice
    }
    auto kept = std::find_if(current.endpoints.begin(), current.endpoints.end(),
                             [&](const auto& e) { return e->name() == name; });
    if (kept != current.endpoints.end()) {
      out.push_back(*kept);
      continue;
    }
    std::shared_ptr<Endpoint> e = upstream.makeEndpoint(name, found[i], 1);
    if (ramp) e->startRamp(now);
    out.push_back(std::move(e));
    ++*added;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->name() < b->name(); });
  *removed = current.size() + *added - out.size();
  return out;
}

DnsDiscovery::DnsDiscovery(Upstream& upstream, conf::Address name, core::Duration every,
                           core::ResolverOptions options)
    : upstream_(upstream), name_(std::move(name)), every_(every), options_(std::move(options)) {}

DnsDiscovery::~DnsDiscovery() = default;

void DnsDiscovery::start() {
  resolver_ = std::make_unique<core::Resolver>(options_);
  if (!resolveOnce()) return;
  fiber_ = core::spawn([this] { loop(); }, "dns-discovery");
}

void DnsDiscovery::stop() {
  if (fiber_.valid()) {
    fiber_.kill();
    while (!fiber_.done()) {
      if (!fiber_.join().ok() && !fiber_.done()) core::yield();  // our own wait failed: again
    }
  }
  resolver_.reset();
}

void DnsDiscovery::loop() {
  for (;;) {
    if (!core::sleep(every_).ok()) return;
    if (!resolveOnce()) return;
  }
}

bool DnsDiscovery::resolveOnce() {
  core::Result<std::vector<core::SocketAddress>> found = core::Error{EIO};
  {
    core::Timeout t(roundTimeout(every_));
    found = resolver_->resolve(name_.host, name_.port);
  }
  if (!found.ok() && found.error().cancelled()) return false;
  std::shared_ptr<const EndpointSet> current = upstream_.snapshot();
  if (!found.ok() && found.error().code != ENOENT) {
    if (found.error().code != last_error_) {
      std::fprintf(stderr, "greenlb: upstream '%s': cannot resolve %s (%s): keeping %zu endpoint(s)\n",
                   upstream_.name().c_str(), name_.str().c_str(),
                   found.error().timedOut() ? "timed out" : found.error().message(),
                   current->size());
      last_error_ = found.error().code;
    }
    return true;
  }
  // ENOENT: the name has no address (now): an empty upstream, not a failure to keep.
  std::vector<core::SocketAddress> addresses;
  if (found.ok()) addresses = std::move(*found);
  bool recovered = last_error_ != 0;
  last_error_ = 0;
  size_t added = 0, removed = 0;
  std::vector<std::shared_ptr<Endpoint>> next = mergeMembership(
      upstream_, *current, addresses, resolutions_ > 0, Clock::now(), &added, &removed);
  bool first = resolutions_++ == 0;
  if (!first && added == 0 && removed == 0) {
    if (recovered) {
      std::fprintf(stderr, "greenlb: upstream '%s': %s resolves again: %zu endpoint(s), unchanged\n",
                   upstream_.name().c_str(), name_.str().c_str(), next.size());
    }
    return true;
  }
  std::string list;
  for (const auto& e : next) list += " " + e->name();
  std::fprintf(stderr, "greenlb: upstream '%s': %s -> %zu endpoint(s) (+%zu -%zu):%s\n",
               upstream_.name().c_str(), name_.str().c_str(), next.size(), added, removed,
               list.empty() ? " none" : list.c_str());
  upstream_.setEndpoints(std::move(next), /*hubs_running=*/true);
  return true;
}

}  // namespace greenlb::balancer
