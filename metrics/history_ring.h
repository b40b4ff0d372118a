// A fixed-capacity ring of the newest values: the storage of the status page's history
// (docs/observability.md, "History"). Its memory is allocated once, at construction, so a
// history never grows however long the process runs; the oldest value is overwritten.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>

namespace greenlb::metrics {

template <class T>
class HistoryRing {
 public:
  explicit HistoryRing(size_t capacity) : capacity_(capacity), values_(new T[capacity]()) {
    assert(capacity > 0);
  }

  void push(const T& value) {
    values_[next_] = value;
    next_ = next_ + 1 == capacity_ ? 0 : next_ + 1;
    if (size_ < capacity_) ++size_;
  }

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  // The i-th oldest value kept: 0 is the oldest, size() - 1 the newest.
  const T& operator[](size_t i) const {
    assert(i < size_);
    size_t oldest = size_ < capacity_ ? 0 : next_;
    size_t at = oldest + i;
    return values_[at >= capacity_ ? at - capacity_ : at];
  }
  const T& newest() const { return (*this)[size_ - 1]; }

 private:
  size_t capacity_;
  std::unique_ptr<T[]> values_;
  size_t next_ = 0;  // where the next push writes
  size_t size_ = 0;
};

}  // namespace greenlb::metrics
