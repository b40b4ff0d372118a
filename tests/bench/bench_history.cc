// What one round of the status page's history costs the admin side (hub 0), per series:
// summing an endpoint's status-code table over its hubs, or an upstream's codes and
// latency buckets, and recording the reading (metrics/history.h). Request handling pays
// nothing for the history; this is the once-a-second price, quoted in
// docs/observability.md.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "metrics/families.h"
#include "metrics/history.h"

namespace {

using namespace greenlb::metrics;

constexpr size_t kHubs = 2;

// One round over `state.range(0)` endpoints that each answered a few codes on every hub.
void BM_HistoryRoundEndpoints(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<std::unique_ptr<EndpointMetrics>> endpoints;
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    endpoints.push_back(std::make_unique<EndpointMetrics>(kHubs));
    for (size_t hub = 0; hub < kHubs; ++hub) {
      endpoints.back()->requests.add(hub, 200);
      endpoints.back()->requests.add(hub, 503);
    }
    names.push_back("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80");
  }
  History history;
  double t = 0;
  for (auto _ : state) {
    history.beginRound(t, t);
    t += 1;
    for (size_t i = 0; i < n; ++i) {
      HistoryReading r;
      r.addResponses(endpoints[i]->requests);
      r.level = static_cast<double>(endpoints[i]->in_flight.load());
      history.record(HistoryKind::endpoint, "app", names[i], r);
    }
    history.endRound();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_HistoryRoundEndpoints)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// One upstream reached from `state.range(0)` listeners: codes and latency buckets of each
// (listener, upstream) pair.
void BM_HistoryRoundUpstream(benchmark::State& state) {
  const auto listeners = static_cast<size_t>(state.range(0));
  std::vector<std::unique_ptr<RequestMetrics>> pairs;
  for (size_t i = 0; i < listeners; ++i) {
    pairs.push_back(std::make_unique<RequestMetrics>(kHubs));
    pairs.back()->requests.add(0, 200);
    pairs.back()->duration.observe(1, 0.003);
  }
  History history;
  double t = 0;
  for (auto _ : state) {
    history.beginRound(t, t);
    t += 1;
    HistoryReading r;
    for (const auto& p : pairs) {
      r.addResponses(p->requests);
      r.addLatency(p->duration);
    }
    history.record(HistoryKind::upstream, "", "app", r);
    history.endRound();
  }
}
BENCHMARK(BM_HistoryRoundUpstream)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
