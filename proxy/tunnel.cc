#include "proxy/tunnel.h"

#include "core/fair_share.h"
#include "core/forward.h"
#include "core/hub.h"
#include "core/timeout.h"

namespace greenlb::proxy {
namespace {

// Waits for `t` under the tunnel's idle limit, measured from the last byte moved in
// either direction.
core::Status waitIdle(Transport& t, bool reading, core::Duration idle,
                      const core::TimePoint& activity) {
  if (idle <= core::Duration::zero()) return t.waitReady(reading);
  for (;;) {
    core::Duration left = idle - (core::Clock::now() - activity);
    if (left <= core::Duration::zero()) return core::Error{ETIMEDOUT};
    core::Timeout bound(left);
    core::Status st = t.waitReady(reading);
    if (!bound.expired()) return st;
  }
}

// One direction through the transports (TLS on at least one side).
core::Result<uint64_t> copy(Transport& from, Transport& to, core::Duration idle,
                            core::TimePoint& activity) {
  char buf[16 * 1024];
  uint64_t total = 0;
  core::FairShare share;
  for (;;) {
    core::Result<size_t> n = from.tryRead(buf, sizeof buf);
    if (!n.ok()) {
      if (n.error().code != EAGAIN) return n.error();
      if (core::Status st = waitIdle(from, true, idle, activity); !st.ok()) return st.error();
      continue;
    }
    if (*n == 0) break;
    iovec iov{buf, *n};
    int count = 1;
    while (count > 0) {
      core::Result<size_t> w = to.tryWritev(&iov, 1);
      if (!w.ok()) {
        if (w.error().code != EAGAIN) return w.error();
        if (core::Status st = waitIdle(to, false, idle, activity); !st.ok()) return st.error();
        continue;
      }
      iov.iov_base = static_cast<char*>(iov.iov_base) + *w;
      iov.iov_len -= *w;
      if (iov.iov_len == 0) count = 0;
    }
    total += *n;
    activity = core::Clock::now();
    share.spend(*n);
  }
  if (core::Status st = to.shutdownWrite(); !st.ok() && st.error().code != ENOTCONN) {
    return st.error();
  }
  return total;
}

}  // namespace

TunnelResult runTunnel(Transport& a, Transport& b, core::Duration idle) {
  TunnelResult result;
  core::TimePoint activity = core::Clock::now();
  bool splice = a.plain() && b.plain();
  auto direction = [&](Transport& from, Transport& to, uint64_t* moved) {
    core::Result<uint64_t> r = core::Error{0};
    if (splice) {
      char buffer[4096];  // only used if no pipe can be had for splice (fd limit)
      core::ForwardOptions o;
      o.idle = idle;
      o.activity = &activity;
      o.buffer = buffer;
      o.buffer_size = sizeof buffer;
      r = core::forward(from.socket(), to.socket(), o);
    } else {
      r = copy(from, to, idle, activity);
    }
    if (r.ok()) {
      *moved = *r;
      return;
    }
    // Reset, idle timeout or the other side closed: end the whole tunnel.
    result.clean = false;
    a.socket().close();
    b.socket().close();
  };
  auto forth = core::spawn([&] { direction(a, b, &result.a_to_b); }, "tunnel");
  auto back = core::spawn([&] { direction(b, a, &result.b_to_a); }, "tunnel");
  if (!forth.join().ok() || !back.join().ok()) {
    // We were killed (shutdown): end both directions and wait without being cancellable.
    result.clean = false;
    a.socket().close();
    b.socket().close();
    while (!forth.done() || !back.done()) core::yield();
  }
  return result;
}

}  // namespace greenlb::proxy
