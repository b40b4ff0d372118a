#include "balancer/p2c.h"

namespace greenlb::balancer {
namespace {

constexpr int kDraws = 4;

}  // namespace

int P2cPicker::draw(const EndpointSet& set, const PickContext& ctx, const Filter& filter,
                    int exclude) {
  size_t n = set.size();
  for (int d = 0; d < kDraws; ++d) {
    auto i = static_cast<int>(rng_.below(n));
    if (i != exclude && filter.accepts(set[static_cast<size_t>(i)], ctx)) return i;
  }
  size_t from = rng_.below(n);
  for (size_t k = 0; k < n; ++k) {
    auto i = static_cast<int>((from + k) % n);
    if (i != exclude && filter.accepts(set[static_cast<size_t>(i)], ctx)) return i;
  }
  return -1;
}

int P2cPicker::pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) {
  if (set.empty()) return -1;
  int a = draw(set, ctx, filter, -1);
  if (a < 0) return -1;
  int b = draw(set, ctx, filter, a);
  if (b < 0) return a;
  const Endpoint& ea = set[static_cast<size_t>(a)];
  const Endpoint& eb = set[static_cast<size_t>(b)];
  auto load = [](const Endpoint& e) {
    int64_t f = e.inFlight();
    return static_cast<uint64_t>(f < 0 ? 0 : f) + 1;
  };
  // load(b) / w(b) < load(a) / w(a), without division.
  return load(eb) * filter.weight(ea, ctx) < load(ea) * filter.weight(eb, ctx) ? b : a;
}

}  // namespace greenlb::balancer
