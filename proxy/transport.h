// The byte stream a proxied connection speaks over: the plain socket, or TLS on top of it
// (proxy/tls_transport.h). The data path (timed_io, body_pump, tunnel, http_exchange)
// reads and writes through this interface, so TLS and plain connections share one path.
//
// The primitives never wait: tryRead/tryWritev return EAGAIN, and waitReady() parks the
// fiber until the operation that got EAGAIN can make progress (for TLS a read may need
// the socket writable, during a renegotiation or key update).
#pragma once

#include <sys/uio.h>

#include "core/result.h"
#include "core/socket.h"

namespace greenlb::proxy {

class Transport {
 public:
  virtual ~Transport() = default;

  // Bytes read (0 = end of stream), or an error; EAGAIN when nothing is available.
  virtual core::Result<size_t> tryRead(void* buf, size_t len) = 0;
  // Bytes written (possibly fewer than asked), or an error; EAGAIN when none fit.
  virtual core::Result<size_t> tryWritev(const iovec* iov, int count) = 0;
  // After an EAGAIN from tryRead (reading = true) or tryWritev: waits until retrying can
  // progress. Fails like every wait (ETIMEDOUT, ECANCELED, EBADF).
  virtual core::Status waitReady(bool reading) = 0;
  // Ends our direction of the stream (TLS: close_notify, then the socket's write side).
  virtual core::Status shutdownWrite() = 0;

  // The socket underneath: its address, idle watching (dormancy), closing.
  virtual core::Stream& socket() = 0;
  // Bytes already read from the socket and not yet returned by tryRead (TLS records
  // decrypted ahead). With socket().probeQuiet() this tells a pooled connection that
  // nothing is pending.
  virtual bool hasBuffered() const = 0;
  // True when bytes on the wire are the payload itself, so splice(2) can move them.
  virtual bool plain() const = 0;
};

// The socket itself.
class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(core::Stream& s) : s_(s) {}
  core::Result<size_t> tryRead(void* buf, size_t len) override { return s_.tryRead(buf, len); }
  core::Result<size_t> tryWritev(const iovec* iov, int count) override {
    return s_.tryWritev(iov, count);
  }
  core::Status waitReady(bool reading) override {
    return reading ? s_.waitReadable() : s_.waitWritable();
  }
  core::Status shutdownWrite() override { return s_.shutdownWrite(); }
  core::Stream& socket() override { return s_; }
  bool hasBuffered() const override { return false; }
  bool plain() const override { return true; }

 private:
  core::Stream& s_;
};

}  // namespace greenlb::proxy
