// Slow start ([upstream.outlier] slow_start): an endpoint that re-enters rotation (back from
// unhealthy, back from an ejection, or discovered while the upstream runs) gets a share of
// traffic that grows linearly with the time since, from kSlowStartFloor of its weight to all
// of it, so a cold backend (empty caches, JIT warming up) is not flooded at once. Envoy's
// slow start does the same with a floor ("min_weight_percent", default 10%).
#pragma once

#include <algorithm>
#include <cstdint>

#include "balancer/endpoint.h"
#include "core/time.h"

namespace greenlb::balancer {

// Weights are scaled by this so that a ramp has 1/1000 steps; configured weights are at
// most 1000 (conf), so a scaled weight fits easily in the pickers' 64-bit sums.
inline constexpr uint64_t kWeightScale = 1000;
// The share of its weight an endpoint has the moment its ramp starts (per mille).
inline constexpr uint64_t kSlowStartFloor = 100;

// `e`'s weight at `now`, times kWeightScale. Outside a ramp (slow_start 0, never came
// back, ramp over, or still out of rotation) the full weight.
inline uint64_t effectiveWeight(const Endpoint& e, core::TimePoint now, core::Duration slow_start) {
  uint64_t full = uint64_t{e.weight()} * kWeightScale;
  if (slow_start <= core::Duration::zero()) return full;
  core::TimePoint from = e.rampStart();
  if (from.time_since_epoch().count() == 0 || now < from || now - from >= slow_start) return full;
  uint64_t permille = static_cast<uint64_t>((now - from).count()) * kWeightScale /
                      static_cast<uint64_t>(slow_start.count());
  return std::max<uint64_t>(full * std::max(permille, kSlowStartFloor) / kWeightScale, 1);
}

}  // namespace greenlb::balancer
