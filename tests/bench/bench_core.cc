// Costs of the runtime's primitives: switch, spawn+join, channel ping-pong, loopback echo.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include "core/channel.h"
#include "core/hub.h"
#include "core/runtime.h"
#include "core/socket.h"

namespace greenlb::core {
namespace {

// Runs `body` as the main fiber of a one-hub runtime.
template <class F>
void onHub(F body) {
  RuntimeOptions o;
  o.hubs = 1;
  Runtime rt(o);
  rt.run(body);
}

// Two fibers yielding to each other through the hub's run queue.
void BM_FiberSwitch(benchmark::State& state) {
  onHub([&] {
    bool stop = false;
    auto other = spawn([&] {
      while (!stop) yield();
    });
    for (auto _ : state) yield();
    stop = true;
    (void)other.join();
  });
  // An iteration is four stack switches: main -> hub -> other -> hub -> main.
  state.counters["ns_per_switch"] = benchmark::Counter(
      static_cast<double>(state.iterations() * 4),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FiberSwitch);

void BM_SpawnJoin(benchmark::State& state) {
  onHub([&] {
    for (auto _ : state) {
      auto h = spawn([] { return 1; });
      benchmark::DoNotOptimize(h.join());
    }
  });
}
BENCHMARK(BM_SpawnJoin);

// What a dormant connection waking up costs: spawn without a handle, run, exit.
void BM_SpawnDetached(benchmark::State& state) {
  onHub([&] {
    int ran = 0;
    Hub& hub = currentHub();
    for (auto _ : state) {
      hub.spawnDetached("bench", [&] { ++ran; });
      yield();
    }
    benchmark::DoNotOptimize(ran);
  });
}
BENCHMARK(BM_SpawnDetached);

void BM_ChannelPingPong(benchmark::State& state) {
  onHub([&] {
    Channel<int> ping(1), pong(1);
    auto echo = spawn([&] {
      for (;;) {
        Result<int> v = ping.recv();
        if (!v.ok()) return;
        (void)pong.send(*v);
      }
    });
    for (auto _ : state) {
      (void)ping.send(1);
      benchmark::DoNotOptimize(pong.recv());
    }
    ping.close();
    (void)echo.join();
  });
}
BENCHMARK(BM_ChannelPingPong);

// A request/response of 64 bytes over a loopback TCP connection, both ends fibers.
void BM_LoopbackEchoRoundTrip(benchmark::State& state) {
  onHub([&] {
    Result<Listener> l = Listener::bind(*SocketAddress::fromIp("127.0.0.1", 0));
    SocketAddress at = *l->localAddress();
    auto server = spawn([&] {
      Result<Stream> s = l->accept();
      char buf[64];
      while (s->readExact(buf, sizeof buf).ok() && s->writeAll(buf, sizeof buf).ok()) {
      }
    });
    Result<Stream> c = Stream::connect(at);
    char buf[64] = {};
    for (auto _ : state) {
      (void)c->writeAll(buf, sizeof buf);
      (void)c->readExact(buf, sizeof buf);
    }
    c->close();
    (void)server.join();
  });
}
BENCHMARK(BM_LoopbackEchoRoundTrip);

}  // namespace
}  // namespace greenlb::core

BENCHMARK_MAIN();
