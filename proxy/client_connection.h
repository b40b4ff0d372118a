// A client connection. While it waits for its next request it is *dormant*: no fiber, no
// buffer, only this small struct with the socket and its embedded event
// (docs/architecture.md, "Dormant connections"). The
// socket's idle watcher spawns a fiber again when the client speaks, or closes the
// connection when the idle timeout passes: `client_idle` between requests, and
// `client_header` before the first byte of a fresh connection, which starts dormant too
// when its client speaks first (one that connects and never speaks costs no fiber stack).
#pragma once

#include <cstdint>

#include <memory>

#include "conf/config.h"
#include "core/socket.h"
#include "core/time.h"
#include "proxy/tls_transport.h"
#include "proxy/transport.h"

namespace greenlb::proxy {

class H2ServerSession;
class HubContext;
class ListenerSocket;

class ClientConnection final : public core::IdleWatcher {
 public:
  ClientConnection(HubContext& hub, ListenerSocket& listener, int fd,
                   const core::SocketAddress& peer);
  ~ClientConnection();

  // A fresh connection: a TLS one (http or tcp listener), or one that must open with a
  // PROXY header, goes dormant until its client's first byte; a plain one gets a fiber at
  // once, which on an HTTP listener goes dormant
  // if the request is not there yet (a plain tcp one connects upstream: the server may
  // speak first). Deletes itself when it cannot go on.
  void start();
  // Closes a dormant connection (drain); a connection with a fiber closes after its
  // current response instead.
  bool closeIfDormant();
  // Closes the socket under an active fiber, whose I/O then fails (graceful timeout).
  void abort() { stream_.close(); }
  // Drain or listener closed while the connection is active: an HTTP/2 connection sends
  // GOAWAY now (an HTTP/1.1 one says Connection: close on its next response).
  void drain();
  // The HTTP/2 session serving the connection, while one does.
  void setHttp2(H2ServerSession* s) { h2_ = s; }

  core::Stream& stream() { return stream_; }
  // What requests are read from and answered on: the socket, or TLS over it.
  Transport& transport() { return tls_ != nullptr ? static_cast<Transport&>(*tls_) : plain_; }
  bool isTls() const { return tls_ != nullptr; }
  // The client's address: the socket's peer, or the source a PROXY header carried
  // (docs/proxy-protocol.md): the one client address for logs, headers, hashing and limits.
  const core::SocketAddress& peer() const { return peer_; }
  ListenerSocket& listener() { return listener_; }
  HubContext& hub() { return hub_; }
  bool active() const { return active_; }
  // The protocol TLS negotiated by ALPN ("h2", "http/1.1"), or empty.
  std::string_view alpn() const;
  uint64_t requests = 0;  // served on this connection

  // Hub list of connections (intrusive).
  ClientConnection* prev = nullptr;
  ClientConnection* next = nullptr;

 private:
  void onIdleReadable(core::Socket&) override;
  void onIdleTimeout(core::Socket&) override;
  void spawnServer();
  // A TLS listener's handshake, before the first request; false: close the connection.
  bool startTls();
  // The PROXY header the listener requires, before anything else; false: close.
  bool acceptProxyHeader();
  // What the fiber does when it stops serving: wait dormant for the next request (for
  // `idle`), close, or close after draining what the client still sends.
  enum class Next : uint8_t { dormant, close, linger };
  struct Served {
    Next next;
    core::Duration idle{};
  };
  void run();  // the fiber: serve(), then the connection's one end (or dormancy)
  Served serve();
  void goDormant(core::Duration idle);
  void lingeringClose();

  core::Stream stream_;
  PlainTransport plain_{stream_};
  std::unique_ptr<TlsTransport> tls_;
  H2ServerSession* h2_ = nullptr;
  HubContext& hub_;
  ListenerSocket& listener_;
  core::SocketAddress peer_;
  // When accept returned: the first request's head (and a TLS handshake before it) must be
  // complete within client_header of this, however long the connection stayed dormant.
  core::TimePoint accepted_;
  bool active_ = false;  // a fiber is serving it
  // The PROXY header still owed (decided at accept, so that a reload in between changes
  // nothing for this connection); off once read. Fits in the padding after active_.
  conf::ProxyProtocol expect_proxy_ = conf::ProxyProtocol::off;
};

}  // namespace greenlb::proxy
