#include "core/timeout.h"

#include <event2/event.h>
#include <event2/event_struct.h>

#include <cassert>

#include "core/hub.h"

namespace greenlb::core {
namespace {
event* asEvent(detail::EventStorage& s) { return reinterpret_cast<event*>(s.bytes); }
}  // namespace

Timeout::Timeout(Duration d) : fiber_(currentFiber()) {
  assert(fiber_ != nullptr && "Timeout outside a fiber");
  if (d <= Duration::zero()) {
    fire();
    return;
  }
  Hub& hub = fiber_->hub();
  evtimer_assign(asEvent(ev_), hub.base(), &Timeout::onTimer, this);
  timeval tv;
  hub.timerValue(d, &tv);
  event_add(asEvent(ev_), &tv);
  armed_ = true;
}

Timeout::~Timeout() {
  cancel();
  if (fired_) --fiber_->fired_timeouts_;
}

void Timeout::cancel() {
  if (!armed_) return;
  event_del(asEvent(ev_));
  armed_ = false;
}

void Timeout::onTimer(int, short, void* arg) {
  auto* t = static_cast<Timeout*>(arg);
  t->armed_ = false;
  t->fire();
}

void Timeout::fire() {
  fired_ = true;
  ++fiber_->fired_timeouts_;
  fiber_->hub().wake(fiber_, ETIMEDOUT);
}

}  // namespace greenlb::core
