#include "proxy/tunnel.h"

#include "core/forward.h"
#include "core/hub.h"

namespace greenlb::proxy {

TunnelResult runTunnel(core::Stream& a, core::Stream& b, core::Duration idle) {
  TunnelResult result;
  core::TimePoint activity = core::Clock::now();
  core::ForwardOptions opts;
  opts.idle = idle;
  opts.activity = &activity;
  auto direction = [&](core::Stream& from, core::Stream& to, uint64_t* moved) {
    char buffer[4096];  // only used if no pipe can be had for splice (fd limit)
    core::ForwardOptions o = opts;
    o.buffer = buffer;
    o.buffer_size = sizeof buffer;
    core::Result<uint64_t> r = core::forward(from, to, o);
    if (r.ok()) {
      *moved = *r;
      return;
    }
    // Reset, idle timeout or the other side closed: end the whole tunnel.
    result.clean = false;
    a.close();
    b.close();
  };
  auto forth = core::spawn([&] { direction(a, b, &result.a_to_b); }, "tunnel");
  auto back = core::spawn([&] { direction(b, a, &result.b_to_a); }, "tunnel");
  if (!forth.join().ok() || !back.join().ok()) {
    // We were killed (shutdown): end both directions and wait without being cancellable.
    result.clean = false;
    a.close();
    b.close();
    while (!forth.done() || !back.done()) core::yield();
  }
  return result;
}

}  // namespace greenlb::proxy
