#include "core/hub.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cstdio>
#include <stdexcept>

#include "core/stack_overflow.h"
#include "core/timeout.h"

namespace greenlb::core {
namespace {

static_assert(sizeof(event) <= sizeof(detail::EventStorage), "EventStorage too small");
static_assert(alignof(event) <= alignof(detail::EventStorage), "EventStorage misaligned");

thread_local Hub* t_current = nullptr;

event* asEvent(detail::EventStorage& s) { return reinterpret_cast<event*>(s.bytes); }

// Counters are written only by their hub: a relaxed load and store, no locked instruction.
void bump(std::atomic<uint64_t>& c, int64_t delta) {
  c.store(c.load(std::memory_order_relaxed) + static_cast<uint64_t>(delta),
          std::memory_order_relaxed);
}

constexpr size_t roundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Fibers that stay runnable (yield loops) get this many batches before the loop is polled
// for I/O again: an epoll_wait per batch would cost more than the switches themselves,
// while I/O still waits at most a few batches.
constexpr unsigned kBatchesPerPoll = 16;

// libevent allows 256 common-timeout queues per base; keep most for the proxy's timeouts.
constexpr size_t kMaxCommonTimeouts = 128;

timeval toTimeval(Duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  if (us < 0) us = 0;
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

}  // namespace

const char* toString(FiberState s) {
  switch (s) {
    case FiberState::ready: return "ready";
    case FiberState::running: return "running";
    case FiberState::parked: return "parked";
    case FiberState::done: return "done";
  }
  return "?";
}

// ---- Fiber ----

void Fiber::entry(void* self) {
  auto* f = static_cast<Fiber*>(self);
  Hub* hub = f->hub_;
  f->started_ = true;
  if (!f->cancelled_) {
    try {
      f->invoke_(f->closure_);
    } catch (const std::exception& e) {
      bump(hub->counters_.uncaught, 1);
      std::fprintf(stderr, "greenlb: fiber '%s' ended by an exception: %s\n", f->name_, e.what());
    } catch (...) {
      bump(hub->counters_.uncaught, 1);
      std::fprintf(stderr, "greenlb: fiber '%s' ended by an unknown exception\n", f->name_);
    }
  }
  f->destroy_(f->closure_);
  f->state_ = FiberState::done;
  detail::exitContext(f->ctx_, hub->sched_ctx_);
}

void Fiber::kill() {
  if (state_ == FiberState::done) return;
  cancelled_ = true;
  if (state_ == FiberState::parked) hub_->wake(this, ECANCELED);
}

// ---- Hub ----

Hub* Hub::current() { return t_current; }

Hub::Hub(HubOptions options)
    : options_(options),
      stacks_(options.stack_size,
              options.max_stacks != 0 ? options.max_stacks : StackPool::vmaBudget()) {
  event_config* cfg = event_config_new();
  event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
  // EARLY_CLOSE: EV_CLOSED (EPOLLRDHUP) tells a socket's FIN apart from its data.
  event_config_require_features(cfg, EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE);
  base_ = event_base_new_with_config(cfg);
  event_config_free(cfg);
  if (base_ == nullptr) throw std::runtime_error("libevent: cannot create an epoll event base");

  inbox_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inbox_fd_ < 0) throw std::runtime_error("eventfd failed");
  event_assign(asEvent(inbox_event_), base_, inbox_fd_, EV_READ | EV_PERSIST, &Hub::inboxCallback,
               this);
  event_add(asEvent(inbox_event_), nullptr);
  evtimer_assign(asEvent(lag_event_), base_, &Hub::lagCallback, this);
  installStackOverflowReporter();
}

Hub::~Hub() {
  if (all_head_ != nullptr) {
    // Fibers still hold stacks and closures: cancel them and let them unwind.
    stop_requested_ = true;
    for (Fiber* f = all_head_; f != nullptr; f = f->next_all_) f->kill();
    run();
  }
  while (!locals_.empty()) locals_.pop_back();  // newest first: later ones may use earlier
  event_del(asEvent(lag_event_));
  event_del(asEvent(inbox_event_));
  ::close(inbox_fd_);
  event_base_free(base_);
}

Fiber* Hub::createFiber(const char* name, size_t closure_size, char** closure_at) {
  Stack stack = stacks_.allocate();
  if (stack.mapping == nullptr) {
    bump(counters_.refused, 1);
    return nullptr;
  }
  char* top = stack.high() - roundUp(sizeof(Fiber), 64);
  auto* f = new (top) Fiber(this, stack, name, next_fiber_id_++);
  top -= roundUp(closure_size, 64);
  *closure_at = top;
  detail::makeContext(f->ctx_, stack.low(), static_cast<size_t>(top - stack.low()), &Fiber::entry,
                      f);
  f->low_water_ = top;
  f->next_all_ = all_head_;
  if (all_head_ != nullptr) all_head_->prev_all_ = f;
  all_head_ = f;
  if (stop_requested_) f->cancelled_ = true;
  bump(counters_.fibers, 1);
  bump(counters_.spawned, 1);
  return f;
}

void Hub::startFiber(Fiber* f) {
  f->state_ = FiberState::ready;
  if (ready_tail_ != nullptr) {
    ready_tail_->next_ready_ = f;
  } else {
    ready_head_ = f;
  }
  ready_tail_ = f;
}

void Hub::finishFiber(Fiber* f) {
  if (f->prev_all_ != nullptr) {
    f->prev_all_->next_all_ = f->next_all_;
  } else {
    all_head_ = f->next_all_;
  }
  if (f->next_all_ != nullptr) f->next_all_->prev_all_ = f->prev_all_;
  Stack stack = f->stack_;
  const char* low_water = f->low_water_;
  detail::destroyContext(f->ctx_);
  f->~Fiber();
  stacks_.release(stack, low_water);
  bump(counters_.fibers, -1);
}

void Hub::runReadyBatch() {
  // Only the fibers ready now: those readied meanwhile wait for the next batch, after the
  // loop has been polled, so I/O is never starved by fibers that keep yielding.
  Fiber* batch = ready_head_;
  ready_head_ = ready_tail_ = nullptr;
  while (batch != nullptr) {
    Fiber* f = batch;
    batch = f->next_ready_;
    f->next_ready_ = nullptr;
    current_ = f;
    f->state_ = FiberState::running;
    ++f->turns_;
    detail::switchContext(sched_ctx_, f->ctx_);
    current_ = nullptr;
    if (f->state_ == FiberState::done) finishFiber(f);
  }
}

int Hub::park() {
  Fiber* f = current_;
  assert(f != nullptr && "park() outside a fiber");
  if (f->cancelled_) return ECANCELED;
  if (f->fired_timeouts_ != 0) return ETIMEDOUT;
  auto* sp = static_cast<const char*>(__builtin_frame_address(0));
  if (sp < f->low_water_) f->low_water_ = sp;
  f->state_ = FiberState::parked;
  f->wake_code_ = 0;
  detail::switchContext(f->ctx_, sched_ctx_);
  return f->wake_code_;
}

void Hub::wake(Fiber* f, int code) {
  if (f->state_ != FiberState::parked) return;
  f->wake_code_ = code;
  startFiber(f);
}

void Hub::yield() {
  Fiber* f = current_;
  assert(f != nullptr && "yield() outside a fiber");
  startFiber(f);
  detail::switchContext(f->ctx_, sched_ctx_);
}

void Hub::run() {
  Hub* previous = t_current;
  t_current = this;
  prepareThreadForOverflowReports();
  detail::initThreadContext(sched_ctx_);
  lag_expected_ = Clock::now() + kLagProbeInterval;
  timeval lag_tv = toTimeval(kLagProbeInterval);
  event_add(asEvent(lag_event_), &lag_tv);
  unsigned batches_since_poll = 0;
  for (;;) {
    runReadyBatch();
    if (stop_requested_ && all_head_ == nullptr) break;
    if (ready_head_ == nullptr) {
      event_base_loop(base_, EVLOOP_ONCE);  // nothing to run: block until an event
      batches_since_poll = 0;
    } else if (++batches_since_poll >= kBatchesPerPoll) {
      event_base_loop(base_, EVLOOP_NONBLOCK);
      batches_since_poll = 0;
    }
  }
  event_del(asEvent(lag_event_));
  t_current = previous;
}

void Hub::stop() {
  post([this] {
    stop_requested_ = true;
    for (Fiber* f = all_head_; f != nullptr; f = f->next_all_) f->kill();
  });
}

void Hub::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(fn));
  }
  if (was_empty) {
    uint64_t one = 1;
    // A full eventfd counter (EAGAIN) still leaves it readable: the wake-up is not lost.
    [[maybe_unused]] ssize_t n = ::write(inbox_fd_, &one, sizeof one);
  }
}

