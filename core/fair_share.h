// Fairness for fibers that never have to wait. A body pump or tunnel whose peers keep it
// busy (a client that has filled its socket, an upstream streaming fast) would run without
// ever parking and hold its hub: every other connection on the hub would stall behind it.
// Such loops call spend() once per round; after a turn's share of rounds or bytes without
// the fiber having given way, it yields to the hub's run queue (as the accept loop does
// every 16 accepts). See docs/runtime.md, "Fairness".
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/hub.h"

namespace greenlb::core {

class FairShare {
 public:
  static constexpr uint32_t kRoundsPerTurn = 16;
  static constexpr size_t kBytesPerTurn = 256 * 1024;

  // One round of work that moved `bytes`. Yields when this turn's share is used up.
  void spend(size_t bytes) {
    Fiber* f = currentFiber();
    if (f->turns() != turn_) {  // parked or yielded since: a fresh turn
      turn_ = f->turns();
      rounds_ = 0;
      bytes_ = 0;
    }
    bytes_ += bytes;
    if (++rounds_ >= kRoundsPerTurn || bytes_ >= kBytesPerTurn) yield();
  }

 private:
  uint64_t turn_ = 0;
  uint32_t rounds_ = 0;
  size_t bytes_ = 0;
};

}  // namespace greenlb::core
