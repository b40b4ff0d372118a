#include "core/socket.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/forward.h"
#include "core/hub.h"
#include "core/timeout.h"
#include "run_main.h"

namespace greenlb::core {
namespace {

using testing::runMain;

SocketAddress loopback(uint16_t port = 0) { return *SocketAddress::fromIp("127.0.0.1", port); }

// Accepts on `l` and echoes every connection until the peer closes.
void serveEcho(Listener& l) {
  for (;;) {
    Result<Stream> s = l.accept();
    if (!s.ok()) return;
    spawn([conn = std::move(*s)]() mutable {
      char buf[4096];
      for (;;) {
        Result<size_t> n = conn.readSome(buf, sizeof buf);
        if (!n.ok() || *n == 0) return;
        if (!conn.writeAll(buf, *n).ok()) return;
      }
    });
  }
}

TEST(SocketAddress, ParsesAndPrints) {
  EXPECT_EQ(SocketAddress::fromIp("10.1.2.3", 80)->str(), "10.1.2.3:80");
  EXPECT_EQ(SocketAddress::fromIp("::1", 8080)->str(), "[::1]:8080");
  for (const char* ip : {"0.0.0.0", "255.255.255.255", "10.0.100.7", "127.0.0.1", "9.99.199.200"}) {
    char text[INET_ADDRSTRLEN];
    size_t n = SocketAddress::fromIp(ip, 1)->ipText(text, sizeof text);
    EXPECT_EQ(std::string(text, n), ip);
    EXPECT_EQ(std::strlen(text), n);  // terminated
  }
  char small[8];
  EXPECT_EQ(SocketAddress::fromIp("10.0.100.7", 1)->ipText(small, sizeof small), 0u);
  EXPECT_FALSE(SocketAddress::fromIp("example.com", 80).has_value());
  EXPECT_FALSE(SocketAddress::fromIp("", 80).has_value());
}

TEST(Socket, EchoRoundTrip) {
  runMain([] {
    Result<Listener> l = Listener::bind(loopback());
    ASSERT_TRUE(l.ok());
    SocketAddress at = *l->localAddress();
    auto server = spawn([&] { serveEcho(*l); });
    Result<Stream> c = Stream::connect(at);
    ASSERT_TRUE(c.ok()) << c.error().message();
    ASSERT_TRUE(c->writeAll("hello", 5).ok());
    char buf[5];
    ASSERT_TRUE(c->readExact(buf, 5).ok());
    EXPECT_EQ(std::string(buf, 5), "hello");
    c->close();
    server.kill();
    (void)server.join();
  });
}

// A connected TCP pair on loopback: (client, accepted server side).
std::pair<Stream, Stream> tcpPair() {
  Result<Listener> l = Listener::bind(loopback());
  Result<Stream> c = Stream::connect(*l->localAddress());
  Result<Stream> s = l->accept();
  return {std::move(*c), std::move(*s)};
}

// Readiness is never lost (docs/runtime.md): an edge that comes while no fiber waits and
// no idle watcher is armed is remembered until a read drains the socket.
TEST(SocketReadiness, EdgeWithNobodyWaitingIsRemembered) {
  runMain([] {
    auto [c, s] = tcpPair();
    char buf[64];
    // Drain and register: the socket hears later edges.
    ASSERT_FALSE(s.tryRead(buf, sizeof buf).ok());
    EXPECT_FALSE(s.readReady());
    {
      Timeout t(std::chrono::milliseconds(20));
      EXPECT_FALSE(s.waitReadable().ok());  // registers; nothing came
    }
    EXPECT_TRUE(s.quiet());
    ASSERT_TRUE(c.writeAll("late", 4).ok());
    ASSERT_TRUE(sleep(std::chrono::milliseconds(20)).ok());  // the hub polls meanwhile
    EXPECT_TRUE(s.readReady());
    EXPECT_FALSE(s.quiet());
    Result<size_t> n = s.tryRead(buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 4u);
    EXPECT_FALSE(s.readReady());  // a short read drained it
    EXPECT_TRUE(s.quiet());
  });
}

TEST(SocketReadiness, DrainedSocketAnswersEagainWithoutLosingLaterData) {
  runMain([] {
    auto [c, s] = tcpPair();
    char buf[64];
    ASSERT_TRUE(c.writeAll("ab", 2).ok());
    Result<size_t> n = s.readSome(buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    EXPECT_FALSE(s.readReady());
    Result<size_t> again = s.tryRead(buf, sizeof buf);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, EAGAIN);
    ASSERT_TRUE(c.writeAll("cd", 2).ok());
    Timeout t(std::chrono::seconds(5));
    n = s.readSome(buf, sizeof buf);  // the wait hears the new edge
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf, *n), "cd");
  });
}

