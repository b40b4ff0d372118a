#include "proxy/tls_transport.h"

#include <openssl/err.h>

#include <cstring>

namespace greenlb::proxy {

namespace {

// One TLS record's worth of payload: iovecs that fit are sent as one record (a response
// head and the start of its body), not one record and one syscall each.
constexpr size_t kCoalesceBytes = 16 * 1024;

core::Stream& streamOf(BIO* b) { return *static_cast<core::Stream*>(BIO_get_data(b)); }

int bioRead(BIO* b, char* buf, size_t len, size_t* got) {
  BIO_clear_retry_flags(b);
  core::Result<size_t> n = streamOf(b).tryRead(buf, len);
  if (n.ok()) {
    *got = *n;
    return *n > 0 ? 1 : 0;  // 0 without a retry flag: end of stream
  }
  if (n.error().code == EAGAIN) {
    BIO_set_retry_read(b);
  } else {
    errno = n.error().code;  // SSL_ERROR_SYSCALL reads it
  }
  return 0;
}

int bioWrite(BIO* b, const char* buf, size_t len, size_t* put) {
  BIO_clear_retry_flags(b);
  iovec iov{const_cast<char*>(buf), len};
  core::Result<size_t> n = streamOf(b).tryWritev(&iov, 1);
  if (n.ok()) {
    *put = *n;
    return 1;
  }
  if (n.error().code == EAGAIN) {
    BIO_set_retry_write(b);
  } else {
    errno = n.error().code;
  }
  return 0;
}

long bioCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

BIO_METHOD* streamBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "greenlb stream");
    BIO_meth_set_read_ex(m, bioRead);
    BIO_meth_set_write_ex(m, bioWrite);
    BIO_meth_set_ctrl(m, bioCtrl);
    return m;
  }();
  return method;
}

}  // namespace

TlsTransport::TlsTransport(SslPtr ssl, core::Stream& socket)
    : ssl_(std::move(ssl)), socket_(socket) {
  BIO* bio = BIO_new(streamBioMethod());
  BIO_set_data(bio, &socket_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // the SSL object owns it
}

core::Error TlsTransport::errorFor(int ret, bool reading) {
  int e = SSL_get_error(ssl_.get(), ret);
  int saved_errno = errno;
  core::Error out;
  switch (e) {
    case SSL_ERROR_WANT_READ:
      (reading ? read_wants_write_ : write_wants_read_) = !reading;
      return core::Error{EAGAIN};
    case SSL_ERROR_WANT_WRITE:
      (reading ? read_wants_write_ : write_wants_read_) = reading;
      return core::Error{EAGAIN};
    case SSL_ERROR_ZERO_RETURN:
      return core::Error{0};  // close_notify (or, from clients, EOF: IGNORE_UNEXPECTED_EOF)
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
    core::Error e = errorFor(r, true);
    if (e.code == EAGAIN) {
      core::Status st = waitReady(true);
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
  core::Error e = errorFor(r, true);
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
      if (iov[i].iov_len == 0) continue;  // an empty piece may have no buffer at all
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
  core::Error e = errorFor(ret, false);
  return e.code == 0 ? core::Error{EPIPE} : e;  // the peer's close_notify ends writing too
}

core::Status TlsTransport::waitReady(bool reading) {
  bool writable = reading ? read_wants_write_ : !write_wants_read_;
  return writable ? socket_.waitWritable() : socket_.waitReadable();
}

core::Status TlsTransport::shutdownWrite() {
  // Best effort close_notify: a full socket buffer does not hold the close up.
  if (SSL_shutdown(ssl_.get()) < 0) (void)errorFor(-1, false);
  return socket_.shutdownWrite();
}

}  // namespace greenlb::proxy
