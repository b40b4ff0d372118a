#include "proxy/upstream_attempts.h"

#include <algorithm>
#include <random>

#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/h2/upstream_session.h"
#include "proxy/hub_context.h"
#include "proxy/proxy_protocol.h"
#include "proxy/tls_context.h"
#include "proxy/tls_transport.h"

namespace greenlb::proxy {

using core::Clock;

UpstreamAttempts::UpstreamAttempts(HubContext& hub, balancer::Upstream& up,
                                   const ClientTlsContext* tls)
    : hub_(hub), up_(up), tls_(tls), hub_index_(hub.index()), budget_(up.retryBudget(), hub.index()) {}

UpstreamAttempts::~UpstreamAttempts() {
  endAttempt();
  if (pinned_ != nullptr) pinned_->unpin();
}

void UpstreamAttempts::endAttempt() {
  if (begun_) up_.endRequest(hub_index_, *endpoint_);
  begun_ = false;
}

balancer::Endpoint* UpstreamAttempts::next() {
  endAttempt();
  reused_ = false;
  // The backoff is slept here, outside the failed attempt's Timeout scopes (one that
  // fired would cut the sleep at once).
  if (backoff_pending_) {
    backoff_pending_ = false;
    if (!backoff(retries_)) return nullptr;
  }
  fresh_only_ = false;
  if (again_ && endpoint_ != nullptr) {
    again_ = false;
    fresh_only_ = true;
    endpoint_->beginRequest();  // the same endpoint again: pickOrWait began the first one
    begun_ = true;
    ++attempts_;
    return endpoint_;
  }
  ctx_.now = Clock::now();
  balancer::PickFailure why;
  balancer::Endpoint* ep = up_.pickOrWait(hub_index_, ctx_, &why);
  if (ep == nullptr) {
    bool limits = why == balancer::PickFailure::limits;
    auto reason = limits ? metrics::Unavailable::limits : metrics::Unavailable::no_healthy;
    up_.metrics().unavailable[metrics::index(reason)].add(hub_index_);
    error_ = limits ? UpstreamError::upstream_limits : UpstreamError::no_healthy_endpoint;
    return nullptr;
  }
  ctx_.addTried(ep);
  // Pinned before anything parks: a DNS change may drop the endpoint from every membership
  // while this attempt still uses it (and logs its name at the end).
  if (pinned_ != nullptr) pinned_->unpin();
  pinned_ = &hub_.poolFor(up_, *ep);
  pinned_->pin();
  endpoint_ = ep;
  begun_ = true;
  ++attempts_;
  return ep;
}

std::unique_ptr<UpstreamConnection> UpstreamAttempts::openConnection(bool allow_pooled) {
  const conf::UpstreamConfig& cfg = up_.config();
  conf::ProxyProtocol send_proxy = cfg.send_proxy_protocol;
  if (allow_pooled && !fresh_only_) {
    // With PROXY headers, only a connection whose header named this client
    // (docs/proxy-protocol.md, "Pooled connections"); without, only one that sent none
    // (a reload may have turned send_proxy_protocol off under a kept pool).
    static const core::SocketAddress kNoHeader{};
    bool proxied = send_proxy != conf::ProxyProtocol::off && proxy_client_ != nullptr;
    if (auto c = pinned_->take(proxied ? *proxy_client_ : kNoHeader)) {
      reused_ = true;
      return c;
    }
  }
  balancer::Endpoint& ep = *endpoint_;
  std::unique_ptr<UpstreamConnection> conn = pinned_->fresh();
  core::TimePoint t0 = Clock::now();
  core::Status st;
  bool timed_out = false;
  bool tls_failed = false;
  {
    core::Timeout t(cfg.timeouts.connect);  // TCP and TLS connect ([upstream.timeouts] connect)
    st = conn->stream().connectTo(ep.address());
    if (st.ok() && send_proxy != conf::ProxyProtocol::off) st = sendProxyHeader(*conn, send_proxy);
    if (st.ok() && tls_ != nullptr) {
      auto session = tls_->handshake(ep.name(), conn->stream());
      if (session.ok()) {
        conn->setTls(std::move(*session));
      } else {
        st = session.error();
        tls_failed = true;
      }
    }
    timed_out = t.expired();
  }
  if (st.ok()) {
    up_.metrics().connect_duration.observe(hub_index_, core::toSeconds(Clock::now() - t0));
    return conn;
  }
  if (st.error().cancelled()) {
    error_ = UpstreamError::cancelled;
    return nullptr;
  }
  ep.metrics().connect_failures.add(hub_index_);
  if (timed_out) {
    up_.metrics().timeouts[metrics::index(metrics::TimeoutKind::connect)].add(hub_index_);
  }
  error_ = timed_out    ? UpstreamError::connect_timeout
           : tls_failed ? UpstreamError::tls_handshake_failed
                        : UpstreamError::connect_failed;
  return nullptr;
}

core::Status UpstreamAttempts::sendProxyHeader(UpstreamConnection& conn,
                                               conf::ProxyProtocol version) {
  char header[kProxyHeaderMaxWrite];
  size_t n = 0;
  if (proxy_client_ != nullptr) {
    core::SocketAddress local;
    if (proxy_client_socket_ != nullptr) {
      if (core::Result<core::SocketAddress> a = proxy_client_socket_->localAddress(); a.ok()) {
        local = *a;
      }
    }
    n = writeProxyHeader(version, proxy_client_, &local, header);
    if (n > 0) conn.setProxiedFor(*proxy_client_);
  }
  // No client to speak for (or no IP address to name): LOCAL / UNKNOWN, which the
  // upstream takes as "use the connection's own addresses".
  if (n == 0) n = writeProxyHeader(version, nullptr, nullptr, header);
  return conn.stream().writeAll(header, n);
}

H2StreamHandle UpstreamAttempts::openStream() {
  const conf::UpstreamConfig& cfg = up_.config();
  balancer::Endpoint& ep = *endpoint_;
  EndpointPool& pool = *pinned_;
  H2UpstreamSession* session = fresh_only_ ? nullptr : pool.h2Session();
  uint64_t max_conns = cfg.limits.max_connections;
  if (session == nullptr && max_conns != 0 && pool.h2Sessions() >= max_conns) {
    // Every connection this hub may have is full: nghttp2 queues the stream on the least
    // busy one until the server's concurrency limit lets it go.
    session = pool.h2Session();
  }
  core::TimePoint t0 = Clock::now();
  UpstreamError e = UpstreamError::none;
  bool timed_out = false;
  {
    core::Timeout t(cfg.timeouts.connect);  // TCP and TLS connect ([upstream.timeouts])
    if (session == nullptr) {
      auto fresh = std::make_unique<H2UpstreamSession>(pool, hub_.buffers(), cfg.pool.idle_timeout,
                                                       cfg.timeouts.idle);
      session = &pool.addH2Session(std::move(fresh));
      e = session->open(ep.address(), tls_, ep.name());
      if (e == UpstreamError::none) {
        up_.metrics().connect_duration.observe(hub_index_, core::toSeconds(Clock::now() - t0));
      } else {
        pool.h2SessionEnded(session);  // gone, unless requests still wait on it
      }
    } else {
      reused_ = !session->connecting();
      if (session->connecting()) e = session->awaitReady();
    }
    timed_out = t.expired();
  }
  if (e != UpstreamError::none) {
    error_ = timed_out ? UpstreamError::connect_timeout : e;
    if (error_ != UpstreamError::cancelled) {
      ep.metrics().connect_failures.add(hub_index_);
      if (timed_out) up_.metrics().timeouts[metrics::index(metrics::TimeoutKind::connect)].add(hub_index_);
    }
    return nullptr;
  }
  return H2UpstreamStream::open(*session);
}

void UpstreamAttempts::reportFailure() { up_.reportFailure(*endpoint_, Clock::now()); }

void UpstreamAttempts::reportSuccess() { up_.reportSuccess(*endpoint_); }

bool UpstreamAttempts::retry(UpstreamError e, bool replayable, int status) {
  error_ = e;
  const conf::RetryConfig& r = up_.config().retry;
  bool allowed = false;
  switch (info(e).retry_on) {
    case RetryOn::never:
      break;
    case RetryOn::connect_failure:  // nothing was sent: always safe to try again
      allowed = r.on_connect_failure;
      break;
    case RetryOn::reset:
      allowed = r.on_reset && replayable;
      break;
    case RetryOn::timeout:
      allowed = r.on_timeout && replayable;
      break;
    case RetryOn::status:
      allowed = replayable &&
                std::find(r.on_status.begin(), r.on_status.end(), status) != r.on_status.end();
      break;
  }
  if (!allowed || retries_ >= r.attempts) return false;
  // Over the upstream's retry budget the failure goes to the client. A failure that never
  // reached an upstream (no connection, a refused stream) is exempt: its retry moves the
  // request to another endpoint without adding work anywhere, and an endpoint going away
  // (GOAWAY, then refused connects) must not fail the requests in flight at that moment.
  if (info(e).retry_on != RetryOn::connect_failure && !budget_.allowRetry()) return false;
  endAttempt();  // its slot is free during the backoff
  ++retries_;
  up_.metrics().retries.add(hub_index_);
  backoff_pending_ = true;
  return true;
}

bool UpstreamAttempts::backoff(uint32_t retry) {
  core::Duration base = up_.config().retry.backoff;
  if (base <= core::Duration::zero()) return true;
  // Exponential with full jitter: uniform in [0, base * 2^(retry-1)], capped at 64x.
  thread_local std::minstd_rand rng{std::random_device{}()};
  int64_t cap = base.count() << std::min<uint32_t>(retry - 1, 6);
  if (cap <= 0) return true;
  core::Duration wait(std::uniform_int_distribution<int64_t>(0, cap)(rng));
  if (core::sleep(wait).ok()) return true;
  error_ = UpstreamError::cancelled;
  return false;
}

}  // namespace greenlb::proxy
