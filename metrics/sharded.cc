#include "metrics/sharded.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace greenlb::metrics {
namespace detail {

size_t checkedHubs(size_t hubs) {
  if (hubs == 0 || hubs > kMaxHubs) {
    throw std::invalid_argument("metrics: hub count must be 1.." + std::to_string(kMaxHubs));
  }
  return hubs;
}

CellBlocks::CellBlocks(size_t hubs, size_t words)
    : hubs_(checkedHubs(hubs)),
      words_(words),
      chunks_per_hub_((words + kWordsPerChunk - 1) / kWordsPerChunk),
      chunks_(new Chunk[hubs_ * chunks_per_hub_]) {}

uint64_t CellBlocks::sum(size_t word) const {
  uint64_t total = 0;
  for (size_t hub = 0; hub < hubs_; ++hub) total += at(hub, word).load(std::memory_order_relaxed);
  return total;
}

}  // namespace detail

Histogram::Histogram(size_t hubs, std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      cells_(hubs, kFirstBucketWord + upper_bounds.size() + 1) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("metrics: histogram bounds must be finite and ascending");
    }
  }
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t bucket = 0; bucket < s.cumulative.size(); ++bucket) {
    running += cells_.sum(kFirstBucketWord + bucket);
    s.cumulative[bucket] = running;
  }
  s.count = running;
  for (size_t hub = 0; hub < cells_.hubs(); ++hub) {
    s.sum += std::bit_cast<double>(cells_.at(hub, kSumWord).load(std::memory_order_relaxed));
  }
  return s;
}

uint64_t StatusCounters::sum(int first, int last) const {
  first = std::max(first, kFirstStatus);
  last = std::min(last, kLastStatus);
  uint64_t n = 0;
  for (size_t hub = 0; hub < cells_.hubs(); ++hub) {
    for (int code = first; code <= last; ++code) {
      n += cells_.at(hub, slotOf(code)).load(std::memory_order_relaxed);
    }
  }
  return n;
}

uint64_t StatusCounters::total() const {
  uint64_t n = 0;
  for (size_t hub = 0; hub < cells_.hubs(); ++hub) {
    for (size_t slot = 0; slot < kSlots; ++slot) {
      n += cells_.at(hub, slot).load(std::memory_order_relaxed);
    }
  }
  return n;
}

std::vector<uint64_t> StatusCounters::sums() const {
  std::vector<uint64_t> totals(kSlots);
  for (size_t hub = 0; hub < cells_.hubs(); ++hub) {
    for (size_t slot = 0; slot < kSlots; ++slot) {
      totals[slot] += cells_.at(hub, slot).load(std::memory_order_relaxed);
    }
  }
  return totals;
}

}  // namespace greenlb::metrics
