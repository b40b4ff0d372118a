// What the proxy keeps per hub: buffers, the generation in force and the ones still in use,
// the hub's client connections (for draining), its upstream pools and access-log buffer.
// Touched only on its hub's thread.
#pragma once

#include <memory>
#include <string>
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
class ListenerSocket;
class Server;

class HubContext {
 public:
  HubContext(Server& server, size_t index, core::Hub& hub);
  ~HubContext();
  HubContext(const HubContext&) = delete;
  HubContext& operator=(const HubContext&) = delete;

  size_t index() const { return index_; }
  core::Hub& hub() { return hub_; }
  Server& server() { return server_; }
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
  EndpointPool& poolFor(balancer::Upstream& up, balancer::Endpoint& ep);
  // Frees the pools of endpoints nothing else refers to any more (reload, DNS).
  void sweepPools();

  // --- connections ---
  void addConnection(ClientConnection* c);
  void removeConnection(ClientConnection* c);
  size_t connectionCount() const { return connection_count_; }
  bool draining() const { return draining_; }
  // SIGTERM: responses from now on say Connection: close; listeners still accept.
  void stopKeepAlive();
  // Stops keep-alive: dormant connections close now, active ones after their response.
  void startDrain();
  // Closes every connection still open (the graceful timeout ran out); returns how many.
  size_t closeAll();
  // Client connections being served right now (not dormant).
  size_t activeConnections() const;

  AccessLog* accessLog() { return access_log_; }
  void setAccessLog(AccessLog* log) { access_log_ = log; }

 private:
  void retire(Generation* g);

  Server& server_;
  size_t index_;
  core::Hub& hub_;
  BufferPool buffers_;
  std::shared_ptr<Generation> current_;
  std::vector<std::shared_ptr<Generation>> retired_;  // still used by requests on this hub
  struct PoolEntry {
    std::shared_ptr<balancer::Endpoint> endpoint;
    std::unique_ptr<EndpointPool> pool;
  };
  std::vector<PoolEntry> pools_;
  std::vector<std::unique_ptr<ListenerSocket>> listeners_;
  std::vector<std::unique_ptr<ListenerSocket>> retired_listeners_;
  core::JoinHandle<void> housekeeping_;
  ClientConnection* connections_ = nullptr;
  size_t connection_count_ = 0;
  bool draining_ = false;
  AccessLog* access_log_ = nullptr;
};

}  // namespace greenlb::proxy
