// Per-hub metric cells, summed when scraped.
//
// The proxy counts on every request of every hub, so counting must cost what a local
// variable costs: each metric keeps one cell per hub on its own cache line, only the
// owning hub writes it (a relaxed load and a relaxed store, no locked instruction and no
// line bouncing between cores), and readers sum the cells at scrape time. Relaxed atomics
// make those concurrent reads well defined; every cell only grows (or, for gauges, moves
// by the owner's deltas), so a scrape sees each hub's count at some recent moment.
//
// Contract for writers: `hub` is the index of the calling hub (core::Hub::id()), below the
// `hubs` given at construction, and no other thread writes with that index.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace greenlb::metrics {

inline constexpr size_t kMaxHubs = 256;

// Upper bounds (seconds) of request, connect and handshake latency histograms.
inline constexpr double kLatencyBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30};

namespace detail {

// Hubs' cells are this far apart: two cache lines, because x86's adjacent-line prefetcher
// fetches lines in pairs, so neighbours one line apart still bounce (folly and abseil use
// 128 on x86-64 for the same reason).
inline constexpr size_t kShardAlign = 128;
inline constexpr size_t kWordsPerChunk = kShardAlign / sizeof(uint64_t);

// `hubs` when it is 1..kMaxHubs; throws std::invalid_argument otherwise.
size_t checkedHubs(size_t hubs);

// Adds to a cell that only the calling thread writes: no read-modify-write instruction.
inline void bump(std::atomic<uint64_t>& cell, uint64_t n) {
  cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// `hubs` blocks of `words` 64-bit cells, each block starting on its own kShardAlign
// boundary, so two hubs never write the same (or an adjacent) cache line.
class CellBlocks {
 public:
  CellBlocks(size_t hubs, size_t words);

  size_t hubs() const { return hubs_; }
  size_t words() const { return words_; }
  std::atomic<uint64_t>& at(size_t hub, size_t word) {
    assert(hub < hubs_ && word < words_);
    return chunks_[hub * chunks_per_hub_ + word / kWordsPerChunk].word[word % kWordsPerChunk];
  }
  const std::atomic<uint64_t>& at(size_t hub, size_t word) const {
    return const_cast<CellBlocks*>(this)->at(hub, word);
  }
  // The sum over hubs of one word (modulo 2^64).
  uint64_t sum(size_t word) const;

 private:
  struct alignas(kShardAlign) Chunk {
    std::atomic<uint64_t> word[kWordsPerChunk];  // zero: atomics value-initialize (C++20)
  };
  size_t hubs_;
  size_t words_;
  size_t chunks_per_hub_;
  std::unique_ptr<Chunk[]> chunks_;
};

}  // namespace detail

// A monotonic count.
class Counter {
 public:
  explicit Counter(size_t hubs) : cells_(hubs, 1) {}
  void add(size_t hub, uint64_t n = 1) { detail::bump(cells_.at(hub, 0), n); }
  uint64_t value() const { return cells_.sum(0); }

 private:
  detail::CellBlocks cells_;
};

// A level that goes up and down (open connections, idle pooled connections): each hub
// keeps the sum of its own deltas, the value is the sum over hubs. A hub's own cell may be
// negative when something counted up on one hub is counted down on another.
class Gauge {
 public:
  explicit Gauge(size_t hubs) : cells_(hubs, 1) {}
  // Two's-complement wrap-around makes the unsigned cells sum to the signed total.
  void add(size_t hub, int64_t n) { detail::bump(cells_.at(hub, 0), static_cast<uint64_t>(n)); }
  int64_t value() const { return static_cast<int64_t>(cells_.sum(0)); }

