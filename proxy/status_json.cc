#include "proxy/status_json.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

#include "proxy/json_writer.h"
#include "proxy/server.h"

namespace greenlb::proxy {
namespace {

// A steady-clock instant as Unix seconds (for ejected_until).
double toUnixSeconds(core::TimePoint t) {
  auto system_now = std::chrono::system_clock::now();
  auto delta = t - core::Clock::now();
  return std::chrono::duration<double>(system_now.time_since_epoch() + delta).count();
}

uint64_t totalOf(const metrics::StatusCounters& c) {
  uint64_t sum = 0;
  c.forEach([&](int, uint64_t n) { sum += n; });
  return sum;
}

// One word for the status page (docs/observability.md): a health-check verdict outranks
// an ejection, which ends by itself.
std::string_view stateOf(const balancer::Endpoint& ep, core::TimePoint now) {
  if (!ep.healthy()) return "down";
  return ep.ejectedAt(now) ? "ejected" : "up";
}

void writeLastCheck(JsonWriter& w, const balancer::Endpoint& ep, core::TimePoint now) {
  std::optional<balancer::LastCheck::Outcome> check = ep.lastCheck().get();
  if (!check) {
    w.null();
    return;
  }
  w.beginObject();
  w.key("ok").value(check->ok);
  w.key("reason").value(check->reason);
  w.key("at").value(toUnixSeconds(check->at));
  w.key("age_seconds").value(core::toSeconds(now - check->at));
  w.endObject();
}

// Endpoints that left the upstream's membership (reload, DNS) and are still alive: their
// requests in flight finish on them.
void writeDraining(JsonWriter& w, Server& server, const balancer::Upstream& up,
                   const balancer::EndpointSet& set) {
  w.key("draining_endpoints").beginArray();
  for (const auto& alive : server.registry().endpointsOf(up.name())) {
    const std::string& address = alive.first;
    bool member = std::any_of(set.endpoints.begin(), set.endpoints.end(),
                              [&](const auto& ep) { return ep->name() == address; });
    if (member) continue;
    const metrics::EndpointMetrics& m = *alive.second;
    w.beginObject();
    w.key("address").value(address);
    w.key("state").value("draining");
    w.key("in_flight").value(m.in_flight.load(std::memory_order_relaxed));
    w.key("requests_total").value(totalOf(m.requests));
    w.endObject();
  }
  w.endArray();
}

void writeReload(JsonWriter& w, Server& server) {
  const metrics::Registry& r = server.registry();
  w.key("reload").beginObject();
  w.key("successes").value(r.configReloads(true));
  w.key("failures").value(r.configReloads(false));
  w.key("last_success_at").value(r.lastReloadSuccess());  // the initial load counts
  w.key("last");
  if (const auto& last = server.lastReload()) {
    w.beginObject();
    w.key("ok").value(last->ok);
    w.key("at").value(last->at);
    w.key("errors").value(last->errors);
    w.endObject();
  } else {
    w.null();
  }
  w.endObject();
}

}  // namespace

std::string statusJson(Server& server, const std::string& version) {
  const Generation& gen = server.currentGeneration();
  core::TimePoint now = core::Clock::now();
  JsonWriter w;
  w.beginObject();
  w.key("version").value(version);
  w.key("generation").value(gen.number);
  w.key("draining").value(server.draining());
  w.key("ready").value(server.ready());
  w.key("open_connections").value(server.openConnections());
  w.key("time").value(toUnixSeconds(now));
  writeReload(w, server);

  w.key("listeners").beginArray();
  for (const auto& l : gen.listeners) {
    const conf::ListenerConfig& lc = *l.config;
    uint64_t requests = 0;
    for (const auto* rm : l.request_metrics) requests += totalOf(rm->requests);
    w.beginObject();
    w.key("name").value(lc.name);
    w.key("listen").value(lc.listen.str());
    w.key("protocol").value(conf::toString(lc.protocol));
    w.key("tls").value(lc.tls.has_value());
    w.key("connections_active").value(l.metrics->connections_active.value());
    w.key("connections_accepted").value(l.metrics->connections_accepted.value());
    w.key("requests_total").value(requests);
    w.endObject();
  }
  w.endArray();

  // HTTP/2 from clients (docs/http2.md): per http listener that has it on.
  w.key("http2").beginObject();
  w.key("listeners").beginArray();
  for (const auto& l : gen.listeners) {
    const conf::ListenerConfig& lc = *l.config;
    if (lc.protocol != conf::Protocol::http || !lc.http2) continue;
    w.beginObject();
    w.key("name").value(lc.name);
    w.key("connections_active").value(l.metrics->http2_connections.value());
    w.key("streams_active").value(l.metrics->http2_streams_active.value());
    w.endObject();
  }
  w.endArray();
  w.endObject();

  w.key("upstreams").beginArray();
  for (const auto& up : gen.upstreams) {
    const conf::UpstreamConfig& uc = up->config();
    w.beginObject();
    w.key("name").value(uc.name);
    w.key("balance").value(conf::toString(uc.balance));
    w.key("panic").value(up->inPanic());
    w.key("panic_enabled").value(uc.panic);
    w.key("pool_idle").value(up->metrics().pool_idle.value());
    w.key("retries_total").value(up->metrics().retries.value());
    w.key("pending").value(up->pending().waiting());  // waiting for a max_connections slot
    w.key("health_checks").value(uc.health.has_value());
    w.key("endpoints").beginArray();
    auto set = up->snapshot();
    for (const auto& ep : set->endpoints) {
      w.beginObject();
      w.key("address").value(ep->name());
      w.key("state").value(stateOf(*ep, now));
      w.key("weight").value(static_cast<uint64_t>(ep->weight()));
      w.key("healthy").value(ep->healthy());
      w.key("last_check");
      writeLastCheck(w, *ep, now);
      w.key("ejected_until");
      if (ep->ejectedAt(now)) {
        w.value(toUnixSeconds(ep->ejectedUntil()));
      } else {
        w.null();
      }
      w.key("ejected_for_seconds");
      if (ep->ejectedAt(now)) {
        w.value(core::toSeconds(ep->ejectedUntil() - now));
      } else {
        w.null();
      }
      w.key("in_flight").value(ep->inFlight());
      w.key("requests_total").value(totalOf(ep->metrics().requests));
      w.key("connect_failures_total").value(ep->metrics().connect_failures.value());
      w.endObject();
    }
    w.endArray();
    writeDraining(w, server, *up, *set);
    w.endObject();
  }
  w.endArray();

  w.key("hubs").beginArray();
  for (size_t i = 0; i < server.hubCount(); ++i) {
    const core::HubCounters& c = server.hubContext(i).hub().counters();
    w.beginObject();
    w.key("id").value(static_cast<uint64_t>(i));
    w.key("fibers").value(c.fibers.load(std::memory_order_relaxed));
    w.key("loop_lag_seconds").value(c.loop_lag_seconds.load(std::memory_order_relaxed));
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.str();
}

}  // namespace greenlb::proxy
