// The classic eventlet example, in greenlb's core: a green echo server. One fiber accepts;
// each client gets its own fiber running plain sequential code.
//
//   example_echo_server [port]     (port 0 picks one; the chosen port is printed)
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "core/runtime.h"
#include "core/signals.h"
#include "core/socket.h"

using namespace greenlb::core;

void handle(Stream client) {
  char buf[4096];
  for (;;) {
    Result<size_t> n = client.readSome(buf, sizeof buf);
    if (!n.ok() || *n == 0) return;  // error or the client closed
    if (!client.writeAll(buf, *n).ok()) return;
  }
}

int main(int argc, char** argv) {
  auto port = static_cast<uint16_t>(argc > 1 ? std::atoi(argv[1]) : 6000);
  Runtime runtime(RuntimeOptions{.hubs = 1});
  runtime.run([port] {
    Result<Listener> server = Listener::bind(*SocketAddress::fromIp("127.0.0.1", port));
    if (!server.ok()) {
      std::fprintf(stderr, "bind: %s\n", server.error().message());
      return;
    }
    std::printf("listening on %s\n", server->localAddress()->str().c_str());
    std::fflush(stdout);
    SignalSet stop({SIGTERM, SIGINT});
    auto acceptor = spawn([&] {
      for (;;) {
        Result<Stream> client = server->accept();
        if (!client.ok()) return;
        spawn([c = std::move(*client)]() mutable { handle(std::move(c)); });
      }
    });
    (void)stop.wait();  // returning from main stops every fiber
  });
}
