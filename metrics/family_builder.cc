#include "metrics/family_builder.h"

#include <limits>
#include <utility>

namespace greenlb::metrics {

prometheus::MetricFamily family(std::string name, prometheus::MetricType type, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.type = type;
  f.help = std::move(help);
  return f;
}

prometheus::ClientMetric counterSample(Labels labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  return m;
}

prometheus::ClientMetric gaugeSample(Labels labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

prometheus::ClientMetric histogramSample(Labels labels, const HistogramSnapshot& snapshot) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = snapshot.count;
  m.histogram.sample_sum = snapshot.sum;
  m.histogram.bucket.reserve(snapshot.cumulative.size());
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    prometheus::ClientMetric::Bucket b;
    b.cumulative_count = snapshot.cumulative[i];
    b.upper_bound = i < snapshot.upper_bounds.size() ? snapshot.upper_bounds[i]
                                                     : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  return m;
}

}  // namespace greenlb::metrics
