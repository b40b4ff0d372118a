// A balancing policy's per-hub state, behind one interface (docs/balancing.md, "Policies").
//
// Pickers are owned by one hub and never lock or allocate while picking. They choose an
// index into the hub's current EndpointSet among the endpoints a Filter accepts; the
// Upstream decides what the filter is (health, ejection, limits, endpoints a retry already
// tried) and what happens when nothing passes (panic mode).
#pragma once

#include <cstdint>
#include <memory>

#include "balancer/endpoint_set.h"
#include "balancer/slow_start.h"
#include "conf/config.h"
#include "core/time.h"

namespace greenlb::balancer {

// Per-request input to a pick.
struct PickContext {
  core::TimePoint now;
  uint64_t hash = 0;      // the maglev key's hash (see hash_key.h)
  bool has_hash = false;  // false: the request has no key; maglev spreads it at random
  uint64_t sticky = 0;    // [upstream.sticky]: the endpoint id the cookie names; 0 = none
  // Endpoints this request already tried: a retry avoids them when another exists.
  static constexpr size_t kMaxTried = 8;
  const Endpoint* tried[kMaxTried] = {};
  size_t tried_count = 0;

  bool wasTried(const Endpoint* e) const {
    for (size_t i = 0; i < tried_count; ++i) {
      if (tried[i] == e) return true;
    }
    return false;
  }
  void addTried(const Endpoint* e) {
    if (tried_count < kMaxTried) tried[tried_count++] = e;
  }
};

// Which endpoints a pick may return, and with what weight.
struct Filter {
  enum Mode : uint8_t {
    kAvailable,       // healthy, not ejected, under max_connections, not tried
    kAvailableAgain,  // the same, tried or not: a retry when every such one was tried
    kAnyUntried,      // panic: health and ejection ignored
    kAny,             // panic, last resort: a tried endpoint again
  };
  Mode mode = kAvailable;
  uint64_t max_connections = 0;       // 0 = unlimited
  core::Duration slow_start{0};       // [upstream.outlier] slow_start; 0 = none

  bool accepts(const Endpoint& e, const PickContext& ctx) const {
    if (mode == kAny) return true;
    if (mode != kAvailableAgain && ctx.wasTried(&e)) return false;
    if (mode == kAnyUntried) return true;
    if (!e.available(ctx.now)) return false;
    return max_connections == 0 || e.inFlight() < static_cast<int64_t>(max_connections);
  }
  // The endpoint's weight for this pick (times kWeightScale), lowered during slow start.
  uint64_t weight(const Endpoint& e, const PickContext& ctx) const {
    return effectiveWeight(e, ctx.now, slow_start);
  }
};

class Picker {
 public:
  virtual ~Picker() = default;
  // The hub's endpoint set changed (also called once before the first pick). May allocate.
  virtual void reset(const EndpointSet& set) = 0;
  // An index into `set` that `filter` accepts, or -1 when there is none.
  virtual int pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) = 0;
};

}  // namespace greenlb::balancer
