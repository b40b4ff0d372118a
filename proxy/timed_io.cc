#include "proxy/timed_io.h"

#include "core/timeout.h"

namespace greenlb::proxy {

using core::Result;
using core::Status;

namespace {

Status waitFor(Transport& t, bool reading, core::Duration timeout) {
  if (timeout <= core::Duration::zero()) return t.waitReady(reading);
  core::Timeout bound(timeout);
  return t.waitReady(reading);
}

}  // namespace

Result<size_t> readTimed(Transport& t, void* buf, size_t len, core::Duration timeout) {
  for (;;) {
    Result<size_t> n = t.tryRead(buf, len);
    if (n.ok() || n.error().code != EAGAIN) return n;
    if (Status st = waitFor(t, true, timeout); !st.ok()) return st.error();
  }
}

Status writeTimed(Transport& t, const void* buf, size_t len, core::Duration timeout) {
  iovec iov{const_cast<void*>(buf), len};
  return writevTimed(t, &iov, 1, timeout);
}

Status writevTimed(Transport& t, iovec* iov, int count, core::Duration timeout,
                   size_t* written) {
  size_t total = 0;
  if (written == nullptr) written = &total;
  *written = 0;
  while (count > 0) {
    if (iov->iov_len == 0) {
      ++iov;
      --count;
      continue;
    }
    Result<size_t> n = t.tryWritev(iov, count);
    if (!n.ok()) {
      if (n.error().code != EAGAIN) return n.error();
      if (Status st = waitFor(t, false, timeout); !st.ok()) return st;
      continue;
    }
    core::consumeIov(iov, count, *n);
    *written += *n;
  }
  return {};
}

}  // namespace greenlb::proxy
