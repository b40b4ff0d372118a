// The protocol-neutral exchange on a real hub, against upstreams that are fibers of the same
// test (real loopback sockets, greenlb's own runtime): retries, status mapping, pooling
// decisions and timeouts, without spawning a process (docs/architecture.md, "Testing the
// exchange").
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "conf/loader.h"
#include "core/hub.h"
#include "core/socket.h"
#include "core/timeout.h"
#include "metrics/registry.h"
#include "proxy/generation.h"
#include "proxy/http_exchange.h"
#include "proxy/hub_context.h"
#include "tests/unit/core/run_main.h"
#include "tests/unit/proxy/local_downstream.h"

namespace greenlb::proxy {
namespace {

using core::testing::runMain;
using testing::LocalDownstream;

// An upstream fiber: accepts connections and answers each request head it reads with what
// `answer(n)` returns for the n-th request overall (1-based); an empty answer closes the
// connection without a word.
struct ScriptedUpstream {
  core::Result<core::Listener> listening;
  int requests = 0;
  int connections = 0;
  std::function<std::string(int)> answer;
  core::JoinHandle<void> fiber;
  std::vector<core::JoinHandle<void>> connection_fibers;

  explicit ScriptedUpstream(std::function<std::string(int)> a)
      : listening(core::Listener::bind(*core::SocketAddress::fromIp("127.0.0.1", 0))),
        answer(std::move(a)) {
    fiber = core::spawn([this] { serve(); });
  }
  ~ScriptedUpstream() {  // every fiber that uses this object ends first
    fiber.kill();
    for (auto& f : connection_fibers) f.kill();
    while (!fiber.done()) core::yield();
    for (auto& f : connection_fibers) {
      while (!f.done()) core::yield();
    }
  }
  uint16_t port() const { return listening->localAddress()->port(); }