TEST(SocketReadiness, FinThatCameWithTheLastDataIsSeen) {
  runMain([] {
    auto [c, s] = tcpPair();
    char buf[64];
    ASSERT_FALSE(s.tryRead(buf, sizeof buf).ok());
    {
      Timeout t(std::chrono::milliseconds(20));
      (void)s.waitReadable();
    }
    ASSERT_TRUE(c.writeAll("bye", 3).ok());
    c.close();
    ASSERT_TRUE(sleep(std::chrono::milliseconds(20)).ok());
    EXPECT_TRUE(s.peerClosed());  // EV_CLOSED (EPOLLRDHUP), before any read
    EXPECT_FALSE(s.quiet());
    EXPECT_FALSE(s.probeQuiet());
    Result<size_t> n = s.tryRead(buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 3u);
    n = s.tryRead(buf, sizeof buf);  // the end of stream, although the data read was short
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
  });
}

TEST(SocketReadiness, ProbeQuietLooksWithoutConsuming) {
  runMain([] {
    auto [c, s] = tcpPair();
    char buf[4];
    ASSERT_TRUE(c.writeAll("abcdef", 6).ok());
    Timeout t(std::chrono::seconds(5));
    ASSERT_TRUE(s.readExact(buf, sizeof buf).ok());  // a full read: the flag stays set
    EXPECT_TRUE(s.readReady());
    EXPECT_FALSE(s.probeQuiet());  // "ef" is pending
    ASSERT_TRUE(s.readExact(buf, 2).ok());
    EXPECT_EQ(std::string(buf, 2), "ef");
    EXPECT_TRUE(s.readReady());  // asked exactly what was there: still in doubt
    EXPECT_TRUE(s.probeQuiet());  // the look settles it
    EXPECT_FALSE(s.readReady());
  });
}

TEST(Socket, WritevSendsEveryPiece) {
  runMain([] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Stream a(sv[0]), b(sv[1]);
    std::string big(1 << 20, 'x');  // larger than the socket buffer: needs waits
    auto reader = spawn([&] {
      std::string got(big.size() + 3, '\0');
      return b.readExact(got.data(), got.size()).ok() ? got : std::string();
    });
    iovec iov[3] = {{const_cast<char*>("ab"), 2}, {big.data(), big.size()}, {const_cast<char*>("c"), 1}};
    ASSERT_TRUE(a.writev(iov, 3).ok());
    std::string got = *reader.join();
    EXPECT_EQ(got, "ab" + big + "c");
  });
}

TEST(Socket, TryAcceptTakesWhatIsQueuedAndNeverWaits) {
  runMain([] {
    Result<Listener> l = Listener::bind(loopback());
    ASSERT_TRUE(l.ok());
    SocketAddress at = *l->localAddress();
    Result<int> none = l->tryAcceptFd();
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, EAGAIN);
    // Two connections the kernel completed while nobody accepted: both are taken.
    Result<Stream> a = Stream::connect(at);
    Result<Stream> b = Stream::connect(at);
    ASSERT_TRUE(a.ok() && b.ok());
    SocketAddress peer;
    Result<int> first = l->tryAcceptFd(&peer);
    ASSERT_TRUE(first.ok()) << first.error().message();
    EXPECT_EQ(peer.str().rfind("127.0.0.1:", 0), 0u);
    Result<int> second = l->tryAcceptFd();
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(l->tryAcceptFd().error().code, EAGAIN);
    Stream s1(*first), s2(*second);  // closes them
  });
}

TEST(Socket, ConnectRefused) {
  runMain([] {
    // Bind then close to find a port with no listener.
    SocketAddress at;
    {
      Result<Listener> l = Listener::bind(loopback());
      at = *l->localAddress();
    }
    Result<Stream> c = Stream::connect(at);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ECONNREFUSED);
  });
}

