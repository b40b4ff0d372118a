#include "core/stack_overflow.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/hub.h"

namespace greenlb::core {
namespace {

struct sigaction g_previous;

// The calling thread's alternate signal stack, released when the thread ends.
struct AltStack {
  void* memory = nullptr;
  bool ready = false;
  ~AltStack() {
    if (memory == nullptr) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    std::free(memory);
  }
};
thread_local AltStack t_altstack;

void writeAll(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void onSegv(int sig, siginfo_t* info, void* uctx) {
  Hub* hub = Hub::current();
  Fiber* fiber = hub != nullptr ? hub->currentFiber() : nullptr;
  if (fiber != nullptr && fiber->stackRegion().guardContains(info->si_addr)) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "greenlb: stack overflow in fiber '%s' (id %llu, %zu KiB stack): fault at its "
                  "guard page %p\n",
                  fiber->name(), static_cast<unsigned long long>(fiber->id()),
                  fiber->stackRegion().usable() / 1024, info->si_addr);
    writeAll(line);
    // Die of the same signal: returning re-executes the faulting access.
    signal(SIGSEGV, SIG_DFL);
    return;
  }
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) return g_previous.sa_sigaction(sig, info, uctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  signal(SIGSEGV, SIG_DFL);
}

}  // namespace

void installStackOverflowReporter() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &onSegv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous);
  });
}

void prepareThreadForOverflowReports() {
  if (t_altstack.ready) return;
  t_altstack.ready = true;
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
    return;  // someone (e.g. a sanitizer) already gave this thread one
  }
  static constexpr size_t kAltStack = 64 * 1024;
  stack_t ss{};
  ss.ss_sp = std::malloc(kAltStack);
  ss.ss_size = kAltStack;
  if (ss.ss_sp != nullptr && sigaltstack(&ss, nullptr) == 0) {
    t_altstack.memory = ss.ss_sp;
  } else {
    std::free(ss.ss_sp);
  }
}

}  // namespace greenlb::core
