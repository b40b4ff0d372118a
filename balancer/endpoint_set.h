// An immutable membership snapshot of an upstream. Hubs hold their own shared_ptr to the
// current one, swapped on the hub's thread when membership changes, so picking never
// locks and an endpoint that leaves lives until the last request on it ends.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "balancer/endpoint.h"
#include "balancer/sticky.h"

namespace greenlb::balancer {

class MaglevTable;

struct EndpointSet {
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  uint64_t version = 0;
  // balance = "maglev": the lookup table of exactly these endpoints, built with the set
  // (off the hot path) and shared by every hub.
  std::shared_ptr<const MaglevTable> maglev;
  // [upstream.sticky]: the endpoints by the id their cookie carries (empty without it).
  StickyIndex sticky;

  size_t size() const { return endpoints.size(); }
  bool empty() const { return endpoints.empty(); }
  Endpoint& operator[](size_t i) const { return *endpoints[i]; }
};

}  // namespace greenlb::balancer
