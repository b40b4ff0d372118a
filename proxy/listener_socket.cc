#include "proxy/listener_socket.h"

#include <cstdio>

#include "proxy/client_connection.h"
#include "proxy/hub_context.h"
#include "proxy/server.h"

namespace greenlb::proxy {

ListenerSocket::ListenerSocket(HubContext& hub, std::string name, conf::Protocol protocol,
                               core::Listener socket, metrics::ListenerMetrics& metrics)
    : hub_(hub),
      name_(std::move(name)),
      protocol_(protocol),
      socket_(std::move(socket)),
      metrics_(metrics) {}

ListenerSocket::~ListenerSocket() {
  // Shutting down (or a failed start): nothing is served any more, queued ones included.
  stopped_ = true;
  socket_.close();
  acceptor_.kill();
}

void ListenerSocket::start() {
  last_known_ = hub_.currentShared();
  acceptor_ = hub_.hub().spawn([this] { acceptLoop(); }, "accept");
}

void ListenerSocket::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Closing a listening socket resets the connections the kernel completed but nobody
  // accepted yet: take them first; each is served (told Connection: close) like any
  // other accepted connection. Other hubs' sockets on the address take new ones.
  for (;;) {
    core::SocketAddress peer;
    core::Result<int> fd = socket_.tryAcceptFd(&peer);
    if (!fd.ok()) break;
    adopt(*fd, peer);
  }
  socket_.close();  // wakes the acceptor with EBADF
  acceptor_.kill();
}

void ListenerSocket::adopt(int fd, const core::SocketAddress& peer) {
  if (!hub_.server().admitConnection()) {
    core::Socket refused(fd);  // closes: over [global] max_connections
    return;
  }
  metrics_.connections_accepted.add(hub_.index());
  auto* c = new ClientConnection(hub_, *this, fd, peer);
  c->start();
}

void ListenerSocket::published(const std::shared_ptr<Generation>& gen) {
  if (gen->findListener(name_) != nullptr) last_known_ = gen;
}

const ListenerPlan& ListenerSocket::planIn(Generation& gen, Generation** used) {
  if (cached_gen_ == gen.number && cached_plan_ != nullptr) {
    *used = cached_used_;
    return *cached_plan_;
  }
  const ListenerPlan* plan = gen.findListener(name_);
  Generation* owner = &gen;
  if (plan != nullptr) {
    if (&gen == &hub_.current()) last_known_ = hub_.currentShared();
  } else {
    // Removed by a reload: finish on the last generation that had this listener.
    owner = last_known_.get();
    plan = owner->findListener(name_);
  }
  cached_gen_ = gen.number;
  cached_plan_ = plan;
  cached_used_ = owner;
  *used = owner;
  return *plan;
}

void ListenerSocket::acceptLoop() {
  Server& server = hub_.server();
  for (;;) {
    core::SocketAddress peer;
    core::Result<int> fd = socket_.acceptFd(&peer);
    if (!fd.ok()) {
      int e = fd.error().code;
      if (e == ECANCELED || e == EBADF) return;
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        // Out of descriptors: pause instead of spinning; connections in the backlog wait.
        server.noteAcceptFailure(e);
        if (!core::sleep(std::chrono::milliseconds(20)).ok()) return;
      }
      continue;
    }
    adopt(*fd, peer);
  }
}

}  // namespace greenlb::proxy
