// Copies a byte stream from one green socket to another until the source ends: the body of
// a TCP or WebSocket tunnel (one call per direction, each in its own fiber).
//
// Uses splice(2) through a pipe so the bytes never enter user space; falls back to a copy
// through the caller's buffer when no pipe can be had (fd limit).
#pragma once

#include <cstdint>

#include "core/result.h"
#include "core/socket.h"
#include "core/time.h"

namespace greenlb::core {

struct ForwardOptions {
  // > 0: fail with ETIMEDOUT once `idle` passes with no byte moved by any forward() sharing
  // `activity` (both directions of a tunnel share one stamp, so a long download does not
  // time out the quiet upload direction).
  Duration idle = Duration::zero();
  TimePoint* activity = nullptr;
  bool use_splice = true;
  char* buffer = nullptr;  // for the copy fallback; required when use_splice is false
  size_t buffer_size = 0;
};

// Returns the bytes copied once `from` reached end of stream (after shutting down the
// write side of `to`), or the first error of either side.
Result<uint64_t> forward(Stream& from, Stream& to, const ForwardOptions& options);

}  // namespace greenlb::core
