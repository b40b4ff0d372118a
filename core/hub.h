// A hub: one thread's libevent loop and the fibers it schedules (eventlet's hub).
//
// libevent callbacks never switch stacks: they only mark fibers ready. run() drains the run
// queue in batches, then polls the loop (blocking only when nothing is ready), and frees the
// stacks of fibers that finished. Everything owned by a hub is touched only on its thread;
// post() is the one way in from other threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/event_storage.h"
#include "core/fiber.h"
#include "core/stack_pool.h"
#include "core/time.h"

struct event_base;
struct timeval;

namespace greenlb::core {

struct HubOptions {
  int id = 0;
  size_t stack_size = 64 * 1024;
  uint64_t max_stacks = 0;  // mapped fiber stacks this hub may hold; 0 = the whole VMA budget
};

// Counters readable from any thread (for /status and metrics).
struct HubCounters {
  std::atomic<uint64_t> fibers{0};          // live fibers
  std::atomic<uint64_t> spawned{0};         // total spawned
  std::atomic<uint64_t> refused{0};         // spawns refused at the stack limit
  std::atomic<uint64_t> uncaught{0};        // detached fibers that ended by an exception
  std::atomic<double> loop_lag_seconds{0};  // latest measured loop lag
};

class Hub {
 public:
  explicit Hub(HubOptions options = {});
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // The hub running on the calling thread, or nullptr.
  static Hub* current();
  int id() const { return options_.id; }

  // Starts `fn` in a new fiber named `name` (a string literal: it is not copied). Returns
  // nullptr when refused because the stack limit is reached: the caller sheds the work.
  template <class F>
  Fiber* spawnDetached(const char* name, F&& fn);

  // Starts `fn` in a new fiber and returns a handle to join or kill it. When the spawn is
  // refused at the stack limit, join() reports EAGAIN.
  template <class F>
  auto spawn(F&& fn, const char* name = "fiber");

  // Runs `fn` on this hub's thread (outside any fiber; it may spawn). Thread-safe; wakes the
  // loop only when the inbox goes from empty to non-empty.
  void post(std::function<void()> fn);

  // Runs the loop on the calling thread until stop() and every fiber has finished.
  void run();
  // Thread-safe: kills every fiber and makes run() return once they have finished.
  void stop();
  bool stopping() const { return stop_requested_; }

  // --- used by fibers and by core's waiting primitives (hub thread only) ---
  Fiber* currentFiber() const { return current_; }
  // Suspends the current fiber until wake(); returns the wake code. Fails at once with
  // ECANCELED (killed) or ETIMEDOUT (a Timeout in scope has fired).
  int park();
  // Makes a parked fiber runnable; `code` is what its park() returns. No-op otherwise.
  void wake(Fiber* f, int code);
  // Lets every other ready fiber run once.
  void yield();

  event_base* base() const { return base_; }
  // libevent's common-timeout encoding of `d` (O(1) timer queues for the many equal
  // timeouts a proxy has); falls back to a plain timeval past libevent's limit.
  void timerValue(Duration d, timeval* out);

  // --- introspection ---
  const HubCounters& counters() const { return counters_; }
  const StackPoolStats& stackStats() const { return stacks_.stats(); }
  size_t stackSize() const { return stacks_.stackSize(); }
  // Visits every live fiber (hub thread only).
  template <class F>
  void forEachFiber(F&& visit) const {
    for (Fiber* f = all_head_; f != nullptr; f = f->next_all_) visit(*f);
  }
  // Hub-local singletons (a DNS resolver, a pipe pool...): created on first use on the hub
  // thread, destroyed with the hub before its loop.
  template <class T>
  T& local() {
    static const char key = 0;
    for (auto& [k, v] : locals_) {
      if (k == &key) return static_cast<LocalHolder<T>&>(*v).value;
    }
    auto holder = std::make_unique<LocalHolder<T>>();
    T& ref = holder->value;
    locals_.emplace_back(&key, std::move(holder));
    return ref;
  }

  // Called on the hub thread with each loop-lag sample (seconds), every kLagProbeInterval.
  void setLoopLagObserver(std::function<void(double)> observer);
  static constexpr Duration kLagProbeInterval = 250ms;

 private:
  friend class Fiber;
  Fiber* createFiber(const char* name, size_t closure_size, char** closure_at);
  void startFiber(Fiber* f);
  void finishFiber(Fiber* f);
  void runReadyBatch();
  void drainInbox();
  void onLagProbe();
  static void inboxCallback(int fd, short what, void* arg);
  static void lagCallback(int fd, short what, void* arg);

