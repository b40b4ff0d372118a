// A fiber: a stackful green thread owned by one Hub. Its control block and its closure live
// at the top of its own stack (PhotonLibOS-style), so spawning allocates nothing on the heap
// unless the caller asks for a joinable handle.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/context_switch.h"
#include "core/result.h"
#include "core/stack_pool.h"
#include "core/wait_queue.h"

namespace greenlb::core {

class Hub;

enum class FiberState : uint8_t { ready, running, parked, done };
const char* toString(FiberState s);

class Fiber {
 public:
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  const char* name() const { return name_; }
  FiberState state() const { return state_; }
  uint64_t id() const { return id_; }
  Hub& hub() const { return *hub_; }
  // Cancels the fiber at its current or next wait: that wait, and every later one, fails
  // with ECANCELED. A fiber killed before it first ran never runs its function.
  void kill();
  bool cancelled() const { return cancelled_; }
  const Stack& stackRegion() const { return stack_; }
  // How many times the hub has switched to this fiber: a change means it gave way (parked
  // or yielded) in between (core/fair_share.h).
  uint64_t turns() const { return turns_; }

 private:
  friend class Hub;
  friend class Timeout;
  Fiber(Hub* hub, Stack stack, const char* name, uint64_t id)
      : hub_(hub), stack_(stack), name_(name), id_(id) {}
  static void entry(void* self);

  detail::Context ctx_;
  Hub* hub_;
  Stack stack_;
  const char* name_;
  uint64_t id_;
  FiberState state_ = FiberState::ready;
  bool cancelled_ = false;
  bool started_ = false;
  uint32_t fired_timeouts_ = 0;  // Timeouts in scope that have expired
  uint64_t turns_ = 0;
  int wake_code_ = 0;
  const char* low_water_ = nullptr;  // deepest stack address seen at a park
  Fiber* next_ready_ = nullptr;
  Fiber* prev_all_ = nullptr;
  Fiber* next_all_ = nullptr;
  void (*invoke_)(void*) = nullptr;
  void (*destroy_)(void*) = nullptr;
  void* closure_ = nullptr;
};

namespace detail {

// Shared between a joinable fiber and its handle; lives on the heap because it outlives
// the fiber's stack. Reference counted without atomics: both owners are on one hub.
struct JoinStateBase {
  int refs = 1;
  bool done = false;
  int error = 0;  // ECANCELED when killed before it ran
  Fiber* fiber = nullptr;
  std::exception_ptr exception;
  WaitQueue joiners;
  virtual ~JoinStateBase() = default;
  void release() {
    if (--refs == 0) delete this;
  }
};

template <class R>
struct JoinState : JoinStateBase {
  std::optional<R> value;
};
template <>
struct JoinState<void> : JoinStateBase {};

}  // namespace detail

// What spawn() returns: join() waits for the fiber and yields its result, rethrowing the
// exception it ended with; kill() cancels it (eventlet's GreenThread.wait / kill).
template <class R>
class JoinHandle {
 public:
  JoinHandle() = default;
  explicit JoinHandle(detail::JoinState<R>* s) : state_(s) {}
  JoinHandle(JoinHandle&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  ~JoinHandle() { reset(); }

  bool valid() const { return state_ != nullptr; }
  bool done() const { return state_ != nullptr && state_->done; }
  Fiber* fiber() const { return state_ != nullptr ? state_->fiber : nullptr; }

  void kill() {
    if (state_ != nullptr && state_->fiber != nullptr) state_->fiber->kill();
  }

  // Waits for the fiber. The error is ETIMEDOUT/ECANCELED when the *joining* fiber's wait
  // failed, or ECANCELED when the joined fiber was killed before it ran.
  auto join() {
    if constexpr (std::is_void_v<R>) {
      if (Status s = waitDone(); !s.ok()) return s;
      return Status{};
    } else {
      if (Status s = waitDone(); !s.ok()) return Result<R>(s.error());
      return Result<R>(std::move(*state_->value));
    }
  }

 private:
  Status waitDone() {
    while (!state_->done) {
      if (int rc = state_->joiners.wait(); rc != 0) return Error{rc};
    }
    if (state_->exception) std::rethrow_exception(state_->exception);
    if (state_->error != 0) return Error{state_->error};
    return {};
  }
  void reset() {
    if (state_ != nullptr) state_->release();
    state_ = nullptr;
  }
  detail::JoinState<R>* state_ = nullptr;
};

}  // namespace greenlb::core
