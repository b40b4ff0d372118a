// At most N fibers at once (eventlet.greenpool.GreenPool): spawn() waits for a free slot,
// waitAll() for every spawned fiber to finish. Hub-local. Destroying a pool kills the
// fibers still running in it and waits for them to unwind.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "core/hub.h"
#include "core/semaphore.h"

namespace greenlb::core {

class GreenPool {
 public:
  explicit GreenPool(size_t size) : slots_(static_cast<int64_t>(size)) {}
  GreenPool(const GreenPool&) = delete;
  GreenPool& operator=(const GreenPool&) = delete;
  ~GreenPool() {
    for (Fiber* f : fibers_) f->kill();
    while (running_ != 0) currentHub().yield();
  }

  // Waits for a slot, then starts fn; the handle joins it. When the wait for a slot fails
  // (Timeout, kill) the handle is invalid and `status` says why.
  template <class F>
  auto spawn(F&& fn, Status* status = nullptr) {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    Status st = slots_.acquire();
    if (status != nullptr) *status = st;
    if (!st.ok()) return JoinHandle<R>();
    ++running_;
    spawning_ = true;
    auto handle = currentHub().spawn(
        [token = SlotToken(this), fn = std::forward<F>(fn)]() mutable -> R { return fn(); },
        "pool");
    spawning_ = false;
    if (Fiber* f = handle.fiber(); f != nullptr) fibers_.push_back(f);
    return handle;
  }

  Status waitAll() {
    while (running_ != 0) {
      if (int rc = idle_.wait(); rc != 0) return Error{rc};
    }
    return {};
  }

  size_t running() const { return running_; }
  size_t free() const { return static_cast<size_t>(slots_.available()); }

 private:
  // Travels in each fiber's closure, so the slot comes back when the closure is destroyed:
  // after fn ran, or unrun when the fiber was killed first, or at once if the spawn was
  // refused (the only way a token dies while spawning_ is set).
  struct SlotToken {
    GreenPool* pool;
    explicit SlotToken(GreenPool* p) : pool(p) {}
    SlotToken(SlotToken&& o) noexcept : pool(std::exchange(o.pool, nullptr)) {}
    SlotToken(const SlotToken&) = delete;
    ~SlotToken() {
      if (pool != nullptr) pool->finished(pool->spawning_ ? nullptr : currentFiber());
    }
  };

  void finished(Fiber* f) {
    if (f != nullptr) {
      auto it = std::find(fibers_.begin(), fibers_.end(), f);
      if (it != fibers_.end()) fibers_.erase(it);
    }
    slots_.release();
    if (--running_ == 0) idle_.notifyAll();
  }

  bool spawning_ = false;
  Semaphore slots_;
  size_t running_ = 0;
  std::vector<Fiber*> fibers_;
  WaitQueue idle_;
};

}  // namespace greenlb::core