void Hub::inboxCallback(int fd, short, void* arg) {
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof count);
  static_cast<Hub*>(arg)->drainInbox();
}

void Hub::drainInbox() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    inbox_batch_.swap(inbox_);
  }
  for (auto& fn : inbox_batch_) fn();
  inbox_batch_.clear();
}

void Hub::timerValue(Duration d, timeval* out) {
  timeval plain = toTimeval(d);
  int64_t micros = static_cast<int64_t>(plain.tv_sec) * 1000000 + plain.tv_usec;
  for (const auto& c : common_timeouts_) {
    if (c.micros == micros) {
      *out = *c.tv;
      return;
    }
  }
  if (common_timeouts_.size() < kMaxCommonTimeouts) {
    if (const timeval* tv = event_base_init_common_timeout(base_, &plain); tv != nullptr) {
      common_timeouts_.push_back({micros, tv});
      *out = *tv;
      return;
    }
  }
  *out = plain;
}

void Hub::setLoopLagObserver(std::function<void(double)> observer) {
  lag_observer_ = std::move(observer);
}

void Hub::lagCallback(int, short, void* arg) { static_cast<Hub*>(arg)->onLagProbe(); }

void Hub::onLagProbe() {
  TimePoint now = Clock::now();
  double lag = now > lag_expected_ ? toSeconds(now - lag_expected_) : 0.0;
  counters_.loop_lag_seconds.store(lag, std::memory_order_relaxed);
  if (lag_observer_) lag_observer_(lag);
  lag_expected_ = now + kLagProbeInterval;
  timeval tv = toTimeval(kLagProbeInterval);
  event_add(asEvent(lag_event_), &tv);
}

// ---- free functions ----

Status sleep(Duration d) {
  Hub& hub = currentHub();
  Timeout t(d);
  for (;;) {
    int rc = hub.park();
    if (t.expired()) return {};
    if (rc != 0) return Error{rc};
  }
}

}  // namespace greenlb::core
