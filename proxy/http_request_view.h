// The balancer's view of an HTTP request (balancer/request_view.h): the client's address,
// the target and a header lookup over the parsed head. Nothing is copied; the view lives
// for one pick, on the exchange's stack.
#pragma once

#include <string_view>

#include "balancer/request_view.h"
#include "core/socket.h"
#include "proxy/http/message.h"

namespace greenlb::proxy {

inline balancer::RequestView httpRequestView(const core::SocketAddress& peer,
                                             const http::RequestHead& head) {
  auto header = [](const void* request, std::string_view name) {
    const http::Header* h = static_cast<const http::RequestHead*>(request)->find(name);
    return h == nullptr ? std::string_view() : h->value;
  };
  return {&peer, head.target, header, &head};
}

}  // namespace greenlb::proxy
