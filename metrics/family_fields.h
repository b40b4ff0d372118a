// The types a metric family's field can have (metrics/family_list.h names one per family),
// each made from the hub count alone so that one declaration can make any field, and the
// Prometheus type each is exposed as.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "metrics/labels.h"
#include "metrics/sharded.h"
#include "prometheus/metric_type.h"

namespace greenlb::metrics {

// A latency histogram over kLatencyBuckets (request, connect, handshake durations).
class LatencyHistogram : public Histogram {
 public:
  explicit LatencyHistogram(size_t hubs) : Histogram(hubs, kLatencyBuckets) {}
};

// One counter per value of label enum E (labelsOf(E)), indexed by index(E::...).
template <class E>
class CountersBy {
 public:
  static constexpr size_t kSize = labelsOf(E{}).values.size();

  explicit CountersBy(size_t hubs) : counters_(make(hubs, std::make_index_sequence<kSize>{})) {}
  Counter& operator[](size_t i) { return counters_[i]; }
  const Counter& operator[](size_t i) const { return counters_[i]; }
  auto begin() const { return counters_.begin(); }
  auto end() const { return counters_.end(); }

 private:
  template <size_t... I>
  static std::array<Counter, kSize> make(size_t hubs, std::index_sequence<I...>) {
    return {((void)I, Counter(hubs))...};
  }
  std::array<Counter, kSize> counters_;
};

// A level held in one atomic shared by every hub rather than in per-hub cells: for the
// gauges the balancer reads back on the hot path (an endpoint's in-flight count, which
// least_conn compares; up; panic), where summing cells would be too slow. Starts at
// `Initial`.
template <int64_t Initial>
class SharedLevel : public std::atomic<int64_t> {
 public:
  explicit SharedLevel(size_t /*hubs*/) : std::atomic<int64_t>(Initial) {}
  using std::atomic<int64_t>::operator=;  // `level = 1` stores, as on the atomic
};

// Families the Registry collects itself (build info, hubs, reloads, certificates): no
// field, only their type.
struct RegistryCounter {};
struct RegistryGauge {};
struct RegistryHistogram {};

// The Prometheus type a field is exposed as (declared for each field type, so that a new
// one does not compile until it says).
template <class Field>
struct ExposedAs;

#define GREENLB_EXPOSED_AS(Field, Type)                                          \
  template <>                                                                    \
  struct ExposedAs<Field> {                                                      \
    static constexpr prometheus::MetricType type = prometheus::MetricType::Type; \
  }
GREENLB_EXPOSED_AS(Counter, Counter);
GREENLB_EXPOSED_AS(StatusCounters, Counter);
GREENLB_EXPOSED_AS(RegistryCounter, Counter);
GREENLB_EXPOSED_AS(Gauge, Gauge);
GREENLB_EXPOSED_AS(RegistryGauge, Gauge);
GREENLB_EXPOSED_AS(LatencyHistogram, Histogram);
GREENLB_EXPOSED_AS(RegistryHistogram, Histogram);
#undef GREENLB_EXPOSED_AS

template <class E>
struct ExposedAs<CountersBy<E>> {
  static constexpr prometheus::MetricType type = prometheus::MetricType::Counter;
};
template <int64_t Initial>
struct ExposedAs<SharedLevel<Initial>> {
  static constexpr prometheus::MetricType type = prometheus::MetricType::Gauge;
};

}  // namespace greenlb::metrics
