// What an active HTTP health check speaks over once its TCP connect succeeded: the socket
// itself, or, for an upstream reached over TLS, a secure channel that the proxy layer sets
// up (the balancer knows nothing of TLS; proxy/tls_probe.h installs it). Both park the
// fiber, bounded by the check's Timeout.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "core/socket.h"

namespace greenlb::balancer {

class Endpoint;

class ProbeChannel {
 public:
  virtual ~ProbeChannel() = default;
  virtual core::Status writeAll(const void* buf, size_t len) = 0;
  // What is available, waiting for at least one byte; 0 = end of stream.
  virtual core::Result<size_t> readSome(void* buf, size_t len) = 0;
};

// Turns a connected socket into the channel a check of `endpoint` speaks over (for TLS:
// the handshake, so a failed handshake fails the check). Empty = the plain socket.
using ProbeChannelFactory = std::function<core::Result<std::unique_ptr<ProbeChannel>>(
    const Endpoint& endpoint, core::Stream& socket)>;

struct ProbeResult;
// What a check says over its channel when it is not the HTTP/1.1 GET of `path`: a gRPC
// health check, which the proxy layer speaks (proxy/grpc_health_check.h; the balancer
// knows no HTTP/2). Bounded by the check's Timeout.
using ProbeConversation =
    std::function<ProbeResult(ProbeChannel& channel, const Endpoint& endpoint)>;

// How an upstream's checks reach their endpoints beyond a plain TCP connect.
struct ProbeHooks {
  // Bytes written first on the connected socket, before TLS: the PROXY header an upstream
  // with send_proxy_protocol expects (LOCAL / UNKNOWN: a check speaks for no client), which
  // the proxy layer makes (docs/proxy-protocol.md). Empty: none.
  std::string preamble;
  ProbeChannelFactory secure;       // TLS upstreams
  ProbeConversation conversation;   // gRPC checks
};

}  // namespace greenlb::balancer
