// N hubs on N threads (one per core by default): the process-wide runtime.
//
// run(main) spawns `main` as a fiber on hub 0, runs hub 0 on the calling thread and the
// others on their own threads, and returns when `main` has returned and every hub has
// stopped (stop() kills the fibers still running). That makes a server's lifetime one
// sequential function: bind, serve, wait for a signal, drain, return.
#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/hub.h"

namespace greenlb::core {

struct RuntimeOptions {
  unsigned hubs = 0;  // 0 = one per available core
  bool pin = false;   // pin hub i to CPU i (mod the CPUs available)
  size_t stack_size = 64 * 1024;
  uint64_t max_stacks = 0;  // mapped fiber stacks for the whole process; 0 = VMA budget
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  size_t size() const { return hubs_.size(); }
  Hub& hub(size_t i) { return *hubs_[i]; }

  // See the file comment. Exceptions escaping `main` are rethrown here after shutdown.
  void run(std::function<void()> main);
  // Thread-safe: stops every hub (their fibers are killed and unwind).
  void stop();

  static unsigned availableCores();

 private:
  RuntimeOptions options_;
  std::vector<std::unique_ptr<Hub>> hubs_;
  std::vector<std::thread> threads_;
};

}  // namespace greenlb::core
