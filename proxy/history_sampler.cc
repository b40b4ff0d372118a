#include "proxy/history_sampler.h"

#include <chrono>

#include "core/hub.h"
#include "proxy/server.h"

namespace greenlb::proxy {
namespace {

using metrics::HistoryKind;
using metrics::HistoryReading;

constexpr core::Duration kRound = std::chrono::seconds(1);

void addRequests(HistoryReading& r, const metrics::RequestMetrics& m) {
  r.addResponses(m.requests);
  r.addLatency(m.duration);
}

}  // namespace

void HistorySampler::start() {
  sampleOnce();
  fiber_ = core::spawn([this] { run(); }, "history");
}

void HistorySampler::stop() {
  if (!fiber_.valid()) return;
  fiber_.kill();
  (void)fiber_.join();
}

void HistorySampler::run() {
  // Always the same sleep, not "until the next whole second": the hub keeps a cache of
  // libevent common timeouts keyed by duration, and ever-different durations would fill
  // it (and allocate). Rounds drift by the microseconds a round takes; rates divide by the
  // time that really passed, so they do not.
  while (core::sleep(kRound).ok()) sampleOnce();
}

void HistorySampler::sampleOnce() {
  const Generation& gen = server_.currentGeneration();
  double unix_now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  history_.beginRound(core::toSeconds(core::Clock::now().time_since_epoch()), unix_now);

  // Listeners and upstreams first: when the series cap is reached, endpoints go without.
  for (const ListenerPlan& l : gen.listeners) {
    HistoryReading r;
    for (const metrics::RequestMetrics* m : l.request_metrics) addRequests(r, *m);
    r.level = static_cast<double>(l.metrics->connections_active.value());
    history_.record(HistoryKind::listener, "", l.config->name, r);
  }
  for (size_t i = 0; i < gen.upstreams.size(); ++i) {
    const balancer::Upstream& up = *gen.upstreams[i];
    HistoryReading r;
    // What clients got from this upstream, over every listener that routes to it.
    for (const ListenerPlan& l : gen.listeners) {
      if (i < l.request_metrics.size()) addRequests(r, *l.request_metrics[i]);
    }
    r.retries = up.metrics().retries.value();
    for (const auto& ep : up.snapshot()->endpoints) r.level += static_cast<double>(ep->inFlight());
    history_.record(HistoryKind::upstream, "", up.name(), r);
  }
  for (const auto& up : gen.upstreams) {
    for (const auto& ep : up->snapshot()->endpoints) {
      HistoryReading r;
      r.addResponses(ep->metrics().requests);  // every attempt, retried ones too
      r.level = static_cast<double>(ep->inFlight());
      history_.record(HistoryKind::endpoint, up->name(), ep->name(), r);
    }
  }
  history_.endRound();
}

}  // namespace greenlb::proxy
