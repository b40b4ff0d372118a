// Cost of picking an endpoint, per policy, at 3, 10, 100 and 1,000 endpoints (one hub, no
// contention: the in-flight counters stay on this core), and of building a Maglev table
// (what a membership change costs, off the hot path).
//
// Each pick is followed by beginRequest/endRequest, as in the proxy, so least_conn and p2c
// see loads that move; BM_PickOnly leaves them out to show the pick alone. Weights are
// mixed (1, 2, 3...) unless the name says equal.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "balancer/hash_key.h"
#include "balancer/maglev.h"
#include "balancer/upstream.h"
#include "metrics/registry.h"

namespace {

using namespace greenlb;

struct Bench {
  metrics::Registry registry{1, "bench"};
  std::unique_ptr<balancer::Upstream> upstream;

  // Weights 1, 2, 3, 1, 2, 3... or all 1 (`equal`: a DNS-discovered fleet).
  Bench(conf::Balance balance, size_t n, bool equal = false) {
    conf::UpstreamConfig c;
    c.name = "app";
    c.balance = balance;
    c.hash.key = conf::HashKey::header;
    c.hash.name = "x-user";
    upstream = std::make_unique<balancer::Upstream>(c, registry, std::vector<core::Hub*>{nullptr});
    upstream->setEndpoints(endpoints(*upstream, n, equal), false);
  }
  static std::vector<std::shared_ptr<balancer::Endpoint>> endpoints(balancer::Upstream& up, size_t n,
                                                                    bool equal) {
    std::vector<std::shared_ptr<balancer::Endpoint>> out;
    for (size_t i = 0; i < n; ++i) {
      std::string name = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1:8080";
      out.push_back(up.makeEndpoint(name, *core::SocketAddress::fromIp("127.0.0.1", 8080),
                                    equal ? 1 : static_cast<uint32_t>(1 + i % 3)));
    }
    return out;
  }
};

template <conf::Balance B, bool kEqual = false>
void BM_Pick(benchmark::State& state) {
  Bench b(B, static_cast<size_t>(state.range(0)), kEqual);
  balancer::PickContext ctx;
  ctx.now = core::Clock::now();
  uint64_t key = 0;
  balancer::PickFailure why;
  for (auto _ : state) {
    ctx.hash = balancer::hashBytes(std::string_view(reinterpret_cast<const char*>(&key), sizeof key));
    ctx.has_hash = true;
    ++key;
    balancer::Endpoint* e = b.upstream->pick(0, ctx, &why);
    e->beginRequest();
    e->endRequest();
    benchmark::DoNotOptimize(e);
  }
}

template <conf::Balance B>
void BM_PickOnly(benchmark::State& state) {
  Bench b(B, static_cast<size_t>(state.range(0)));
  balancer::PickContext ctx;
  ctx.now = core::Clock::now();
  balancer::PickFailure why;
  for (auto _ : state) benchmark::DoNotOptimize(b.upstream->pick(0, ctx, &why));
}

#define PICK_SIZES ->Arg(3)->Arg(10)->Arg(100)->Arg(1000)
BENCHMARK(BM_Pick<conf::Balance::round_robin>) PICK_SIZES;
BENCHMARK(BM_Pick<conf::Balance::least_conn>) PICK_SIZES;
BENCHMARK(BM_Pick<conf::Balance::p2c>) PICK_SIZES;
BENCHMARK(BM_Pick<conf::Balance::random>) PICK_SIZES;
BENCHMARK(BM_Pick<conf::Balance::maglev>) PICK_SIZES;
BENCHMARK(BM_Pick<conf::Balance::round_robin, true>) PICK_SIZES;  // equal weights: rotation
BENCHMARK(BM_PickOnly<conf::Balance::round_robin>) PICK_SIZES;
BENCHMARK(BM_PickOnly<conf::Balance::least_conn>) PICK_SIZES;

// The hash of a key itself (maglev's per-request cost before the table read).
void BM_HashKey(benchmark::State& state) {
  std::string key = "user-123456789";
  for (auto _ : state) benchmark::DoNotOptimize(balancer::hashBytes(key));
}
BENCHMARK(BM_HashKey);

void BM_MaglevBuild(benchmark::State& state) {
  Bench b(conf::Balance::round_robin, static_cast<size_t>(state.range(0)), true);
  auto set = b.upstream->snapshot();
  for (auto _ : state) {
    balancer::MaglevTable table(set->endpoints);
    benchmark::DoNotOptimize(table.at(0));
  }
  state.counters["slots"] = static_cast<double>(balancer::MaglevTable::sizeFor(set->size()));
}
BENCHMARK(BM_MaglevBuild)->Arg(3)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
