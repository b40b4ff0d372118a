// What a balancing policy may read from a request: the client's address and, for HTTP,
// the target and the headers (the input of Envoy's LoadBalancerContext::computeHashKey).
//
// A view built on the caller's stack for one pick: it owns nothing and allocates nothing,
// and it names no proxy type (the balancer knows no proxy: docs/architecture.md, "Layers").
// A tcp listener's view has only the address; conf/policy_table.h makes sure no upstream
// behind one needs more.
#pragma once

#include <string_view>

#include "core/socket.h"

namespace greenlb::balancer {

struct RequestView {
  const core::SocketAddress* peer = nullptr;  // the client (the TCP peer); null: unknown
  std::string_view target;                    // the HTTP request target; empty for tcp
  // The value of the request's first header `name` (lower-case), empty when absent; called
  // with `request`. Null for tcp.
  std::string_view (*header)(const void* request, std::string_view name) = nullptr;
  const void* request = nullptr;
};

}  // namespace greenlb::balancer