 private:
  detail::CellBlocks cells_;
};

// What a histogram exposes: cumulative bucket counts (one per finite upper bound, then
// +Inf, whose count equals `count`), the sum of the observed values and their number.
struct HistogramSnapshot {
  std::span<const double> upper_bounds;  // finite bounds, ascending; +Inf is implied
  std::vector<uint64_t> cumulative;      // upper_bounds.size() + 1 entries
  double sum = 0;
  uint64_t count = 0;
};

// Fixed-bucket histogram (Prometheus semantics: a value lands in the first bucket whose
// upper bound is >= the value). Per hub: the sum, then one non-cumulative count per bucket.
// The count is derived from the buckets when scraped, so +Inf always equals _count.
class Histogram {
 public:
  // `upper_bounds`: finite, strictly ascending; copied. Throws std::invalid_argument.
  Histogram(size_t hubs, std::span<const double> upper_bounds);

  // NaN is ignored: it would poison the sum forever.
  void observe(size_t hub, double value) {
    if (std::isnan(value)) return;
    size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    detail::bump(cells_.at(hub, kFirstBucketWord + bucket), 1);
    std::atomic<uint64_t>& sum = cells_.at(hub, kSumWord);
    double total = std::bit_cast<double>(sum.load(std::memory_order_relaxed)) + value;
    sum.store(std::bit_cast<uint64_t>(total), std::memory_order_relaxed);
  }
  HistogramSnapshot snapshot() const;
  std::span<const double> upperBounds() const { return bounds_; }
  // One bucket's count over every hub, not cumulative (bucket upperBounds().size() is
  // +Inf). Allocates nothing: the status page's history reads it every second.
  uint64_t bucketCount(size_t bucket) const { return cells_.sum(kFirstBucketWord + bucket); }

 private:
  static constexpr size_t kSumWord = 0;
  static constexpr size_t kFirstBucketWord = 1;

  std::vector<double> bounds_;
  detail::CellBlocks cells_;
};

// Responses by exact HTTP status code. A fixed table per hub indexed by code - 100, so
// counting is one indexed add; codes outside 100..599 (which a lenient parser might let
// through) share one slot, reported as code kOtherStatus. Costs 4 KiB per hub.
class StatusCounters {
 public:
  static constexpr int kFirstStatus = 100;
  static constexpr int kLastStatus = 599;
  static constexpr int kOtherStatus = 0;

  explicit StatusCounters(size_t hubs) : cells_(hubs, kSlots) {}

  void add(size_t hub, int status) { detail::bump(cells_.at(hub, slotOf(status)), 1); }
  // Total for one code (kOtherStatus for the out-of-range slot).
  uint64_t value(int status) const { return cells_.sum(slotOf(status)); }
  // Totals over every hub of the codes first..last (within 100..599), and of every slot,
  // the out-of-range one included. They allocate nothing, unlike forEach: the status
  // page's history reads them every second.
  uint64_t sum(int first, int last) const;
  uint64_t total() const;
  // Calls visit(int code, uint64_t total) for each code with a non-zero total, ascending,
  // the out-of-range slot (code kOtherStatus) last.
  template <class F>
  void forEach(F&& visit) const {
    const std::vector<uint64_t> totals = sums();
    for (size_t slot = 0; slot < kSlots; ++slot) {
      if (totals[slot] != 0) visit(codeOf(slot), totals[slot]);
    }
  }

 private:
  static constexpr size_t kCodes = kLastStatus - kFirstStatus + 1;
  static constexpr size_t kSlots = kCodes + 1;  // + the out-of-range slot

  static size_t slotOf(int status) {
    auto i = static_cast<size_t>(static_cast<unsigned>(status - kFirstStatus));
    return i < kCodes ? i : kCodes;
  }
  static int codeOf(size_t slot) {
    return slot < kCodes ? kFirstStatus + static_cast<int>(slot) : kOtherStatus;
  }
  // Every slot's total, read hub by hub: each hub's table is contiguous, so a scrape
  // streams through memory instead of striding across hubs once per code.
  std::vector<uint64_t> sums() const;

  detail::CellBlocks cells_;
};

}  // namespace greenlb::metrics
