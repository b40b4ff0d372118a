#include "core/runtime.h"

#include <pthread.h>
#include <sched.h>

#include <exception>

namespace greenlb::core {
namespace {

void pinCurrentThread(unsigned index) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  unsigned count = static_cast<unsigned>(CPU_COUNT(&allowed));
  if (count == 0) return;
  unsigned want = index % count;
  for (unsigned cpu = 0, seen = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (seen++ == want) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      pthread_setaffinity_np(pthread_self(), sizeof one, &one);
      return;
    }
  }
}

}  // namespace

unsigned Runtime::availableCores() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    return static_cast<unsigned>(CPU_COUNT(&allowed));
  }
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

Runtime::Runtime(RuntimeOptions options) : options_(options) {
  unsigned n = options_.hubs != 0 ? options_.hubs : availableCores();
  uint64_t total = options_.max_stacks != 0 ? options_.max_stacks : StackPool::vmaBudget();
  for (unsigned i = 0; i < n; ++i) {
    HubOptions h;
    h.id = static_cast<int>(i);
    h.stack_size = options_.stack_size;
    h.max_stacks = total / n != 0 ? total / n : 1;
    hubs_.push_back(std::make_unique<Hub>(h));
  }
}

Runtime::~Runtime() {
  stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Runtime::stop() {
  for (auto& h : hubs_) h->stop();
}

void Runtime::run(std::function<void()> main) {
  for (size_t i = 1; i < hubs_.size(); ++i) {
    threads_.emplace_back([this, i] {
      if (options_.pin) pinCurrentThread(static_cast<unsigned>(i));
      hubs_[i]->run();
    });
  }
  if (options_.pin) pinCurrentThread(0);
  std::exception_ptr failure;
  hubs_[0]->spawnDetached("main", [this, &main, &failure] {
    try {
      main();
    } catch (...) {
      failure = std::current_exception();
    }
    stop();
  });
  hubs_[0]->run();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace greenlb::core