// Both ends of a proxied exchange write replies in pieces (head, then body): Nagle
// would hold each later piece for the peer's delayed ACK, 40 ms a request.
TEST(Socket, AcceptedAndConnectedStreamsHaveNoDelay) {
  runMain([] {
    Result<Listener> l = Listener::bind(loopback());
    ASSERT_TRUE(l.ok());
    Result<Stream> c = Stream::connect(*l->localAddress());
    ASSERT_TRUE(c.ok());
    Result<int> fd = l->acceptFd();
    ASSERT_TRUE(fd.ok());
    Socket accepted(*fd);
    for (int s : {accepted.fd(), c->fd()}) {
      int on = 0;
      socklen_t len = sizeof on;
      ASSERT_EQ(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
      EXPECT_NE(on, 0);
    }
  });
}

TEST(Socket, ReadSeesEndOfStream) {
  runMain([] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Stream a(sv[0]), b(sv[1]);
    auto reader = spawn([&] {
      char c;
      return a.readSome(&c, 1);
    });
    yield();
    b.close();
    Result<size_t> r = *reader.join();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0u);
  });
}

TEST(Socket, CloseWakesTheWaiterWithEbadf) {
  runMain([] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Stream a(sv[0]), b(sv[1]);
    auto reader = spawn([&] {
      char c;
      return a.readSome(&c, 1).error().code;
    });
    yield();
    a.close();
    EXPECT_EQ(*reader.join(), EBADF);
  });
}

TEST(Socket, KillCancelsARead) {
  runMain([] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Stream a(sv[0]), b(sv[1]);
    auto reader = spawn([&] {
      char c;
      return a.readSome(&c, 1).error().code;
    });
    yield();
    reader.kill();
    EXPECT_EQ(*reader.join(), ECANCELED);
    // The socket is still usable by another fiber afterwards.
    ASSERT_TRUE(b.writeAll("z", 1).ok());
    char c;
    ASSERT_TRUE(a.readExact(&c, 1).ok());
    EXPECT_EQ(c, 'z');
  });
}

struct RecordingWatcher : IdleWatcher {
  int readable = 0;
  int timeouts = 0;
  Event fired;
  void onIdleReadable(Socket&) override {
    ++readable;
    fired.set();
  }
  void onIdleTimeout(Socket&) override {
    ++timeouts;
    fired.set();
  }
};

TEST(Socket, IdleWatcherHearsReadabilityWithoutAFiber) {
  runMain([] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Stream a(sv[0]), b(sv[1]);
    RecordingWatcher w;
    a.watchIdle(&w, 1h);
    ASSERT_TRUE(b.writeAll("x", 1).ok());
    ASSERT_TRUE(w.fired.wait().ok());
    EXPECT_EQ(w.readable, 1);
    EXPECT_EQ(w.timeouts, 0);
    EXPECT_FALSE(a.watchedIdle());  // one shot
  });
}

TEST(Socket, IdleWatcherTimesOut) {
  runMain([] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Stream a(sv[0]), b(sv[1]);
    RecordingWatcher w;
    a.watchIdle(&w, 10ms);
    ASSERT_TRUE(w.fired.wait().ok());
    EXPECT_EQ(w.timeouts, 1);
    EXPECT_EQ(w.readable, 0);
    // Unwatched: later readiness and time pass unnoticed.
    ASSERT_TRUE(b.writeAll("x", 1).ok());
    EXPECT_TRUE(sleep(20ms).ok());
    EXPECT_EQ(w.readable, 0);
    EXPECT_EQ(w.timeouts, 1);
  });
}

// A tunnel through `forward` between two TCP connections, in both directions.
void checkForward(bool splice) {
  runMain([splice] {
    Result<Listener> l = Listener::bind(loopback());
    SocketAddress at = *l->localAddress();
    Result<Stream> left = Stream::connect(at);
    Result<Stream> left_peer = l->accept();
    Result<Stream> right = Stream::connect(at);
    Result<Stream> right_peer = l->accept();
    ASSERT_TRUE(left.ok() && left_peer.ok() && right.ok() && right_peer.ok());
    char buf[1024];
    ForwardOptions o;
    o.use_splice = splice;
    o.buffer = buf;
    o.buffer_size = sizeof buf;
    auto pump = spawn([&] { return forward(*left_peer, *right_peer, o); });
    std::string payload(300000, 'p');
    auto sender = spawn([&] {
      (void)left->writeAll(payload.data(), payload.size());
      (void)left->shutdownWrite();
    });
    std::string got(payload.size(), '\0');
    ASSERT_TRUE(right->readExact(got.data(), got.size()).ok());
    EXPECT_EQ(got, payload);
    char c;
    EXPECT_EQ(*right->readSome(&c, 1), 0u);  // forward shut down the write side at EOF
    Result<uint64_t> moved = *pump.join();
    ASSERT_TRUE(moved.ok());
    EXPECT_EQ(*moved, payload.size());
    (void)sender.join();
  });
}

