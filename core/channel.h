// A bounded, closable FIFO between fibers of one hub (eventlet.queue.Queue with a maxsize,
// Go's buffered channel). send() waits while full, recv() while empty; close() wakes all:
// senders then fail with EPIPE, receivers drain what is left and then fail with EPIPE.
// The ring buffer is allocated once, so passing values allocates nothing.
#pragma once

#include <cassert>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/wait_queue.h"

namespace greenlb::core {

template <class T>
class Channel {
 public:
  // capacity >= 1.
  explicit Channel(size_t capacity) : slots_(capacity) { assert(capacity >= 1); }

  Status send(T value) {
    while (!closed_ && size_ == slots_.size()) {
      if (int rc = not_full_.wait(); rc != 0) return Error{rc};
    }
    if (closed_) return Error{EPIPE};
    push(std::move(value));
    return {};
  }
  bool trySend(T& value) {
    if (closed_ || size_ == slots_.size()) return false;
    push(std::move(value));
    return true;
  }

  Result<T> recv() {
    while (size_ == 0) {
      if (closed_) return Error{EPIPE};
      if (int rc = not_empty_.wait(); rc != 0) return Error{rc};
    }
    return pop();
  }
  std::optional<T> tryRecv() {
    if (size_ == 0) return std::nullopt;
    return pop();
  }

  void close() {
    closed_ = true;
    not_full_.notifyAll();
    not_empty_.notifyAll();
  }
  bool closed() const { return closed_; }
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

 private:
  void push(T&& value) {
    slots_[(head_ + size_) % slots_.size()].emplace(std::move(value));
    ++size_;
    not_empty_.notifyOne();
  }
  T pop() {
    T value = std::move(*slots_[head_]);
    slots_[head_].reset();
    head_ = (head_ + 1) % slots_.size();
    --size_;
    not_full_.notifyOne();
    return value;
  }

  std::vector<std::optional<T>> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
  bool closed_ = false;
  WaitQueue not_full_;
  WaitQueue not_empty_;
};

}  // namespace greenlb::core
