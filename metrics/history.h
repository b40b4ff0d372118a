// The last minutes of every listener, upstream and endpoint, one sample a round (a second),
// for the status page and /status/history (docs/observability.md, "History").
//
// Nothing here runs per request: a sampler reads the same per-hub cells a scrape reads
// (HistoryReading sums them), once a round, and History turns the change since the
// previous round into rates and latency quantiles kept in fixed-size rings. Memory is
// bounded: at most `max_series` series, each a few rings of `samples` floats allocated when
// the series first appears (History::bytesPerSeries), freed when it is no longer recorded.
//
// Not thread-safe: one thread (greenlb's hub 0) records and reads it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "metrics/history_ring.h"
#include "metrics/sharded.h"

namespace greenlb::metrics {

// Latency buckets a reading keeps: kLatencyBuckets, then +Inf.
inline constexpr size_t kLatencySlots = std::size(kLatencyBuckets) + 1;

// What one series had counted at one moment: totals only grow, `level` is a gauge. Plain
// values: a round allocates nothing (greenlb's hubs allocate nothing in steady state).
struct HistoryReading {
  uint64_t requests = 0;
  uint64_t errors = 0;  // responses with a 5xx status
  uint64_t retries = 0;
  bool has_latency = false;
  std::array<uint64_t, kLatencySlots> latency{};  // cumulative bucket counts
  double level = 0;  // requests in flight; a listener's open connections

  // Adds every response and the 5xx ones of `codes` (summed over its hubs).
  void addResponses(const StatusCounters& codes);
  // Adds a kLatencyBuckets histogram's buckets (summed over its hubs); another histogram
  // is ignored (its buckets would not add up).
  void addLatency(const Histogram& h);
};

enum class HistoryKind : uint8_t { listener, upstream, endpoint };

// One value a sample holds. A kind keeps only the fields it has (historyFields).
enum class HistoryField : uint8_t { requests, errors, retries, p50, p99, level };
inline constexpr size_t kHistoryFields = 6;

// Bit (1 << field) for each field `kind` keeps: listeners have no retries (they are
// counted per upstream), endpoints no latency (histograms are per listener and upstream).
uint32_t historyFields(HistoryKind kind);
// The field's name in /status/history: "requests_per_second", "p99_seconds", and for
// `level` "connections" (listeners) or "in_flight".
std::string_view historyFieldName(HistoryKind kind, HistoryField field);

class HistorySeries {
 public:
  HistorySeries(HistoryKind kind, std::string scope, std::string name, size_t samples);

  HistoryKind kind() const { return kind_; }
  // The upstream an endpoint belongs to; "" for listeners and upstreams.
  const std::string& scope() const { return scope_; }
  const std::string& name() const { return name_; }
  bool has(HistoryField f) const { return rings_[static_cast<size_t>(f)] != nullptr; }
  // Requires has(f). Every ring of a series holds the same number of samples.
  const HistoryRing<float>& ring(HistoryField f) const { return *rings_[static_cast<size_t>(f)]; }
  size_t size() const { return rings_[0]->size(); }  // every kind keeps `requests`

 private:
  friend class History;
  // Pushes one sample for the time from the previous reading to this one; the first
  // reading only sets the baseline.
  void observe(const HistoryReading& r, double now);

  HistoryKind kind_;
  std::string scope_;
  std::string name_;
  std::array<std::unique_ptr<HistoryRing<float>>, kHistoryFields> rings_;
  HistoryReading last_;
  double last_time_ = 0;
  bool has_last_ = false;
  uint64_t round_ = 0;  // the last round that recorded it
};

class History {
 public:
  static constexpr size_t kDefaultSamples = 900;  // 15 minutes, one a second
  static constexpr size_t kDefaultMaxSeries = 1024;

  explicit History(size_t samples = kDefaultSamples, size_t max_series = kDefaultMaxSeries);

  // One round: begin it at `monotonic` seconds (rates are per second of this clock) and
  // `unix` seconds (the time shown for the newest sample), record() each series, end it.
  // Series not recorded in a round are dropped at its end (the object left the config).
  void beginRound(double monotonic, double unix);
  // Records a series' reading; false when it is new and max_series are already kept (it
  // is then left out: record listeners and upstreams first, they matter more).
  bool record(HistoryKind kind, std::string_view scope, std::string_view name,
              const HistoryReading& reading);
  void endRound();

  // Rounds so far: the sequence number of the newest sample (0 before the first round).
  // A series' newest sample, when it has one, belongs to the newest round.
  uint64_t round() const { return round_; }
  double lastUnixTime() const { return last_unix_; }
  size_t samples() const { return samples_; }
  size_t maxSeries() const { return max_series_; }
  // The series kept, in the order of the latest round.
  const std::vector<const HistorySeries*>& series() const { return order_; }
  // New series the latest round could not keep (max_series reached).
  size_t leftOut() const { return left_out_; }
  // Ring storage of one series of `kind` with `samples` per ring, in bytes.
  static size_t bytesPerSeries(HistoryKind kind, size_t samples);

 private:
  using Key = std::tuple<HistoryKind, std::string, std::string>;  // kind, scope, name
  using KeyView = std::tuple<HistoryKind, std::string_view, std::string_view>;
  // Finds a series by views of its key: no strings are built to look one up.
  struct KeyLess {
    using is_transparent = void;
    static KeyView view(const Key& k) { return {std::get<0>(k), std::get<1>(k), std::get<2>(k)}; }
    static KeyView view(const KeyView& k) { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return view(a) < view(b);
    }
  };

  size_t samples_;
  size_t max_series_;
  uint64_t round_ = 0;
  double now_ = 0;
  double last_unix_ = 0;
  size_t left_out_ = 0;
  std::map<Key, std::unique_ptr<HistorySeries>, KeyLess> series_;
  std::vector<const HistorySeries*> order_;
};

}  // namespace greenlb::metrics
