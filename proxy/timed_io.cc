#include "proxy/timed_io.h"

#include "core/timeout.h"

namespace greenlb::proxy {

using core::Error;
using core::Result;
using core::Status;

namespace {

// Waits for readiness under a fresh Timeout; a timeout of zero means no bound.
Status waitFor(core::Stream& s, bool readable, core::Duration timeout) {
  if (timeout <= core::Duration::zero()) return readable ? s.waitReadable() : s.waitWritable();
  core::Timeout t(timeout);
  return readable ? s.waitReadable() : s.waitWritable();
}

}  // namespace

Result<size_t> readTimed(core::Stream& s, void* buf, size_t len, core::Duration timeout) {
  for (;;) {
    Result<size_t> n = s.tryRead(buf, len);
    if (n.ok() || n.error().code != EAGAIN) return n;
    if (Status st = waitFor(s, true, timeout); !st.ok()) return st.error();
  }
}

Status writeTimed(core::Stream& s, const void* buf, size_t len, core::Duration timeout) {
  iovec iov{const_cast<void*>(buf), len};
  return writevTimed(s, &iov, 1, timeout);
}

Status writevTimed(core::Stream& s, iovec* iov, int count, core::Duration timeout) {
  while (count > 0) {
    Result<size_t> n = s.tryWritev(iov, count);
    if (!n.ok()) {
      if (n.error().code != EAGAIN) return n.error();
      if (Status st = waitFor(s, false, timeout); !st.ok()) return st;
      continue;
    }
    size_t left = *n;
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return {};
}

}  // namespace greenlb::proxy
