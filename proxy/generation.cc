#include "proxy/generation.h"

#include "core/dns.h"
#include "core/timeout.h"
#include "proxy/grpc_health_check.h"
#include "proxy/proxy_protocol.h"
#include "proxy/tls_probe.h"

namespace greenlb::proxy {

const ListenerPlan* Generation::findListener(const std::string& name) const {
  for (const auto& l : listeners) {
    if (l.config->name == name) return &l;
  }
  return nullptr;
}

int Generation::findUpstream(const std::string& name) const {
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (upstreams[i]->name() == name) return static_cast<int>(i);
  }
  return -1;
}

namespace {

// The static endpoints of an upstream, names resolved once (DNS discovery is separate).
bool resolveEndpoints(balancer::Upstream& up, std::vector<std::shared_ptr<balancer::Endpoint>>* out,
                      std::string* error) {
  for (const auto& ep : up.config().endpoints) {
    std::string name = ep.address.str();
    if (auto ip = core::SocketAddress::fromIp(ep.address.host, ep.address.port)) {
      out->push_back(up.makeEndpoint(name, *ip, ep.weight));
      continue;
    }
    core::Timeout t(std::chrono::seconds(10));
    auto addrs = core::resolve(ep.address.host, ep.address.port);
    if (!addrs.ok()) {
      *error = "upstream '" + up.name() + "': cannot resolve " + name + ": " +
               addrs.error().message();
      return false;
    }
    out->push_back(up.makeEndpoint(name, addrs->front(), ep.weight));
  }
  return true;
}

// A rate limit of the new generation; the previous generation's buckets when its limit is
// the same, so a reload neither forgets who is over the rate nor grants a fresh burst.
RateLimit rateLimitOf(const std::optional<conf::RateLimitConfig>& config, const RateLimit* before,
                      metrics::ListenerMetrics& metrics, const std::string& route) {
  if (!config) return {};
  RateLimit limit{nullptr, &metrics.rateLimited(route)};
  if (before != nullptr && before->limiter && before->limiter->config() == *config) {
    limit.limiter = before->limiter;
  } else {
    limit.limiter = std::make_shared<RateLimiter>(*config);
  }
  return limit;
}

}  // namespace

std::shared_ptr<Generation> buildGeneration(std::shared_ptr<const conf::Config> config,
                                            const TlsContexts& tls,
                                            const Generation* previous, uint64_t number,
                                            metrics::Registry& registry,
                                            const std::vector<core::Hub*>& hubs,
                                            std::string* error) {
  auto gen = std::make_shared<Generation>(hubs.size());
  gen->number = number;
  gen->config = config;
  // A DNS upstream resolves with the global resolver settings: when they change, it is
  // rebuilt (with a resolver reading the new files) like an upstream whose own keys changed.
  bool same_resolver = previous != nullptr &&
                       previous->config->global.resolv_conf == config->global.resolv_conf &&
                       previous->config->global.hosts_file == config->global.hosts_file;
  for (const auto& uc : config->upstreams) {
    if (previous != nullptr && (same_resolver || !uc.dns)) {
      int i = previous->findUpstream(uc.name);
      if (i >= 0 && previous->upstreams[static_cast<size_t>(i)]->config() == uc) {
        gen->upstreams.push_back(previous->upstreams[static_cast<size_t>(i)]);
        continue;
      }
    }
    core::ResolverOptions resolver{config->global.resolv_conf, config->global.hosts_file};
    auto up = std::make_shared<balancer::Upstream>(uc, registry, hubs, resolver);
    // Checks of a TLS upstream speak TLS. A carried-over upstream keeps the CA it was made
    // with for its checks; requests use the freshly loaded one. gRPC checks speak HTTP/2.
    balancer::ProbeHooks hooks;
    if (uc.send_proxy_protocol != conf::ProxyProtocol::off) {
      char header[kProxyHeaderMaxWrite];
      size_t n = writeProxyHeader(uc.send_proxy_protocol, nullptr, nullptr, header);
      hooks.preamble.assign(header, n);
    }
    if (auto found = tls.upstreams.find(uc.name); found != tls.upstreams.end()) {
      hooks.secure = tlsProbeChannel(found->second);
    }
    if (uc.health && uc.health->grpc_service) {
      hooks.conversation = grpcHealthCheck(*uc.health->grpc_service, uc.tls ? "https" : "http");
    }
    up->setProbeHooks(std::move(hooks));
    if (!uc.dns) {
      std::vector<std::shared_ptr<balancer::Endpoint>> endpoints;
      if (!resolveEndpoints(*up, &endpoints, error)) return nullptr;
      up->setEndpoints(std::move(endpoints), /*hubs_running=*/false);
    }
    gen->upstreams.push_back(std::move(up));
  }
  for (const auto& up : gen->upstreams) {
    auto found = tls.upstreams.find(up->name());
    gen->upstream_tls.push_back(found == tls.upstreams.end() ? nullptr : found->second);
  }
  for (const auto& lc : config->listeners) {
    auto index = [&](const std::string& name) { return gen->findUpstream(name); };
    ListenerPlan plan{&lc, Router(lc, index), &registry.listener(lc.name), nullptr, {}, {}, {}};
    if (auto found = tls.listeners.find(lc.name); found != tls.listeners.end()) {
      plan.tls = found->second;
      plan.metrics->clearCertificates();
      for (const CertificateInfo& c : plan.tls->certificates()) {
        plan.metrics->setCertificateExpiry(c.name, c.not_after);
      }
    }
    for (const auto& up : gen->upstreams) {
      plan.request_metrics.push_back(&registry.requests(lc.name, up->name()));
    }
    plan.request_metrics.push_back(&registry.requests(lc.name, ""));
    const ListenerPlan* before = previous != nullptr ? previous->findListener(lc.name) : nullptr;
    plan.rate_limit = rateLimitOf(lc.rate_limit, before ? &before->rate_limit : nullptr,
                                  *plan.metrics, "*");
    for (size_t i = 0; i < lc.routes.size(); ++i) {
      const RateLimit* old = before != nullptr && i < before->route_limits.size()
                                 ? &before->route_limits[i]
                                 : nullptr;
      plan.route_limits.push_back(
          rateLimitOf(lc.routes[i].rate_limit, old, *plan.metrics, std::to_string(i)));
    }
    gen->listeners.push_back(std::move(plan));
  }
  return gen;
}

}  // namespace greenlb::proxy
