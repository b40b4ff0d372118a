#include "proxy/tls_transport.h"

#include <openssl/err.h>

#include <cstring>

namespace greenlb::proxy {

namespace {

// One TLS record's worth of payload: iovecs that fit are sent as one record (a response
// head and the start of its body), not one record and one syscall each.
constexpr size_t kCoalesceBytes = 16 * 1024;

}  // namespace

TlsTransport::TlsTransport(SslPtr ssl, core::Stream& socket)
    : ssl_(std::move(ssl)), socket_(socket) {
  SSL_set_fd(ssl_.get(), socket_.fd());
}

core::Error TlsTransport::errorFor(int ret) {
  int e = SSL_get_error(ssl_.get(), ret);
  int saved_errno = errno;
  core::Error out;
  switch (e) {
    case SSL_ERROR_WANT_READ:
      want_write_ = false;
      return core::Error{EAGAIN};
    case SSL_ERROR_WANT_WRITE:
      want_write_ = true;
      return core::Error{EAGAIN};
    case SSL_ERROR_ZERO_RETURN:
      return core::Error{0};  // close_notify (or EOF: SSL_OP_IGNORE_UNEXPECTED_EOF)
    case SSL_ERROR_SYSCALL:
      out = core::Error{saved_errno != 0 ? saved_errno : ECONNRESET};
      break;
    default:
      out = core::Error{EPROTO};
      break;
  }
  // Leave the hub thread's error queue empty for the next connection's SSL calls, keeping
  // the first reason for the log.
  if (unsigned long code = ERR_get_error(); code != 0 && why_.empty()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    why_ = text;
  } else if (why_.empty()) {
    why_ = std::strerror(out.code);
  }
  ERR_clear_error();
  return out;
}

core::Status TlsTransport::handshake() {
  for (;;) {
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) return {};
    core::Error e = errorFor(r);
    if (e.code == EAGAIN) {
      core::Status st = waitReady(!want_write_);
      if (!st.ok()) return st;
      continue;
    }
    if (e.code == 0) {
      if (why_.empty()) why_ = "peer closed during the handshake";
      return core::Error{ECONNRESET};
    }
    return e;
  }
}

core::Result<size_t> TlsTransport::tryRead(void* buf, size_t len) {
  size_t n = 0;
  int r = SSL_read_ex(ssl_.get(), buf, len, &n);
  if (r == 1) return n;
  core::Error e = errorFor(r);
  if (e.code == 0) return size_t{0};
  return e;
}

core::Result<size_t> TlsTransport::tryWritev(const iovec* iov, int count) {
  size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  if (count > 1 && total <= kCoalesceBytes) {
    // A retry after EAGAIN passes the same bytes again (from the caller's unchanged iovecs),
    // as OpenSSL requires; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows the copy.
    thread_local char joined[kCoalesceBytes];
    size_t at = 0;
    for (int i = 0; i < count; ++i) {
      std::memcpy(joined + at, iov[i].iov_base, iov[i].iov_len);
      at += iov[i].iov_len;
    }
    size_t n = 0;
    int r = SSL_write_ex(ssl_.get(), joined, total, &n);
    if (r == 1) return n;
    return writeError(r);
  }
  size_t written = 0;
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;
    size_t n = 0;
    int r = SSL_write_ex(ssl_.get(), iov[i].iov_base, iov[i].iov_len, &n);
    if (r != 1) {
      core::Error e = writeError(r);
      if (written > 0 && e.code == EAGAIN) return written;
      return e;
    }
    written += n;
    if (n < iov[i].iov_len) break;  // partial: the socket is full
  }
  return written;
}

core::Error TlsTransport::writeError(int ret) {
  core::Error e = errorFor(ret);
  return e.code == 0 ? core::Error{EPIPE} : e;  // the peer's close_notify ends writing too
}

core::Status TlsTransport::waitReady(bool) {
  return want_write_ ? socket_.waitWritable() : socket_.waitReadable();
}

core::Status TlsTransport::shutdownWrite() {
  // Best effort close_notify: a full socket buffer does not hold the close up.
  if (SSL_shutdown(ssl_.get()) < 0) (void)errorFor(-1);
  return socket_.shutdownWrite();
}

}  // namespace greenlb::proxy
