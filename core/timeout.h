// A scoped deadline on the current fiber, like eventlet.Timeout: once `d` has passed, every
// wait inside the scope fails with ETIMEDOUT (the wait in progress is woken). Nested
// Timeouts each keep their own timer, so the earliest one wins and expired() tells a scope
// whether it was its own deadline that fired. Leaving the scope disarms the timer.
//
// The timer uses libevent's common-timeout queues: arming and disarming are O(1) and make
// no system call, which is what lets a proxy put a Timeout around every read.
#pragma once

#include "core/event_storage.h"
#include "core/time.h"

namespace greenlb::core {

class Fiber;

class Timeout {
 public:
  // A duration <= 0 expires at once.
  explicit Timeout(Duration d);
  ~Timeout();
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;

  // True when this Timeout's own deadline has passed.
  bool expired() const { return fired_; }
  // Disarms without expiring (a no-op once expired).
  void cancel();

 private:
  static void onTimer(int fd, short what, void* arg);
  void fire();

  Fiber* fiber_;
  bool armed_ = false;
  bool fired_ = false;
  detail::EventStorage ev_;
};

}  // namespace greenlb::core
