// Costs of counting on the hot path (one hub, its own cells) and of a scrape.
//
// BM_SharedAtomicFetchAdd is the design we avoid (one counter shared by the hubs), for
// comparison with BM_CounterAdd/threads:2 where each thread counts into its own hub cell.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "metrics/registry.h"
#include "metrics/sharded.h"

namespace {

using namespace greenlb::metrics;

constexpr size_t kHubs = 4;

void BM_CounterAdd(benchmark::State& state) {
  static Counter counter(kHubs);
  const size_t hub = static_cast<size_t>(state.thread_index());
  for (auto _ : state) counter.add(hub);
  benchmark::DoNotOptimize(counter.value());
}
BENCHMARK(BM_CounterAdd)->Threads(1)->Threads(2);

void BM_SharedAtomicFetchAdd(benchmark::State& state) {
  static std::atomic<uint64_t> shared{0};
  for (auto _ : state) shared.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_SharedAtomicFetchAdd)->Threads(1)->Threads(2);

void BM_GaugeAdd(benchmark::State& state) {
  Gauge gauge(kHubs);
  int64_t delta = 1;
  for (auto _ : state) {
    gauge.add(0, delta);
    delta = -delta;
  }
  benchmark::DoNotOptimize(gauge.value());
}
BENCHMARK(BM_GaugeAdd);

// Latencies spread log-uniformly over 0.1 ms..10 s, so the bucket search is not always
// the same path.
std::vector<double> latencies() {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> exponent(-4, 1);
  std::vector<double> v(1024);
  for (double& x : v) x = std::pow(10, exponent(rng));
  return v;
}

void BM_HistogramObserve(benchmark::State& state) {
  Histogram histogram(kHubs, kLatencyBuckets);
  const std::vector<double> values = latencies();
  size_t i = 0;
  for (auto _ : state) {
    histogram.observe(0, values[i]);
    i = (i + 1) & (values.size() - 1);
  }
  benchmark::DoNotOptimize(histogram.snapshot().count);
}
BENCHMARK(BM_HistogramObserve);

void BM_StatusCountersAdd(benchmark::State& state) {
  StatusCounters statuses(kHubs);
  // Mostly 200, some 304/404/502/503.
  const int codes[16] = {200, 200, 200, 200, 200, 200, 200, 304,
                         200, 200, 404, 200, 200, 200, 502, 503};
  size_t i = 0;
  for (auto _ : state) {
    statuses.add(0, codes[i]);
    i = (i + 1) & 15;
  }
  benchmark::DoNotOptimize(statuses.value(200));
}
BENCHMARK(BM_StatusCountersAdd);

// A whole /metrics body: 4 hubs, 2 listeners, 4 upstreams of 25 endpoints each.
void BM_Scrape(benchmark::State& state) {
  Registry registry(kHubs, "bench");
  std::vector<std::shared_ptr<EndpointMetrics>> endpoints;
  for (const char* listener : {"web", "api"}) registry.listener(listener);
  for (int u = 0; u < 4; ++u) {
    std::string upstream = "upstream" + std::to_string(u);
    registry.upstream(upstream).retries.add(0);
    registry.requests("web", upstream).requests.add(0, 200);
    for (int e = 0; e < 25; ++e) {
      endpoints.push_back(registry.endpoint(
          upstream, "10.0." + std::to_string(u) + "." + std::to_string(e) + ":8080"));
      endpoints.back()->requests.add(0, 200);
    }
  }
  const bool openmetrics = state.range(0) != 0;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = registry.serialize(openmetrics);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
