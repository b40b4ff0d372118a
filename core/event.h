// A one-shot flag fibers can wait for (eventlet.event.Event / threading.Event): set() wakes
// every waiter; waits after set() return at once until clear(). Hub-local.
#pragma once

#include "core/result.h"
#include "core/wait_queue.h"

namespace greenlb::core {

class Event {
 public:
  void set() {
    set_ = true;
    waiters_.notifyAll();
  }
  void clear() { set_ = false; }
  bool isSet() const { return set_; }
  // Waits until set; ETIMEDOUT / ECANCELED as every wait.
  Status wait() {
    while (!set_) {
      if (int rc = waiters_.wait(); rc != 0) return Error{rc};
    }
    return {};
  }

 private:
  bool set_ = false;
  WaitQueue waiters_;
};

}  // namespace greenlb::core
