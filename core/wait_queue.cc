#include "core/wait_queue.h"

#include <cassert>

#include "core/hub.h"

namespace greenlb::core {

WaitQueue::~WaitQueue() {
  // Waiters hold nodes on their own stacks; a queue that dies under them would leave them
  // parked forever, so wake them as if the primitive had been closed.
  notifyAll(EBADF);
}

int WaitQueue::wait() {
  Hub* hub = Hub::current();
  Node node{hub->currentFiber(), tail_, nullptr, true};
  if (tail_ != nullptr) {
    tail_->next = &node;
  } else {
    head_ = &node;
  }
  tail_ = &node;
  int rc = hub->park();
  if (node.linked) unlink(&node);
  return rc;
}

void WaitQueue::unlink(Node* n) {
  if (n->prev != nullptr) {
    n->prev->next = n->next;
  } else {
    head_ = n->next;
  }
  if (n->next != nullptr) {
    n->next->prev = n->prev;
  } else {
    tail_ = n->prev;
  }
  n->linked = false;
}

bool WaitQueue::notifyOne(int code) {
  Node* n = head_;
  if (n == nullptr) return false;
  unlink(n);
  n->fiber->hub().wake(n->fiber, code);
  return true;
}

void WaitQueue::notifyAll(int code) {
  while (notifyOne(code)) {
  }
}

}  // namespace greenlb::core
