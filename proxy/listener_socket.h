// One hub's listening socket for one [[listener]] (SO_REUSEPORT: every hub has its own on
// the same address) and the fiber accepting on it.
//
// It outlives reloads that keep its address; a reload that removes the listener closes it,
// and its connections finish on the last generation that knew it.
#pragma once

#include <memory>
#include <string>

#include "conf/config.h"
#include "core/hub.h"
#include "core/socket.h"
#include "metrics/families.h"
#include "proxy/generation.h"

namespace greenlb::proxy {

class HubContext;

class ListenerSocket {
 public:
  ListenerSocket(HubContext& hub, std::string name, conf::Protocol protocol,
                 core::Listener socket, metrics::ListenerMetrics& metrics);
  ~ListenerSocket();
  ListenerSocket(const ListenerSocket&) = delete;
  ListenerSocket& operator=(const ListenerSocket&) = delete;

  const std::string& name() const { return name_; }
  conf::Protocol protocol() const { return protocol_; }
  HubContext& hub() const { return hub_; }

  // Starts the accept fiber (hub thread).
  void start();
  // Stops accepting and closes the socket (hub thread). Connections already accepted go on
  // and are not kept alive.
  void stop();
  bool stopped() const { return stopped_; }
  metrics::ListenerMetrics& metrics() { return metrics_; }

  // The listener's plan in `gen`, or in the last generation that had it (removed by a
  // reload: its connections finish on that one). Never null.
  const ListenerPlan& planIn(Generation& gen, Generation** used);
  // A reload published `gen` on this hub. The listener forgets the generation it knew
  // before (if `gen` still has it): holding it would keep its upstreams, their endpoints
  // and their metric series alive after every request that used them ended.
  void published(const std::shared_ptr<Generation>& gen);

  // Connections accepted here and still open (hub-local).
  size_t connections = 0;

 private:
  void acceptLoop();
  // Serves an accepted connection, or closes it over [global] max_connections.
  void adopt(int fd, const core::SocketAddress& peer);

  HubContext& hub_;
  std::string name_;
  conf::Protocol protocol_;
  core::Listener socket_;
  metrics::ListenerMetrics& metrics_;
  core::JoinHandle<void> acceptor_;
  bool stopped_ = false;
  // Cache of planIn's lookup, and the last generation that had this listener.
  uint64_t cached_gen_ = 0;
  const ListenerPlan* cached_plan_ = nullptr;
  Generation* cached_used_ = nullptr;
  std::shared_ptr<Generation> last_known_;
};

}  // namespace greenlb::proxy
