#include "proxy/client_connection.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <optional>
#include <utility>

#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/http/error_response.h"
#include "proxy/http/request_id.h"
#include "proxy/http/request_parser.h"
#include "proxy/h1_downstream.h"
#include "proxy/h2/server_session.h"
#include "proxy/http_exchange.h"
#include "proxy/hub_context.h"
#include "proxy/listener_socket.h"
#include "proxy/proxy_header_reader.h"
#include "proxy/tcp_tunnel.h"
#include "proxy/timed_io.h"
#include "proxy/tls_transport.h"

namespace greenlb::proxy {

using core::Clock;
using metrics::ClientError;

static_assert(sizeof(ClientConnection) <= 248, "every idle connection pays for each byte");

ClientConnection::ClientConnection(HubContext& hub, ListenerSocket& listener, int fd,
                                   const core::SocketAddress& peer)
    : stream_(fd), listener_(listener), peer_(peer) {
  assert(&hub == &listener.hub());
  hub.addConnection(this);
  ++listener_.connections;
  listener_.metrics().connections_active.add(hub.index(), 1);
}

ClientConnection::~ClientConnection() {
  // Uncounted before the close: a client that has seen its EOF never finds itself still
  // counted in connections_active or /status.
  --listener_.connections;
  listener_.metrics().connections_active.add(hub().index(), -1);
  hub().removeConnection(this);
  stream_.close();
  if (tls_) delete transport_;  // SSL_free only: it sends nothing
}

void ClientConnection::start() {
  accepted_ = Clock::now();
  Generation* used = nullptr;
  const ListenerPlan& plan = listener_.planIn(hub().current(), &used);
  expect_proxy_ = plan.config->proxy_protocol;
  if (plan.tls != nullptr || expect_proxy_ != conf::ProxyProtocol::off) {
    // A TLS client speaks first (its ClientHello), on http and tcp listeners alike: until
    // it does it needs no fiber and no TLS session. A ClientHello already in the socket is
    // not missed: registering the socket with epoll reports the readiness it already has
    // (test_dormant_accept.py), and the handshake needs the registration anyway. A proxy
    // sending a PROXY header speaks first too, on every kind of listener.
    goDormant(plan.config->timeouts.client_header);
    return;
  }
  // Plain tcp may carry a server-first protocol (SMTP, MySQL, SSH): connect to the upstream
  // at once. Plain HTTP takes one look first (run), since the request often came with the
  // connection: registering for readiness first would cost every such request an epoll
  // round trip (~1,900 instructions more per W3 request under callgrind).
  active_ = true;
  spawnServer();
}

void ClientConnection::spawnServer() {
  if (hub().hub().spawnDetached("conn", [this] { run(); }) == nullptr) {
    // At the fiber stack limit (vm.max_map_count): shed this connection, keep the others.
    delete this;
  }
}

void ClientConnection::onIdleReadable(core::Socket&) {
  active_ = true;
  spawnServer();
}

void ClientConnection::onIdleTimeout(core::Socket&) {
  if (requests_ == 0) {
    // Silent for client_header since accept: counted as the fiber would have counted it
    // (readHead's silent header timeout, or a TLS handshake that never came).
    Generation* used = nullptr;
    const ListenerPlan& plan = listener_.planIn(hub().current(), &used);
    size_t shard = hub().index();
    if (expect_proxy_ != conf::ProxyProtocol::off) {
      // Silent: no PROXY header was sent, nor anything else (docs/proxy-protocol.md).
      plan.metrics->client_errors[metrics::index(ClientError::header_timeout)].add(shard);
    } else if (plan.tls != nullptr) {
      plan.metrics->tls_handshakes[metrics::index(metrics::CheckResult::failure)].add(shard);
    } else {
      plan.metrics->client_errors[metrics::index(ClientError::header_timeout)].add(shard);
    }
  }
  delete this;
}

std::string_view ClientConnection::alpn() const {
  if (!tls_) return {};
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(tlsTransport()->ssl(), &p, &len);
  return {reinterpret_cast<const char*>(p), len};
}

bool ClientConnection::closeIfDormant() {
  if (active_) return false;
  delete this;
  return true;
}

void ClientConnection::goDormant(core::Duration idle) {
  active_ = false;
  stream_.watchIdle(this, idle);
}

namespace {

enum class HeadOutcome { parsed, closed, failed };

// Reads and parses one request head into `head`, which must be complete within
// client_header of `since`. On failure it has answered the client (or decided to close
// silently).
HeadOutcome readHead(ClientConnection& c, const conf::ListenerConfig& lc,
                     metrics::ListenerMetrics& lm, InputWindow& in, http::RequestHead& head,
                     core::TimePoint since) {
  size_t hub = c.hub().index();
  http::RequestParser parser(lc.limits.max_header_bytes);
  std::optional<core::Timeout> deadline;  // armed only if the head is not all here already
  auto answer = [&](int status, ClientError reason) {
    lm.client_errors[metrics::index(reason)].add(hub);
    // Proxy-made responses carry an X-Request-Id too: the request never got one of its own.
    char id[http::kMaxRequestIdLength];
    size_t id_len = http::generateRequestId(std::span<char>(id, sizeof id));
    char buf[512];
    size_t n = http::writeErrorResponse(status, std::string_view(id, id_len), true,
                                        std::span<char>(buf, sizeof buf));
    (void)writeTimed(c.transport(), buf, n, lc.timeouts.client_idle);
    return HeadOutcome::failed;
  };
  for (;;) {
    if (!in.empty()) {
      switch (parser.parse(in.data(), head)) {
        case http::ParseStatus::done:
          return HeadOutcome::parsed;
        case http::ParseStatus::error: {
          http::ParseError e = parser.error();
          return answer(http::statusFor(e), e == http::ParseError::header_too_large
                                                 ? ClientError::too_large
                                                 : ClientError::bad_request);
        }
        case http::ParseStatus::need_more:
          break;
      }
    }
    if (!in.ensureRoom()) return answer(431, ClientError::too_large);
    core::Result<size_t> n = c.transport().tryRead(in.tail(), in.tailRoom());
    if (!n.ok() && n.error().code == EAGAIN) {
      if (!deadline) {
        core::Duration left = lc.timeouts.client_header - (Clock::now() - since);
        deadline.emplace(left);
      }
      core::Status st = c.transport().waitReady(true);
      if (!st.ok()) {
        if (deadline->expired()) {
          if (in.empty()) {
            lm.client_errors[metrics::index(ClientError::header_timeout)].add(hub);
            return HeadOutcome::closed;  // never said a word: no answer owed
          }
          return answer(408, ClientError::header_timeout);
        }
        return HeadOutcome::closed;  // killed, or the socket was closed under us
      }
      continue;
    }
    if (!n.ok() || *n == 0) {
      if (!in.empty()) lm.client_errors[metrics::index(ClientError::reset)].add(hub);
      return HeadOutcome::closed;
    }
    in.produced(*n);
  }
}

}  // namespace

bool ClientConnection::startTls() {
  // The generation stays leased through the handshake: its context's SNI callback runs in
  // it.
  GenerationLease lease(hub());
  Generation* plan_gen = nullptr;
  const ListenerPlan& plan = listener_.planIn(*lease, &plan_gen);
  if (plan.tls == nullptr) return true;
  core::TimePoint t0 = Clock::now();
  auto tls = std::make_unique<TlsTransport>(plan.tls->newSession(), stream_);
  core::Status st;
  {
    // The handshake is part of the first head: both within client_header of accept.
    core::Timeout deadline(plan.config->timeouts.client_header - (Clock::now() - accepted_));
    st = tls->handshake();
  }
  size_t shard = hub().index();
  plan.metrics->tls_handshakes[metrics::index(st.ok() ? metrics::CheckResult::success
                                                           : metrics::CheckResult::failure)]
      .add(shard);
  if (!st.ok()) return false;
  plan.metrics->tls_handshake_duration.observe(shard, core::toSeconds(Clock::now() - t0));
  transport_ = tls.release();
  tls_ = true;
  return true;
}

bool ClientConnection::acceptProxyHeader() {
  conf::ProxyProtocol accept = std::exchange(expect_proxy_, conf::ProxyProtocol::off);
  Generation* used = nullptr;
  core::Duration budget = listener_.planIn(hub().current(), &used).config->timeouts.client_header;
  ProxyHeader header;
  ProxyRead r;
  {
    // Part of the first head, like a TLS handshake: within client_header of accept.
    core::Timeout deadline(budget - (Clock::now() - accepted_));
    r = readProxyHeader(stream_, accept, &header);
  }
  if (r.outcome == ProxyReadOutcome::ok) {
    // LOCAL and UNKNOWN (the sender's own health checks) keep the socket's peer.
    if (!header.local) peer_ = header.source;
    return true;
  }
  const ListenerPlan& plan = listener_.planIn(hub().current(), &used);
  if (r.outcome == ProxyReadOutcome::invalid) {
    plan.metrics->client_errors[metrics::index(ClientError::proxy_protocol)].add(hub().index());
  } else if (r.outcome == ProxyReadOutcome::silent && r.timed_out) {
    plan.metrics->client_errors[metrics::index(ClientError::header_timeout)].add(hub().index());
  }
  return false;
}

void ClientConnection::run() {
  // A plain connection's transport lives as long as its fiber: a dormant one keeps none.
  PlainTransport plain(stream_);
  if (!tls_) transport_ = &plain;
  Served s = serve();
  // Draining with the listener still open (drain_delay): the response just sent may have
  // promised keep-alive before the drain began, so the client may already be sending its
  // next request; it is answered (with Connection: close) until the listeners close, when
  // startDrain closes the dormant connections.
  if (s.next == Next::dormant && !listener_.stopped()) {
    // The buffer went back to the pool; the socket's idle watcher wakes us.
    if (!tls_) transport_ = nullptr;  // `plain` ends with this fiber
    goDormant(std::max(s.idle, core::Duration(1)));  // > 0: zero would mean no timeout
    return;
  }
  if (s.next == Next::linger) lingeringClose();
  // The one end of a connection that has a fiber (a dormant one ends in its idle watcher's
  // callbacks or closeIfDormant): docs/architecture.md, "Lifetimes".
  delete this;
}

ClientConnection::Served ClientConnection::serve() {
  if (expect_proxy_ != conf::ProxyProtocol::off && !acceptProxyHeader()) return {Next::close};
  if (requests_ == 0 && !tls_ && !startTls()) return {Next::close};
  if (listener_.protocol() == conf::Protocol::tcp) {
    serveTcp(*this);
    return {Next::close};
  }
  GenerationLease lease(hub());
  Generation* plan_gen = nullptr;
  const ListenerPlan* plan = &listener_.planIn(*lease, &plan_gen);
  InputWindow in(hub().buffers().get(plan->config->limits.max_header_bytes + kMinBodyWindow));
  if (requests_ == 0 && !tls_) {
    // A fresh plain HTTP connection: one look at the socket (readHead's first read), and if
    // the client has not spoken yet, dormancy for the rest of client_header.
    core::Result<size_t> n = transport_->tryRead(in.tail(), in.tailRoom());
    if (!n.ok() && n.error().code == EAGAIN) {
      return {Next::dormant, plan->config->timeouts.client_header - (Clock::now() - accepted_)};
    }
    if (!n.ok() || *n == 0) return {Next::close};
    in.produced(*n);
  }
  if (requests_ == 0 && speaksHttp2(*this, *plan, in, accepted_)) {
    serveHttp2(*this, *plan, in, accepted_);
    return {Next::close};
  }
  for (;;) {
    const conf::ListenerConfig& lc = *plan->config;
    core::Duration idle = lc.timeouts.client_idle;  // read now: the lease ends before dormancy
    core::TimePoint started = Clock::now();
    http::RequestHead head;
    in.unpin();
    in.compact();
    // The first head's clock started at accept, before the connection's dormant wait.
    HeadOutcome h =
        readHead(*this, lc, *plan->metrics, in, head, requests_ == 0 ? accepted_ : started);
    if (h == HeadOutcome::closed) return {Next::close};
    if (h == HeadOutcome::failed) return {Next::linger};
    in.pinHead(head.head_bytes);
    uint64_t max = lc.limits.max_requests_per_connection;
    bool keep_allowed = !listener_.stopped() && (max == 0 || requests_ + 1 < max);
    H1Downstream down(*this, *plan, head, in, keep_allowed);
    HttpExchange(down, *plan_gen, *plan, started).run();
    ++requests_;
    if (!down.keepAlive()) return {down.requestBodyDone() ? Next::close : Next::linger};
    lease.reset();
    in.unpin();
    in.compact();
    if (in.empty()) {
      // Nothing pipelined: one look at the socket, and dormancy if it has nothing either.
      core::Result<size_t> n = transport().tryRead(in.tail(), in.tailRoom());
      if (!n.ok() && n.error().code == EAGAIN) return {Next::dormant, idle};
      if (!n.ok() || *n == 0) return {Next::close};
      in.produced(*n);
    }
    lease.renew();
    plan = &listener_.planIn(*lease, &plan_gen);
  }
}

void ClientConnection::lingeringClose() {
  // Closing with unread input makes the kernel send a reset, which can destroy the error
  // response before the client reads it. So: end our side, then drain what the client is
  // still sending, for a bounded time and amount (nginx's lingering_close).
  if (!transport().shutdownWrite().ok()) return;
  constexpr core::Duration kLinger = std::chrono::seconds(1);
  constexpr size_t kMaxDrain = 1024 * 1024;
  char sink[4096];
  size_t drained = 0;
  core::Timeout t(kLinger);
  while (drained < kMaxDrain) {
    core::Result<size_t> n = readTimed(transport(), sink, sizeof sink, core::Duration::zero());
    if (!n.ok() || *n == 0) return;
    drained += *n;
  }
}

}  // namespace greenlb::proxy
