// One active health check of one endpoint ([upstream.health]): an HTTP/1.1 GET of `path`
// whose status must be 2xx or 3xx, or, with no path, a TCP connect. The whole check is
// bounded by `timeout`. Runs on a fiber; parks, never blocks.
#pragma once

#include <string>

#include "balancer/endpoint.h"
#include "balancer/probe_channel.h"
#include "conf/config.h"

namespace greenlb::balancer {

struct ProbeResult {
  bool ok = false;
  bool cancelled = false;  // the checking fiber was killed: not a verdict on the endpoint
  std::string reason;      // why it failed, for the log: "connect refused", "status 503"...
};

// `hooks.secure` (may be empty) wraps the connected socket first, e.g. in TLS; then even a
// check without a path must complete the handshake. `hooks.conversation` (may be empty)
// replaces the HTTP/1.1 GET (a gRPC check).
ProbeResult probeEndpoint(const Endpoint& ep, const conf::HealthConfig& cfg,
                          const ProbeHooks& hooks = {});

// The status code of an HTTP/1.x status line at the start of `head` ("HTTP/1.1 200 OK"),
// 0 when it is not one (or is incomplete).
int parseStatusLine(std::string_view head);

}  // namespace greenlb::balancer
