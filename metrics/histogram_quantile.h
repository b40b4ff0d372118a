// A quantile estimated from cumulative histogram bucket counts, the way Prometheus's
// histogram_quantile() does it, so the status page's p50/p99 agree with a dashboard's
// (docs/observability.md, "History").
#pragma once

#include <cstdint>
#include <span>

namespace greenlb::metrics {

// `q` in [0, 1]; `upper_bounds` the finite bucket bounds, ascending; `cumulative` one count
// per finite bound then the +Inf count (upper_bounds.size() + 1 entries). The quantile is
// interpolated linearly inside the bucket it falls in (the first bucket starts at 0); one
// that falls in the +Inf bucket reads as the largest finite bound. NaN when nothing was
// counted.
double histogramQuantile(double q, std::span<const double> upper_bounds,
                         std::span<const uint64_t> cumulative);

}  // namespace greenlb::metrics
