// A counting semaphore for fibers (eventlet.semaphore.Semaphore). Hub-local. Waiters are
// served in FIFO order: a released unit goes to the longest waiter, never to a newcomer.
#pragma once

#include <cstdint>

#include "core/result.h"
#include "core/wait_queue.h"

namespace greenlb::core {

class Semaphore {
 public:
  explicit Semaphore(int64_t count) : count_(count) {}

  // Takes one unit, waiting while none is free.
  Status acquire() {
    if (count_ > 0 && waiters_.empty()) {
      --count_;
      return {};
    }
    // release() hands the unit over directly (count_ untouched) when it wakes a waiter.
    if (int rc = waiters_.wait(); rc != 0) return Error{rc};
    return {};
  }
  bool tryAcquire() {
    if (count_ > 0 && waiters_.empty()) {
      --count_;
      return true;
    }
    return false;
  }
  void release() {
    if (!waiters_.notifyOne()) ++count_;
  }
  int64_t available() const { return count_; }
  bool hasWaiters() const { return !waiters_.empty(); }

 private:
  int64_t count_;
  WaitQueue waiters_;
};

// Holds one unit for a scope.
class SemaphoreGuard {
 public:
  explicit SemaphoreGuard(Semaphore& s) : s_(s), held_(s.acquire().ok()) {}
  ~SemaphoreGuard() {
    if (held_) s_.release();
  }
  bool held() const { return held_; }

 private:
  Semaphore& s_;
  bool held_;
};

}  // namespace greenlb::core
