#include "core/signals.h"

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/hub.h"

namespace greenlb::core {
namespace {
event* asEvent(detail::EventStorage& s) { return reinterpret_cast<event*>(s.bytes); }
}  // namespace

SignalSet::SignalSet(std::initializer_list<int> signals)
    : slots_(new Slot[signals.size()]), count_(signals.size()) {
  Hub& hub = currentHub();
  size_t i = 0;
  for (int sig : signals) {
    Slot& s = slots_[i++];
    s.owner = this;
    s.signal = sig;
    evsignal_assign(asEvent(s.ev), hub.base(), sig, &SignalSet::onSignal, &s);
    evsignal_add(asEvent(s.ev), nullptr);
  }
}

SignalSet::~SignalSet() {
  for (size_t i = 0; i < count_; ++i) evsignal_del(asEvent(slots_[i].ev));
}

void SignalSet::onSignal(int, short, void* arg) {
  auto* slot = static_cast<Slot*>(arg);
  slot->owner->pending_.push_back(slot->signal);
  slot->owner->waiters_.notifyOne();
}

Result<int> SignalSet::wait() {
  while (pending_.empty()) {
    if (int rc = waiters_.wait(); rc != 0) return Error{rc};
  }
  int sig = pending_.front();
  pending_.pop_front();
  return sig;
}

}  // namespace greenlb::core
