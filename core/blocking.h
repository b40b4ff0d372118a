// Runs blocking work (reading and parsing a config file, loading certificates) on a helper
// thread while the calling fiber parks, so the hub keeps serving (blocking work never runs
// on a hub: docs/architecture.md, "Hubs and fibers"). Meant for rare operations: it starts
// a thread per call.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include "core/event.h"
#include "core/hub.h"

namespace greenlb::core {

// Returns fn()'s result (rethrowing its exception). The wait cannot be cut short by a
// Timeout or kill: fn's thread must finish before its captures go out of scope.
template <class F>
auto runBlocking(F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  struct State {
    std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value{};
    std::exception_ptr error;
    bool done = false;  // written on the hub thread only (via post)
    Event finished;
  };
  auto state = std::make_shared<State>();
  Hub& hub = currentHub();
  std::thread worker([state, &hub, &fn] {
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
      } else {
        state->value.emplace(fn());
      }
    } catch (...) {
      state->error = std::current_exception();
    }
    hub.post([state] {
      state->done = true;
      state->finished.set();
    });
  });
  while (!state->done) {
    if (!state->finished.wait().ok()) yield();  // cancelled or timed out: keep waiting
  }
  worker.join();
  if (state->error) std::rethrow_exception(state->error);
  if constexpr (!std::is_void_v<R>) return std::move(*state->value);
}

}  // namespace greenlb::core
