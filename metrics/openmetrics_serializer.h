// OpenMetrics 1.0 text exposition (application/openmetrics-text; version=1.0.0), which
// prometheus-cpp 1.0 lacks, over the same MetricFamily vector its TextSerializer takes.
//
// Differences from the Prometheus 0.0.4 text that the serializer takes care of:
// - counters: the family (HELP/TYPE/UNIT lines) is named without `_total`, samples with it;
// - gauges stay gauges, `*_info` ones too (the contract types greenlb_build_info a gauge:
//   docs/observability.md, "Metric families");
// - `# UNIT` for families whose name ends in `_seconds` or `_bytes`;
// - HELP text and label values escape backslash, double quote and newline;
// - `le` values are canonical floats ("1.0", "+Inf"); NaN is spelled "NaN";
// - histograms list buckets, then _sum, then _count;
// - the exposition ends with "# EOF".
#pragma once

#include <iosfwd>
#include <vector>

#include "prometheus/metric_family.h"
#include "prometheus/serializer.h"

namespace greenlb::metrics {

class OpenMetricsSerializer : public prometheus::Serializer {
 public:
  using prometheus::Serializer::Serialize;
  void Serialize(std::ostream& out,
                 const std::vector<prometheus::MetricFamily>& families) const override;
};

}  // namespace greenlb::metrics
