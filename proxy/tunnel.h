// A two-way byte tunnel between two connections (WebSocket and other upgrades, tcp
// listeners): one fiber per direction and one idle clock shared by both directions. Plain
// sockets on both sides are spliced (zero copy); TLS on either side copies through its
// Transport. When one direction fails the other is ended by closing both sockets.
#pragma once

#include <cstdint>

#include "core/time.h"
#include "proxy/transport.h"

namespace greenlb::proxy {

struct TunnelResult {
  uint64_t a_to_b = 0;
  uint64_t b_to_a = 0;
  bool clean = true;  // both sides ended their streams; false after an error or timeout
};

// Runs until both directions have ended. Returns only once neither direction's fiber
// touches `a` or `b` any more, even if the calling fiber is killed meanwhile.
TunnelResult runTunnel(Transport& a, Transport& b, core::Duration idle);

}  // namespace greenlb::proxy
