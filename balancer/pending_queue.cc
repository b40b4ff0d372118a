#include "balancer/pending_queue.h"

#include "core/timeout.h"

namespace greenlb::balancer {

PendingQueue::PendingQueue(uint64_t max_pending, size_t hubs)
    : max_pending_(max_pending), hubs_(new PerHub[hubs]) {}

void PendingQueue::released(size_t hub) {
  PerHub& h = hubs_[hub];
  if (!h.waiters.empty()) h.waiters.notifyOne();
}

PendingQueue::Waiter::Waiter(PendingQueue& queue, size_t hub) : queue_(queue), hub_(hub) {
  int64_t before = queue_.waiting_.fetch_add(1, std::memory_order_relaxed);
  admitted_ = queue_.max_pending_ == 0 || before < static_cast<int64_t>(queue_.max_pending_);
}

PendingQueue::Waiter::~Waiter() {
  queue_.waiting_.fetch_sub(1, std::memory_order_relaxed);
  // Nobody polls for this hub's waiters any more: wake one, it takes over.
  PerHub& h = queue_.hubs_[hub_];
  if (admitted_ && !h.polling && !h.waiters.empty()) h.waiters.notifyOne();
}

bool PendingQueue::Waiter::wait() {
  PerHub& h = queue_.hubs_[hub_];
  if (h.polling) return h.waiters.wait() == 0;
  h.polling = true;
  int rc;
  bool polled;
  {
    core::Timeout poll_timer(kPollInterval);
    rc = h.waiters.wait();
    polled = poll_timer.expired();
  }
  h.polling = false;
  return rc == 0 || polled;
}

}  // namespace greenlb::balancer
