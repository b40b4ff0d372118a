#include "metrics/histogram_quantile.h"

#include <cassert>
#include <cmath>
#include <limits>

namespace greenlb::metrics {

double histogramQuantile(double q, std::span<const double> upper_bounds,
                         std::span<const uint64_t> cumulative) {
  assert(cumulative.size() == upper_bounds.size() + 1);
  if (cumulative.empty() || cumulative.back() == 0 || std::isnan(q)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  q = std::fmin(std::fmax(q, 0.0), 1.0);
  const double rank = q * static_cast<double>(cumulative.back());
  size_t bucket = 0;
  while (bucket < upper_bounds.size() && static_cast<double>(cumulative[bucket]) < rank) ++bucket;
  if (bucket == upper_bounds.size()) {
    return upper_bounds.empty() ? std::numeric_limits<double>::quiet_NaN() : upper_bounds.back();
  }
  const double lower = bucket == 0 ? 0.0 : upper_bounds[bucket - 1];
  const double below = bucket == 0 ? 0.0 : static_cast<double>(cumulative[bucket - 1]);
  const double in_bucket = static_cast<double>(cumulative[bucket]) - below;
  if (in_bucket <= 0) return upper_bounds[bucket];
  return lower + (upper_bounds[bucket] - lower) * (rank - below) / in_bucket;
}

}  // namespace greenlb::metrics