TEST(Forward, SpliceCopiesUntilEndOfStream) { checkForward(true); }
TEST(Forward, CopyFallbackCopiesUntilEndOfStream) { checkForward(false); }

TEST(Forward, IdleTimeoutEndsAQuietTunnel) {
  runMain([] {
    Result<Listener> l = Listener::bind(loopback());
    SocketAddress at = *l->localAddress();
    Result<Stream> a = Stream::connect(at);
    Result<Stream> a_peer = l->accept();
    Result<Stream> b = Stream::connect(at);
    Result<Stream> b_peer = l->accept();
    ForwardOptions o;
    o.idle = 20ms;
    Result<uint64_t> r = forward(*a_peer, *b_peer, o);
    EXPECT_EQ(r.error().code, ETIMEDOUT);
  });
}

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer keeps megabytes of state per fiber: the same test, fewer fibers.
constexpr int kClientsPerHub = 200;
#else
constexpr int kClientsPerHub = 2500;
#endif

// 5,000 client fibers and 5,000 server fibers echoing at once, spread over two hubs.
TEST(Socket, TenThousandFibersEchoOnTwoHubs) {
  constexpr int kRounds = 3;
  std::atomic<int> echoes{0};
  std::atomic<int> failures{0};
  std::atomic<int> peak_live{0};
  RuntimeOptions o;
  o.hubs = 2;
  Runtime rt(o);
  rt.run([&] {
    Result<Listener> first = Listener::bind(loopback());
    ASSERT_TRUE(first.ok());
    SocketAddress at = *first->localAddress();
    // Each hub: a SO_REUSEPORT listener with an echo server, and its share of clients.
    auto hubBody = [&, at](Listener* listener, Event* done) {
      Hub& hub = currentHub();
      auto server = spawn([listener] { serveEcho(*listener); });
      int connected = 0;
      Event all_connected;
      std::vector<JoinHandle<void>> clients;
      for (int i = 0; i < kClientsPerHub; ++i) {
        clients.push_back(spawn([&, i] {
          Result<Stream> c = Stream::connect(at);
          if (!c.ok()) {
            ++failures;
            return;
          }
          if (++connected == kClientsPerHub) all_connected.set();
          (void)all_connected.wait();
          int live = static_cast<int>(hub.counters().fibers.load());
          int seen = peak_live.load();
          while (live > seen && !peak_live.compare_exchange_weak(seen, live)) {
          }
          char out[16], in[16];
          for (int r = 0; r < kRounds; ++r) {
            int n = std::snprintf(out, sizeof out, "%d/%d", i, r);
            if (!c->writeAll(out, n).ok() || !c->readExact(in, n).ok() ||
                std::memcmp(in, out, n) != 0) {
              ++failures;
              return;
            }
            ++echoes;
          }
        }));
      }
      for (auto& h : clients) (void)h.join();
      server.kill();
      (void)server.join();
      done->set();
    };
    Event hub0_done;
    std::atomic<bool> hub1_done{false};
    rt.hub(1).post([&] {
      rt.hub(1).spawnDetached("hub1-main", [&] {
        Result<Listener> second = Listener::bind(at);
        if (!second.ok()) {
          ++failures;
        } else {
          Event done;
          hubBody(&*second, &done);
        }
        hub1_done = true;
      });
    });
    hubBody(&*first, &hub0_done);
    while (!hub1_done) ASSERT_TRUE(sleep(5ms).ok());
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(echoes.load(), 2 * kClientsPerHub * kRounds);
  // On at least one hub, its clients and the servers it accepted were alive together.
  EXPECT_GE(peak_live.load(), kClientsPerHub + 1);
}

}  // namespace
}  // namespace greenlb::core
