#include "balancer/least_conn.h"

namespace greenlb::balancer {
namespace {

// a_load / a_weight < b_load / b_weight, without division. Loads are small and weights at
// most 1000 * kWeightScale, so the products cannot overflow.
bool lighter(uint64_t a_load, uint64_t a_weight, uint64_t b_load, uint64_t b_weight) {
  return a_load * b_weight < b_load * a_weight;
}

}  // namespace

void LeastConnPicker::reset(const EndpointSet& set) {
  load_.assign(set.size(), -1);
  weight_.assign(set.size(), 0);
  ties_.reset(set.size());
  if (set.empty()) return;
  for (size_t i = 0; i < start_ % set.size(); ++i) {
    (void)ties_.next([&](size_t j) { return uint64_t{set[j].weight()} * kWeightScale; });
  }
}

int LeastConnPicker::pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) {
  if (load_.size() != set.size()) reset(set);
  // Pass 1: each accepted endpoint's load, read once (other hubs move it meanwhile).
  int best = -1;
  for (size_t i = 0; i < set.size(); ++i) {
    const Endpoint& e = set[i];
    if (!filter.accepts(e, ctx)) {
      load_[i] = -1;
      continue;
    }
    int64_t in_flight = e.inFlight();
    load_[i] = in_flight < 0 ? 0 : in_flight;
    weight_[i] = filter.weight(e, ctx);
    auto b = static_cast<size_t>(best);
    if (best < 0 || lighter(static_cast<uint64_t>(load_[i]), weight_[i],
                            static_cast<uint64_t>(load_[b]), weight_[b])) {
      best = static_cast<int>(i);
    }
  }
  if (best < 0) return -1;
  // Pass 2: round robin among those as light as the best.
  auto b = static_cast<size_t>(best);
  auto best_load = static_cast<uint64_t>(load_[b]);
  uint64_t best_weight = weight_[b];
  return ties_.next([&](size_t i) -> uint64_t {
    if (load_[i] < 0) return 0;
    bool tied = !lighter(best_load, best_weight, static_cast<uint64_t>(load_[i]), weight_[i]);
    return tied ? weight_[i] : 0;
  });
}

}  // namespace greenlb::balancer
