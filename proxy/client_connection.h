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
#include "core/slab_allocated.h"
#include "core/socket.h"
#include "core/time.h"
#include "proxy/listener_socket.h"
#include "proxy/tls_transport.h"
#include "proxy/transport.h"

namespace greenlb::proxy {

class HubContext;

// Every field is paid by every idle keep-alive connection (docs/architecture.md, "Dormant
// connections"): 248 bytes, from a per-hub slab. Nothing that only a serving fiber needs
// lives here: the plain transport and an HTTP/2 session are on the fiber's stack.
class ClientConnection final : public core::IdleWatcher,
                               public core::SlabAllocated<ClientConnection> {
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

  core::Stream& stream() { return stream_; }
  // What requests are read from and answered on: the socket, or TLS over it. Only while a
  // fiber serves the connection.
  Transport& transport() { return *transport_; }
  bool isTls() const { return tls_; }
  // The client's address: the socket's peer, or the source a PROXY header carried
  // (docs/proxy-protocol.md): the one client address for logs, headers, hashing and limits.
  const core::SocketAddress& peer() const { return peer_; }
  ListenerSocket& listener() { return listener_; }
  HubContext& hub() const { return listener_.hub(); }
  bool active() const { return active_; }
  // The protocol TLS negotiated by ALPN ("h2", "http/1.1"), or empty.
  std::string_view alpn() const;

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

  TlsTransport* tlsTransport() const {
    return tls_ ? static_cast<TlsTransport*>(transport_) : nullptr;
  }

  core::Stream stream_;
  // The TLS session (owned, when tls_), or while a fiber serves a plain connection the
  // PlainTransport on that fiber's stack; null while a plain connection is dormant.
  Transport* transport_ = nullptr;
  ListenerSocket& listener_;
  core::SocketAddress peer_;
  // When accept returned: the first request's head (and a TLS handshake before it) must be
  // complete within client_header of this, however long the connection stayed dormant.
  core::TimePoint accepted_;
  uint32_t requests_ = 0;  // served on this connection
  bool active_ = false;    // a fiber is serving it
  bool tls_ = false;       // transport_ is the connection's own TlsTransport
  // The PROXY header still owed (decided at accept, so that a reload in between changes
  // nothing for this connection); off once read.
  conf::ProxyProtocol expect_proxy_ = conf::ProxyProtocol::off;
};

}  // namespace greenlb::proxy
