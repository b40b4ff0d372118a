// Time as the runtime measures it: a monotonic clock and nanosecond durations.
#pragma once

#include <chrono>

namespace greenlb::core {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;
using namespace std::chrono_literals;

inline double toSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace greenlb::core
