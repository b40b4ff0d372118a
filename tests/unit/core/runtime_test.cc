#include "core/runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "core/dns.h"
#include "core/event.h"
#include "core/signals.h"
#include "core/timeout.h"
#include "run_main.h"

namespace greenlb::core {
namespace {

using testing::runMain;

TEST(Runtime, RunsEveryHubOnItsOwnThread) {
  RuntimeOptions o;
  o.hubs = 3;
  Runtime rt(o);
  std::atomic<int> ran{0};
  std::vector<std::thread::id> threads(3);
  rt.run([&] {
    threads[0] = std::this_thread::get_id();
    for (int i = 1; i < 3; ++i) {
      rt.hub(i).post([&, i] {
        threads[i] = std::this_thread::get_id();
        ++ran;
      });
    }
    while (ran < 2) ASSERT_TRUE(sleep(1ms).ok());
  });
  EXPECT_NE(threads[0], threads[1]);
  EXPECT_NE(threads[1], threads[2]);
}

TEST(Runtime, PostFromForeignThreadsRunsEveryTaskOnce) {
  constexpr int kThreads = 4, kPerThread = 5000;
  std::atomic<int> count{0};
  RuntimeOptions o;
  o.hubs = 2;
  Runtime rt(o);
  rt.run([&] {
    int on_hub1 = 0;  // only touched on hub 1: no data race by construction
    std::vector<std::thread> posters;
    for (int t = 0; t < kThreads; ++t) {
      posters.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) {
          rt.hub(1).post([&] {
            ++on_hub1;
            ++count;
          });
        }
      });
    }
    for (auto& t : posters) t.join();
    while (count < kThreads * kPerThread) ASSERT_TRUE(sleep(1ms).ok());
    std::atomic<int> seen{0};
    rt.hub(1).post([&] { seen = on_hub1; });
    while (seen == 0) ASSERT_TRUE(sleep(1ms).ok());
    EXPECT_EQ(seen.load(), kThreads * kPerThread);
  });
}

TEST(Runtime, StopKillsFibersOnEveryHub) {
  RuntimeOptions o;
  o.hubs = 2;
  Runtime rt(o);
  std::atomic<int> cancelled{0};
  rt.run([&] {
    rt.hub(1).post([&] {
      rt.hub(1).spawnDetached("sleeper", [&] {
        if (sleep(1h).error().cancelled()) ++cancelled;
      });
    });
    currentHub().spawnDetached("sleeper", [&] {
      if (sleep(1h).error().cancelled()) ++cancelled;
    });
    ASSERT_TRUE(sleep(10ms).ok());
    // main returns: the runtime stops the hubs and the sleepers unwind.
  });
  EXPECT_EQ(cancelled.load(), 2);
}

TEST(Runtime, ExceptionFromMainIsRethrownAfterShutdown) {
  Runtime rt(RuntimeOptions{1});
  EXPECT_THROW(rt.run([] { throw std::runtime_error("main failed"); }), std::runtime_error);
}

TEST(Signals, AFiberWaitsForSignals) {
  runMain([] {
    SignalSet sigs({SIGHUP, SIGUSR1});
    ::kill(::getpid(), SIGUSR1);
    ::kill(::getpid(), SIGHUP);
    Timeout t(5s);
    Result<int> a = sigs.wait();
    Result<int> b = sigs.wait();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a + *b, SIGUSR1 + SIGHUP);
    EXPECT_NE(*a, *b);
  });
}

TEST(Signals, WaitIsBoundedByATimeout) {
  runMain([] {
    SignalSet sigs({SIGUSR2});
    Timeout t(10ms);
    EXPECT_EQ(sigs.wait().error().code, ETIMEDOUT);
  });
}

TEST(Dns, ResolvesLocalhostFromTheHostsFile) {
  runMain([] {
    Timeout t(5s);
    Result<std::vector<SocketAddress>> r = resolve("localhost", 80);
    ASSERT_TRUE(r.ok()) << r.error().message();
    bool loopback = false;
    for (const auto& a : *r) loopback |= a.str() == "127.0.0.1:80" || a.str() == "[::1]:80";
    EXPECT_TRUE(loopback);
  });
}

TEST(Dns, LiteralAddressesNeedNoLookup) {
  runMain([] {
    Result<std::vector<SocketAddress>> r = resolve("10.9.8.7", 443);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].str(), "10.9.8.7:443");
  });
}

TEST(Dns, HonoursACustomHostsFile) {
  char path[] = "/tmp/greenlb-hosts-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string hosts = "10.0.0.5 backend.test\n10.0.0.6 backend.test\n";
  ASSERT_EQ(::write(fd, hosts.data(), hosts.size()), static_cast<ssize_t>(hosts.size()));
  ::close(fd);
  runMain([&] {
    ResolverOptions o;
    o.hosts_file = path;
    o.resolv_conf = "/nonexistent";  // no nameserver needed for hosts entries
    Resolver r(o);
    Timeout t(5s);
    auto addrs = r.resolve("backend.test", 8080);
    ASSERT_TRUE(addrs.ok()) << addrs.error().message();
    std::vector<std::string> got;
    for (const auto& a : *addrs) got.push_back(a.str());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.5:8080", "10.0.0.6:8080"}));
  });
  ::unlink(path);
}

}  // namespace
}  // namespace greenlb::core
