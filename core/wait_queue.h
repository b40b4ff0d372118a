// An intrusive FIFO of parked fibers: the building block of Event, Semaphore, Channel and
// join. Nodes live on the waiting fibers' stacks, so waiting allocates nothing.
#pragma once

namespace greenlb::core {

class Fiber;

class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  ~WaitQueue();

  // Parks the current fiber until notified. Returns 0 when notified, ETIMEDOUT when a
  // Timeout around the wait fired, ECANCELED when the fiber was killed.
  int wait();
  // Wakes the longest waiter with `code`; false when nobody waits.
  bool notifyOne(int code = 0);
  void notifyAll(int code = 0);
  bool empty() const { return head_ == nullptr; }

 private:
  struct Node {
    Fiber* fiber;
    Node* prev;
    Node* next;
    bool linked;
  };
  void unlink(Node* n);
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
};

}  // namespace greenlb::core