  void serve() {
    for (;;) {
      core::Result<core::Stream> s = listening->accept();
      if (!s.ok()) return;
      ++connections;
      connection_fibers.push_back(core::spawn([this, conn = std::move(*s)]() mutable {
        std::string buf;
        char chunk[4096];
        for (;;) {
          size_t end;
          while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
            core::Result<size_t> n = conn.readSome(chunk, sizeof chunk);
            if (!n.ok() || *n == 0) return;
            buf.append(chunk, *n);
          }
          buf.erase(0, end + 4);  // the tests' requests carry no body upstream
          std::string reply = answer(++requests);
          if (reply.empty() || !conn.writeAll(reply.data(), reply.size()).ok()) return;
        }
      }));
    }
  }
};

std::string ok(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

// One listener and one upstream of `endpoints` with `extra` settings, built into a
// generation on the current hub: what an exchange runs in.
struct Bench {
  metrics::Registry registry{1, "test"};
  std::shared_ptr<Generation> gen;
  HubContext hub{0, core::currentHub()};

  Bench(const std::string& endpoints, const std::string& extra) {
    std::string text = "[[listener]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\nupstream = \"app\"\n"
                       "[[upstream]]\nname = \"app\"\nendpoints = [" + endpoints + "]\n" + extra;
    auto loaded = conf::loadConfigString(text, "/test/greenlb.toml");
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    std::string error;
    gen = buildGeneration(loaded.config, TlsContexts{}, nullptr, 1, registry,
                          {&core::currentHub()}, &error);
    EXPECT_TRUE(gen) << error;
    registry.attachHubs({&core::currentHub()});
  }
  const ListenerPlan& plan() { return gen->listeners[0]; }
  void run(LocalDownstream& down) { HttpExchange(down, *gen, plan(), core::Clock::now()).run(); }
  balancer::Upstream& upstream() { return *gen->upstreams[0]; }
};

std::string at(uint16_t port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; }

TEST(Exchange, RelaysTheResponseAndPoolsTheConnection) {
  runMain([] {
    ScriptedUpstream up([](int) { return ok("hello"); });
    Bench s(at(up.port()), "");
    for (int i = 0; i < 3; ++i) {
      LocalDownstream down(s.hub, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
      ASSERT_TRUE(down.parsed());
      s.run(down);
      EXPECT_EQ(down.status, 200);
      EXPECT_EQ(down.response_body, "hello");
      EXPECT_FALSE(down.made_by_proxy);
      EXPECT_EQ(down.fields.count("x-request-id"), 1u);
    }
    EXPECT_EQ(up.connections, 1);  // pooled and reused
  });
}

TEST(Exchange, RetriesAListedStatusForAnIdempotentRequest) {
  runMain([] {
    ScriptedUpstream up([](int n) {
      return n == 1 ? "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n" : ok("second");
    });
    Bench s(at(up.port()), "  [upstream.retry]\n  backoff = \"0s\"\n");
    LocalDownstream down(s.hub, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    s.run(down);
    EXPECT_EQ(down.status, 200);
    EXPECT_EQ(down.response_body, "second");
    EXPECT_EQ(s.upstream().metrics().retries.value(), 1u);
  });
}

TEST(Exchange, ANonIdempotentRequestIsNotReplayedAfterAReusedConnectionClosed) {
  runMain([] {
    // The connection's first request is answered; the second (the POST) is read, then the
    // connection closes without a word: the upstream may have acted on it.
    ScriptedUpstream up([](int n) { return n == 1 ? ok("first") : std::string(); });
    Bench s(at(up.port()), "");
    LocalDownstream get(s.hub, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    s.run(get);
    ASSERT_EQ(get.status, 200);
    LocalDownstream post(s.hub, "POST /pay HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
                         "abc");
    s.run(post);
    EXPECT_EQ(post.status, 502);
    EXPECT_TRUE(post.made_by_proxy);
    EXPECT_EQ(up.requests, 2);  // the POST reached the upstream once
  });
}

TEST(Exchange, ASilentUpstreamIs504WithinTheResponseTimeout) {
  runMain([] {
    ScriptedUpstream up([](int) {
      (void)core::sleep(std::chrono::seconds(5));  // never in time
      return ok("late");
    });
    Bench s(at(up.port()),
            "  [upstream.timeouts]\n  response = \"50ms\"\n  [upstream.retry]\n  attempts = 0\n");
    LocalDownstream down(s.hub, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    s.run(down);
    EXPECT_EQ(down.status, 504);
    EXPECT_EQ(s.upstream().metrics().timeouts[metrics::index(metrics::TimeoutKind::response)].value(),
              1u);
  });
}

TEST(Exchange, AConnectFailureIsRetriedOnTheOtherEndpoint) {
  runMain([] {
    ScriptedUpstream up([](int) { return ok("alive"); });
    // A port nothing listens on: bind one, note it, close it.
    uint16_t dead;
    {
      auto l = core::Listener::bind(*core::SocketAddress::fromIp("127.0.0.1", 0));
      dead = l->localAddress()->port();
    }
    Bench s(at(dead) + ", " + at(up.port()), "  [upstream.retry]\n  backoff = \"0s\"\n");
    for (int i = 0; i < 4; ++i) {
      LocalDownstream down(s.hub, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", "x");
      s.run(down);
      EXPECT_EQ(down.status, 200) << i;  // nothing was sent: safe for a POST too
      EXPECT_EQ(down.response_body, "alive");
    }
  });
}

TEST(Exchange, BytesPastTheFramingCloseTheConnectionAndAreCounted) {
  runMain([] {
    ScriptedUpstream up([](int) { return ok("ok") + "HTTP/1.1 200 OK\r\n"; });
    Bench s(at(up.port()), "");
    for (int i = 0; i < 2; ++i) {
      LocalDownstream down(s.hub, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      s.run(down);
      EXPECT_EQ(down.status, 200);
      EXPECT_EQ(down.response_body, "ok");
    }
    EXPECT_EQ(up.connections, 2);  // never reused
    EXPECT_EQ(s.upstream().metrics().protocol_errors.value(), 2u);
  });
}

TEST(Exchange, AGrpcCallGreenlbAnswersItselfCountsItsGrpcStatus) {
  runMain([] {
    uint16_t dead;
    {
      auto l = core::Listener::bind(*core::SocketAddress::fromIp("127.0.0.1", 0));
      dead = l->localAddress()->port();
    }
    Bench s(at(dead), "  [upstream.retry]\n  attempts = 0\n");
    LocalDownstream down(s.hub,
                         "POST /pkg.Svc/Call HTTP/1.1\r\nHost: a\r\ncontent-type: application/grpc\r\n"
                         "Content-Length: 5\r\n\r\n",
                         std::string(5, '\0'));
    s.run(down);
    EXPECT_EQ(down.status, 502);
    metrics::RequestMetrics& rm = *s.plan().request_metrics[0];
    EXPECT_EQ(rm.grpc_requests[14].value(), 1u);  // UNAVAILABLE
  });
}

}  // namespace
}  // namespace greenlb::proxy
