// Runs a test body as the main fiber of a fresh runtime and returns when it is done.
#pragma once

#include <functional>

#include "core/runtime.h"

namespace greenlb::core::testing {

inline void runMain(std::function<void()> body, unsigned hubs = 1) {
  RuntimeOptions o;
  o.hubs = hubs;
  Runtime rt(o);
  rt.run(std::move(body));
}

}  // namespace greenlb::core::testing
