// TLS over a green socket (OpenSSL 3). The SSL object reads and writes through a BIO that
// calls the Stream's own tryRead/tryWritev, so the socket's readiness state stays true under
// TLS too (a pooled TLS connection can tell it is quiet) and a socket closed by another
// fiber fails with EBADF instead of reaching whatever connection reuses its fd number. When
// the SSL object needs the socket readable or writable (SSL_ERROR_WANT_READ/WRITE) the
// operation returns EAGAIN and waitReady() parks the fiber on exactly that readiness, so a
// handshake or a read that needs a write (TLS 1.3 key update) never blocks the hub. The
// reading and the writing direction remember their needs apart: a tunnel runs one fiber
// for each over the same SSL object.
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
  bool hasBuffered() const override { return SSL_has_pending(ssl_.get()) == 1; }
  bool plain() const override { return false; }

  SSL* ssl() { return ssl_.get(); }

 private:
  // Maps an SSL_get_error result: EAGAIN (remembering in `wants_other` whether the
  // direction needs the other readiness), end of stream, or a failure.
  core::Error errorFor(int ret, bool reading);
  core::Error writeError(int ret);

  SslPtr ssl_;
  core::Stream& socket_;
  bool read_wants_write_ = false;  // the reading direction's last EAGAIN needs writable
  bool write_wants_read_ = false;  // the writing direction's last EAGAIN needs readable
  std::string why_;
};

}  // namespace greenlb::proxy
