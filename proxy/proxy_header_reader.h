// Reads the PROXY header a listener requires off a fresh client connection
// (docs/proxy-protocol.md, "Listeners"). It consumes exactly the header's bytes: what
// follows belongs to the TLS handshake, the HTTP request or the tunnel, which read the
// socket themselves. So it looks first (MSG_PEEK) and then reads what the header's own
// length says, never a byte more.
#pragma once

#include <cstdint>

#include "conf/config.h"
#include "core/socket.h"
#include "proxy/proxy_protocol.h"

namespace greenlb::proxy {

enum class ProxyReadOutcome : uint8_t {
  ok,       // `header` is filled, the stream is positioned right after it
  silent,   // the client said nothing before closing or before the deadline (timed_out)
  invalid,  // bytes that are no header `accept` allows, or one cut short
  failed,   // the fiber was killed or the socket closed under it
};

struct ProxyRead {
  ProxyReadOutcome outcome;
  bool timed_out = false;  // the caller's Timeout fired
};

// Bounded by the caller's Timeout scope (client_header since accept).
ProxyRead readProxyHeader(core::Stream& s, conf::ProxyProtocol accept, ProxyHeader* header);

}  // namespace greenlb::proxy
