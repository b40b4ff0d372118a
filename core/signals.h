// Lets a fiber wait for POSIX signals (SIGHUP, SIGTERM, SIGINT, SIGUSR1...) through the
// hub's loop (libevent evsignal): the handler only records the signal; the waiting fiber
// runs ordinary code. libevent delivers signals to one event_base per process, so create
// SignalSets on one hub (greenlb uses hub 0).
#pragma once

#include <deque>
#include <initializer_list>
#include <memory>

#include "core/event_storage.h"
#include "core/result.h"
#include "core/wait_queue.h"

namespace greenlb::core {

class SignalSet {
 public:
  // Starts catching `signals` on the current hub (their default action no longer applies).
  explicit SignalSet(std::initializer_list<int> signals);
  ~SignalSet();
  SignalSet(const SignalSet&) = delete;
  SignalSet& operator=(const SignalSet&) = delete;

  // The next signal caught (in delivery order); ETIMEDOUT / ECANCELED as every wait.
  Result<int> wait();

 private:
  struct Slot {
    SignalSet* owner;
    int signal;
    detail::EventStorage ev;
  };
  static void onSignal(int fd, short what, void* arg);

  std::unique_ptr<Slot[]> slots_;
  size_t count_ = 0;
  std::deque<int> pending_;
  WaitQueue waiters_;
};

}  // namespace greenlb::core
