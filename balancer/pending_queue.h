// Requests waiting for an endpoint slot ([upstream.limits] max_pending): when every
// available endpoint is at max_connections, a request waits (HAProxy's server queue)
// instead of failing, as one of at most max_pending waiters of the upstream (0 = no
// limit); over it, it fails at once (503, unavailable{reason="limits"}).
//
// Waiters park on their hub's FIFO wait queue. A slot freed on the same hub
// (Upstream::endRequest) wakes the longest waiter at once; slots freed on other hubs are
// seen by polling, by one waiter per hub (the "poller", every kPollInterval), so a long
// queue costs one timer per hub rather than one per request. The waiting count is one
// per-upstream atomic, touched only by requests that have to wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/time.h"
#include "core/wait_queue.h"

namespace greenlb::balancer {

class PendingQueue {
 public:
  static constexpr core::Duration kPollInterval = std::chrono::milliseconds(5);

  // `max_pending` 0 = unlimited waiters.
  PendingQueue(uint64_t max_pending, size_t hubs);
  PendingQueue(const PendingQueue&) = delete;
  PendingQueue& operator=(const PendingQueue&) = delete;

  // Requests waiting right now, all hubs.
  int64_t waiting() const { return waiting_.load(std::memory_order_relaxed); }

  // A slot freed on hub `hub` (that hub's thread): wakes its longest waiter.
  void released(size_t hub);

  // One request's wait, on a fiber of hub `hub` (RAII: leaving hands over the polling).
  class Waiter {
   public:
    Waiter(PendingQueue& queue, size_t hub);
    ~Waiter();
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    // False when max_pending requests were waiting already: fail at once.
    bool admitted() const { return admitted_; }
    // Parks until a slot may be free (a release on this hub, or a poll); false when the
    // wait itself failed (an enclosing Timeout fired, the fiber was killed).
    bool wait();

   private:
    PendingQueue& queue_;
    size_t hub_;
    bool admitted_;
  };

 private:
  struct alignas(64) PerHub {
    core::WaitQueue waiters;
    bool polling = false;  // one waiter of this hub polls for other hubs' releases
  };
  const uint64_t max_pending_;
  std::atomic<int64_t> waiting_{0};
  std::unique_ptr<PerHub[]> hubs_;
};

}  // namespace greenlb::balancer
