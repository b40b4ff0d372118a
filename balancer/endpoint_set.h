// An immutable membership snapshot of an upstream. Hubs hold their own shared_ptr to the
// current one, swapped on the hub's thread when membership changes, so picking never
// locks and an endpoint that leaves lives until the last request on it ends.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "balancer/endpoint.h"

namespace greenlb::balancer {

struct EndpointSet {
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  uint64_t version = 0;

  size_t size() const { return endpoints.size(); }
  bool empty() const { return endpoints.empty(); }
  Endpoint& operator[](size_t i) const { return *endpoints[i]; }
};

}  // namespace greenlb::balancer
