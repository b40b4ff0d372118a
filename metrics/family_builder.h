// Building prometheus-cpp's data model (MetricFamily / ClientMetric) from our values: the
// common ground of the Prometheus and OpenMetrics serializers.
#pragma once

#include <string>
#include <vector>

#include "metrics/sharded.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace greenlb::metrics {

using Labels = std::vector<prometheus::ClientMetric::Label>;

prometheus::MetricFamily family(std::string name, prometheus::MetricType type, std::string help);
prometheus::ClientMetric counterSample(Labels labels, double value);
prometheus::ClientMetric gaugeSample(Labels labels, double value);
// Buckets include the final +Inf bucket explicitly.
prometheus::ClientMetric histogramSample(Labels labels, const HistogramSnapshot& snapshot);

}  // namespace greenlb::metrics
