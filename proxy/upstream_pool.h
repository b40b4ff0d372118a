// Idle keep-alive connections to one endpoint, kept by one hub (docs/proxying.md,
// "Upstream connections").
//
// An idle connection has no fiber: its socket's idle watcher hears the upstream closing it,
// or sending anything unasked (or the idle timeout passing), and drops it from the pool;
// the socket's readiness state catches an edge that came while nothing watched. Only a
// quiet connection is pooled or reused (docs/security.md, "Upstream connection reuse").
// Reuse is LIFO, so the warmest connection goes first and the cold ones age out.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "balancer/endpoint.h"
#include "core/socket.h"
#include "core/time.h"
#include "proxy/transport.h"

namespace greenlb::metrics {
struct UpstreamMetrics;
}

namespace greenlb::proxy {

class EndpointPool;
class H2UpstreamSession;

// A connection to an upstream endpoint, in use by one request or idle in its pool.
class UpstreamConnection final : public core::IdleWatcher {
 public:
  explicit UpstreamConnection(EndpointPool* pool) : pool_(pool) {}
  core::Stream& stream() { return stream_; }
  // The socket, or TLS over it when the upstream speaks TLS.
  Transport& transport() { return tls_ != nullptr ? *tls_ : plain_; }
  void setTls(std::unique_ptr<Transport> tls) { tls_ = std::move(tls); }
  // The client a PROXY header sent on this connection spoke for; empty (length 0) when none
  // was. Such a connection is that client's alone, as HAProxy makes it private
  // (docs/proxy-protocol.md, "Pooled connections").
  const core::SocketAddress& proxiedFor() const { return proxied_for_; }
  void setProxiedFor(const core::SocketAddress& client) { proxied_for_ = client; }
  uint64_t requests = 0;  // served on this connection so far

 private:
  friend class EndpointPool;
  void onIdleReadable(core::Socket&) override;
  void onIdleTimeout(core::Socket&) override;

  core::Stream stream_;
  PlainTransport plain_{stream_};
  std::unique_ptr<Transport> tls_;
  EndpointPool* pool_;
  core::SocketAddress proxied_for_;
  UpstreamConnection* prev_ = nullptr;
  UpstreamConnection* next_ = nullptr;
};

// Reached from each Endpoint of its identity through the endpoint's hub state slot; a
// reload that rebuilds an upstream keeps the pools of the endpoints it kept
// (HubContext::poolFor).
class EndpointPool final : public balancer::EndpointHubState {
 public:
  EndpointPool(uint32_t max_idle, core::Duration idle_timeout, metrics::UpstreamMetrics* metrics,
               size_t hub);
  // A reload's [upstream.pool] for connections pooled from now on.
  void configure(uint32_t max_idle, core::Duration idle_timeout) {
    max_idle_ = max_idle;
    idle_timeout_ = idle_timeout;
  }
  ~EndpointPool();
  EndpointPool(const EndpointPool&) = delete;
  EndpointPool& operator=(const EndpointPool&) = delete;

  // The most recently used idle connection that sent a PROXY header for `proxied_for`
  // (empty: that sent none), or null. Without PROXY headers every connection matches and
  // the first one is taken; with them, connections of other clients are passed over.
  std::unique_ptr<UpstreamConnection> take(const core::SocketAddress& proxied_for);
  // A new, unconnected connection object belonging to this pool.
  std::unique_ptr<UpstreamConnection> fresh() { return std::make_unique<UpstreamConnection>(this); }
  // Keeps `c` for reuse (or closes it when the pool is full or closing).
  void give(std::unique_ptr<UpstreamConnection> c);
  // Closes every idle connection; later give()s close theirs (the endpoint left).
  void close();

  size_t idle() const { return idle_; }

  // --- HTTP/2 upstreams: connections shared by this hub's requests (docs/grpc.md) ---
  // A connection with room for one more stream (or still connecting), or null.
  H2UpstreamSession* h2Session();
  H2UpstreamSession& addH2Session(std::unique_ptr<H2UpstreamSession> s);
  size_t h2Sessions() const { return h2_.size(); }
  // A session's connection ended and its last stream left: it goes.
  void h2SessionEnded(H2UpstreamSession* s);

  // Requests of this hub that picked the endpoint and have not ended (UpstreamAttempts
  // pins from its pick to its end). While any has, the hub's sweep keeps this pool and the
  // Endpoints it serves, even after they left every membership (DNS): those requests
  // still use both.
  void pin() { ++pins_; }
  void unpin() { --pins_; }
  uint32_t pins() const { return pins_; }

 private:
  friend class UpstreamConnection;
  void drop(UpstreamConnection* c);  // idle connection died: unlink and delete
  void unlink(UpstreamConnection* c);

  uint32_t max_idle_;
  core::Duration idle_timeout_;
  metrics::UpstreamMetrics* metrics_;
  size_t hub_;
  bool closed_ = false;
  size_t idle_ = 0;
  uint32_t pins_ = 0;
  UpstreamConnection* head_ = nullptr;  // most recently returned
  std::vector<std::unique_ptr<H2UpstreamSession>> h2_;
};

}  // namespace greenlb::proxy
