// The admin listener (docs/observability.md): /metrics, /healthz, /readyz, /status, the
// status page at /, and POST /reload when [admin] allow_reload is true. Served by greenlb's
// own runtime: a listening socket and one fiber per connection on hub 0, not a second
// thread pool.
#pragma once

#include <memory>
#include <string>

#include "core/hub.h"
#include "core/socket.h"

namespace greenlb::proxy {

class Server;

class AdminServer {
 public:
  // Binds `at` and starts accepting on the current hub; nullptr (and `error`) on failure.
  static std::unique_ptr<AdminServer> start(Server& server, const core::SocketAddress& at,
                                            std::string* error);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

 private:
  AdminServer(Server& server, core::Listener socket);
  void acceptLoop();
  void serve(core::Stream conn);

  Server& server_;
  core::Listener socket_;
  core::JoinHandle<void> acceptor_;
};

}  // namespace greenlb::proxy
