// What the proxy keeps per hub: buffers, the generation in force and the ones still in use,
// the hub's client connections (for draining), its upstream pools and access-log buffer.
// Touched only on its hub's thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "balancer/endpoint.h"
#include "balancer/upstream.h"
#include "core/hub.h"
#include "proxy/buffer_pool.h"
#include "proxy/generation.h"
#include "proxy/upstream_pool.h"

namespace greenlb::proxy {

class AccessLog;
class ClientConnection;
class H2ServerSession;
class ListenerSocket;
class Server;

class HubContext {
 public:
  HubContext(Server& server, size_t index, core::Hub& hub);
  // Without a Server: what an exchange needs of its hub (buffers, pools, the access log,
  // the drain state) and nothing of the listeners', for running exchanges in unit tests
  // (tests/unit/proxy/exchange_test.cc; docs/architecture.md, "Testing the exchange").
  HubContext(size_t index, core::Hub& hub);
  ~HubContext();
  HubContext(const HubContext&) = delete;
  HubContext& operator=(const HubContext&) = delete;

  size_t index() const { return index_; }
  core::Hub& hub() { return hub_; }
  Server& server() { return *server_; }  // not for a HubContext made without one
  BufferPool& buffers() { return buffers_; }

  // --- generations ---
  // The generation new requests use; a request holds it from acquire() to release().
  Generation* acquire() {
    Generation* g = current_.get();
    ++g->users(index_);
    return g;
  }
  void release(Generation* g) {
    if (--g->users(index_) == 0 && g != current_.get()) retire(g);
  }
  Generation& current() { return *current_; }
  std::shared_ptr<Generation> currentShared() const { return current_; }
  void publish(std::shared_ptr<Generation> g);

  // --- listening sockets of this hub ---
  ListenerSocket* findListener(const std::string& name);
  void addListener(std::unique_ptr<ListenerSocket> l);  // starts it
  // Stops accepting; the socket object lives on until its last connection closes.
  void retireListener(const std::string& name);
  void stopListeners();
  std::vector<std::unique_ptr<ListenerSocket>>& listeners() { return listeners_; }

  // Starts the hub's housekeeping fiber (pool and listener sweeps, access-log flushes).
  void startHousekeeping();

  // --- upstream pools ---
  // The pool of idle connections to `ep` on this hub: one per identity (upstream name,
  // address, protocol and TLS settings), so a reload that rebuilds an upstream keeps the pools of
  // the endpoints it kept. O(1) from the endpoint's hub state slot after the first call.
  EndpointPool& poolFor(balancer::Upstream& up, balancer::Endpoint& ep) {
    if (balancer::EndpointHubState* s = ep.hubState(index_)) return static_cast<EndpointPool&>(*s);
    return attachPool(up, ep);
  }
  // Lets go of endpoints that left every membership (reload, DNS) and no request of this
  // hub uses, and closes the pools no endpoint is left for.
  void sweepPools();
  size_t poolCount() const { return pools_.size(); }

  // --- connections ---
  void addConnection(ClientConnection* c);
  void removeConnection(ClientConnection* c);
  size_t connectionCount() const { return connection_count_; }
  // HTTP/2 sessions serving here, told to GOAWAY when their listener or the hub drains.
  void addHttp2(H2ServerSession* s);
  void removeHttp2(H2ServerSession* s);
  bool draining() const { return draining_; }
  // SIGTERM: responses from now on say Connection: close; listeners still accept.
  void stopKeepAlive();
  // Stops keep-alive: dormant connections close now, active ones after their response.
  void startDrain();
  // Closes every connection still open (the graceful timeout ran out); returns how many.
  size_t closeAll();

  AccessLog* accessLog() { return access_log_; }
  void setAccessLog(AccessLog* log) { access_log_ = log; }

 private:
  void retire(Generation* g);
  EndpointPool& attachPool(balancer::Upstream& up, balancer::Endpoint& ep);

  Server* server_;
  size_t index_;
  core::Hub& hub_;
  BufferPool buffers_;
  std::shared_ptr<Generation> current_;
  std::vector<std::shared_ptr<Generation>> retired_;  // still used by requests on this hub
  struct PoolEntry {
    std::string upstream;
    core::SocketAddress address;
    std::optional<conf::UpstreamTls> tls;
    conf::UpstreamProtocol protocol;
    std::unique_ptr<EndpointPool> pool;
    // Endpoints whose hub state slot points at `pool`: kept alive until the slot is clear.
    std::vector<std::shared_ptr<balancer::Endpoint>> endpoints;
  };
  std::vector<PoolEntry> pools_;
  std::vector<std::unique_ptr<ListenerSocket>> listeners_;
  std::vector<std::unique_ptr<ListenerSocket>> retired_listeners_;
  core::JoinHandle<void> housekeeping_;
  // Sends the graceful GOAWAY on every HTTP/2 session (of `listener` only, when given).
  void drainHttp2(const ListenerSocket* listener);

  ClientConnection* connections_ = nullptr;
  size_t connection_count_ = 0;
  H2ServerSession* h2_sessions_ = nullptr;
  bool draining_ = false;
  AccessLog* access_log_ = nullptr;
};

// A hold on the generation in force when it was taken (HubContext::acquire), released when
// the lease ends however its holder ends: a request or tunnel finishes on the generation
// it began with while a reload publishes the next (docs/operations.md, "Reload").
class GenerationLease {
 public:
  explicit GenerationLease(HubContext& hub) : hub_(&hub), gen_(hub.acquire()) {}
  ~GenerationLease() { reset(); }
  GenerationLease(GenerationLease&& o) noexcept
      : hub_(o.hub_), gen_(std::exchange(o.gen_, nullptr)) {}
  GenerationLease& operator=(GenerationLease&& o) noexcept {
    if (this != &o) {
      reset();
      hub_ = o.hub_;
      gen_ = std::exchange(o.gen_, nullptr);
    }
    return *this;
  }
  GenerationLease(const GenerationLease&) = delete;
  GenerationLease& operator=(const GenerationLease&) = delete;

  Generation& operator*() const { return *gen_; }
  Generation* operator->() const { return gen_; }
  explicit operator bool() const { return gen_ != nullptr; }
  // Releases now (before going dormant, say); the lease is empty afterwards.
  void reset() {
    if (gen_ != nullptr) hub_->release(std::exchange(gen_, nullptr));
  }
  // Releases the current generation and takes the one in force now.
  void renew() {
    reset();
    gen_ = hub_->acquire();
  }

 private:
  HubContext* hub_;
  Generation* gen_;
};

}  // namespace greenlb::proxy
