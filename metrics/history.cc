#include "metrics/history.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <span>

#include "metrics/histogram_quantile.h"

namespace greenlb::metrics {
namespace {

constexpr uint32_t bit(HistoryField f) {
  return 1u << static_cast<unsigned>(f);
}

// The growth of a total since the last reading. A total below the last one started again
// from zero (an endpoint that left and came back gets fresh counters): all of it is new,
// as Prometheus's rate() treats a counter reset.
uint64_t growth(uint64_t now, uint64_t before) {
  return now >= before ? now - before : now;
}

}  // namespace

void HistoryReading::addResponses(const StatusCounters& codes) {
  requests += codes.total();
  errors += codes.sum(500, 599);
}

void HistoryReading::addLatency(const Histogram& h) {
  std::span<const double> bounds = h.upperBounds();
  if (!std::equal(bounds.begin(), bounds.end(), std::begin(kLatencyBuckets),
                  std::end(kLatencyBuckets))) {
    return;
  }
  has_latency = true;
  uint64_t running = 0;
  for (size_t i = 0; i < kLatencySlots; ++i) {
    running += h.bucketCount(i);
    latency[i] += running;
  }
}

uint32_t historyFields(HistoryKind kind) {
  using enum HistoryField;
  switch (kind) {
    case HistoryKind::listener:
      return bit(requests) | bit(errors) | bit(p50) | bit(p99) | bit(level);
    case HistoryKind::upstream:
      return bit(requests) | bit(errors) | bit(retries) | bit(p50) | bit(p99) | bit(level);
    case HistoryKind::endpoint:
      return bit(requests) | bit(errors) | bit(level);
  }
  return 0;
}

std::string_view historyFieldName(HistoryKind kind, HistoryField field) {
  switch (field) {
    case HistoryField::requests:
      return "requests_per_second";
    case HistoryField::errors:
      return "errors_per_second";
    case HistoryField::retries:
      return "retries_per_second";
    case HistoryField::p50:
      return "p50_seconds";
    case HistoryField::p99:
      return "p99_seconds";
    case HistoryField::level:
      return kind == HistoryKind::listener ? "connections" : "in_flight";
  }
  return "";
}

HistorySeries::HistorySeries(HistoryKind kind, std::string scope, std::string name, size_t samples)
    : kind_(kind), scope_(std::move(scope)), name_(std::move(name)) {
  const uint32_t fields = historyFields(kind);
  for (size_t f = 0; f < kHistoryFields; ++f) {
    if (fields & (1u << f)) rings_[f] = std::make_unique<HistoryRing<float>>(samples);
  }
}

void HistorySeries::observe(const HistoryReading& r, double now) {
  const double dt = now - last_time_;
  if (has_last_ && dt > 0) {
    auto put = [this](HistoryField f, double v) {
      if (auto& ring = rings_[static_cast<size_t>(f)]) ring->push(static_cast<float>(v));
    };
    put(HistoryField::requests, static_cast<double>(growth(r.requests, last_.requests)) / dt);
    put(HistoryField::errors, static_cast<double>(growth(r.errors, last_.errors)) / dt);
    put(HistoryField::retries, static_cast<double>(growth(r.retries, last_.retries)) / dt);
    // Latency of the requests that ended during this round only: the buckets' growth.
    double p50 = std::numeric_limits<double>::quiet_NaN(), p99 = p50;
    if (r.has_latency && last_.has_latency) {
      std::array<uint64_t, kLatencySlots> window;
      for (size_t i = 0; i < kLatencySlots; ++i) window[i] = growth(r.latency[i], last_.latency[i]);
      p50 = histogramQuantile(0.5, kLatencyBuckets, window);
      p99 = histogramQuantile(0.99, kLatencyBuckets, window);
    }
    put(HistoryField::p50, p50);
    put(HistoryField::p99, p99);
    put(HistoryField::level, r.level);
  }
  if (!has_last_ || dt > 0) {
    last_ = r;
    last_time_ = now;
    has_last_ = true;
  }
}

History::History(size_t samples, size_t max_series)
    : samples_(samples == 0 ? 1 : samples), max_series_(max_series) {}

void History::beginRound(double monotonic, double unix) {
  ++round_;
  now_ = monotonic;
  last_unix_ = unix;
  left_out_ = 0;
  order_.clear();
}

bool History::record(HistoryKind kind, std::string_view scope, std::string_view name,
                     const HistoryReading& reading) {
  auto it = series_.find(KeyView(kind, scope, name));
  if (it == series_.end()) {
    if (series_.size() >= max_series_) {
      ++left_out_;
      return false;
    }
    auto fresh =
        std::make_unique<HistorySeries>(kind, std::string(scope), std::string(name), samples_);
    it = series_.emplace(Key(kind, std::string(scope), std::string(name)), std::move(fresh)).first;
  }
  HistorySeries& s = *it->second;
  if (s.round_ == round_) return true;  // recorded twice in one round: the first counts
  s.round_ = round_;
  s.observe(reading, now_);
  order_.push_back(&s);
  return true;
}

void History::endRound() {
  std::erase_if(series_, [this](const auto& entry) { return entry.second->round_ != round_; });
}

size_t History::bytesPerSeries(HistoryKind kind, size_t samples) {
  size_t rings = 0;
  for (uint32_t fields = historyFields(kind); fields != 0; fields &= fields - 1) ++rings;
  return rings * samples * sizeof(float);
}

}  // namespace greenlb::metrics
