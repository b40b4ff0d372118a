// TLS over a green socket (OpenSSL 3). The SSL object reads and writes the non-blocking
// fd itself; when it needs the socket readable or writable (SSL_ERROR_WANT_READ/WRITE) the
// operation returns EAGAIN and waitReady() parks the fiber on exactly that readiness, so a
// handshake or a read that needs a write (TLS 1.3 key update) never blocks the hub.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "proxy/transport.h"

namespace greenlb::proxy {

struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

class TlsTransport final : public Transport {
 public:
  // `ssl` is set up for its role (server or client) and is bound to `socket`'s fd here.
  TlsTransport(SslPtr ssl, core::Stream& socket);

  // Runs the handshake to its end, parking as needed; bounded by the caller's Timeouts.
  // On failure, why() says what OpenSSL reported.
  core::Status handshake();
  const std::string& why() const { return why_; }

  core::Result<size_t> tryRead(void* buf, size_t len) override;
  core::Result<size_t> tryWritev(const iovec* iov, int count) override;
  core::Status waitReady(bool reading) override;
  core::Status shutdownWrite() override;
  core::Stream& socket() override { return socket_; }
  bool plain() const override { return false; }

  SSL* ssl() { return ssl_.get(); }

 private:
  // Maps an SSL_get_error result: EAGAIN (remembering which readiness to wait for), end
  // of stream, or a failure.
  core::Error errorFor(int ret);
  core::Error writeError(int ret);

  SslPtr ssl_;
  core::Stream& socket_;
  bool want_write_ = false;  // the last EAGAIN needs the socket writable, not readable
  std::string why_;
};

}  // namespace greenlb::proxy