  HubOptions options_;
  event_base* base_ = nullptr;
  StackPool stacks_;
  detail::Context sched_ctx_;
  Fiber* current_ = nullptr;
  Fiber* ready_head_ = nullptr;
  Fiber* ready_tail_ = nullptr;
  Fiber* all_head_ = nullptr;
  uint64_t next_fiber_id_ = 1;
  bool stop_requested_ = false;

  // Cross-thread inbox.
  std::mutex inbox_mu_;
  std::vector<std::function<void()>> inbox_;
  std::vector<std::function<void()>> inbox_batch_;
  int inbox_fd_ = -1;
  detail::EventStorage inbox_event_;

  // Loop lag probe.
  detail::EventStorage lag_event_;
  TimePoint lag_expected_;
  std::function<void(double)> lag_observer_;

  // Common-timeout cache: duration -> libevent's encoded timeval.
  struct CommonTimeout {
    int64_t micros;
    const timeval* tv;
  };
  std::vector<CommonTimeout> common_timeouts_;

  struct LocalBase {
    virtual ~LocalBase() = default;
  };
  template <class T>
  struct LocalHolder : LocalBase {
    T value;
  };
  std::vector<std::pair<const void*, std::unique_ptr<LocalBase>>> locals_;

  HubCounters counters_;
};

// ---- eventlet-style free functions on the current hub ----

inline Hub& currentHub() { return *Hub::current(); }
inline Fiber* currentFiber() { return Hub::current()->currentFiber(); }

// Starts fn on the current hub; see Hub::spawn.
template <class F>
auto spawn(F&& fn, const char* name = "fiber") {
  return currentHub().spawn(std::forward<F>(fn), name);
}
// Parks the current fiber for `d`. Fails with ETIMEDOUT (an enclosing Timeout fired first)
// or ECANCELED.
Status sleep(Duration d);
// Lets other ready fibers run.
inline void yield() { currentHub().yield(); }

// Starts fn after `delay`; killing the handle before then means fn never runs (its join
// then reports ECANCELED).
template <class F>
auto spawnAfter(Duration delay, F&& fn, const char* name = "fiber") {
  using Fn = std::decay_t<F>;
  using R = std::invoke_result_t<Fn&>;
  return spawn(
      [delay, fn = Fn(std::forward<F>(fn))]() mutable -> R {
        if (Status s = sleep(delay); !s.ok()) {
          if constexpr (std::is_void_v<R>) {
            return;
          } else {
            return R{};
          }
        }
        return fn();
      },
      name);
}

// ---- templates ----

template <class F>
Fiber* Hub::spawnDetached(const char* name, F&& fn) {
  using C = std::decay_t<F>;
  static_assert(sizeof(C) <= 4096, "fiber closures live on the fiber stack: keep them small");
  char* at = nullptr;
  Fiber* f = createFiber(name, sizeof(C), &at);
  if (f == nullptr) return nullptr;
  f->closure_ = new (at) C(std::forward<F>(fn));
  f->invoke_ = [](void* c) { (*static_cast<C*>(c))(); };
  f->destroy_ = [](void* c) { static_cast<C*>(c)->~C(); };
  startFiber(f);
  return f;
}

namespace detail {

// The closure of a joinable fiber: runs fn into the join state and, when destroyed (after
// running, or unrun because the fiber was killed first), completes the state and wakes
// the joiners.
template <class R, class Fn>
struct JoinedCall {
  JoinState<R>* state;
  Fn fn;
  JoinedCall(JoinState<R>* s, Fn&& f) : state(s), fn(std::move(f)) {}
  JoinedCall(JoinedCall&& o) noexcept : state(std::exchange(o.state, nullptr)), fn(std::move(o.fn)) {}
  JoinedCall(const JoinedCall&) = delete;
  void operator()() {
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
      } else {
        state->value.emplace(fn());
      }
    } catch (...) {
      state->exception = std::current_exception();
    }
    state->done = true;
  }
  ~JoinedCall() {
    if (state == nullptr) return;
    if (!state->done) state->error = ECANCELED;
    state->done = true;
    state->fiber = nullptr;
    state->joiners.notifyAll();
    state->release();
  }
};

}  // namespace detail

template <class F>
auto Hub::spawn(F&& fn, const char* name) {
  using Fn = std::decay_t<F>;
  using R = std::invoke_result_t<Fn&>;
  auto* state = new detail::JoinState<R>();
  state->refs = 2;  // the handle and the fiber
  Fiber* f = spawnDetached(name, detail::JoinedCall<R, Fn>(state, Fn(std::forward<F>(fn))));
  if (f == nullptr) {
    // The unconsumed closure's destructor already completed the state and dropped the
    // fiber's reference; the handle keeps the other.
    state->error = EAGAIN;
    return JoinHandle<R>(state);
  }
  state->fiber = f;
  return JoinHandle<R>(state);
}

}  // namespace greenlb::core
