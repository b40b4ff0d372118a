// The one place that switches stacks (docs/architecture.md, "Hubs and fibers"):
// Boost.Context's fcontext primitives plus the AddressSanitizer and ThreadSanitizer fiber
// annotations.
#pragma once

#include <cstddef>

namespace greenlb::core::detail {

// An execution context: either a thread's own stack or a fiber stack.
struct Context {
  void* fctx = nullptr;  // saved machine state while suspended
  void (*entry)(void* arg) = nullptr;
  void* arg = nullptr;
  // Sanitizer bookkeeping (unused in normal builds).
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;
};

// Describes the calling thread's own stack, so fibers can switch back to it.
void initThreadContext(Context& ctx);

// Prepares `ctx` to run entry(arg) on [stack_low, stack_low + size) at its first switch.
// `entry` must never return: it ends with exitContext().
void makeContext(Context& ctx, void* stack_low, size_t size, void (*entry)(void*), void* arg);

// Suspends the caller into `from` and resumes `to`.
void switchContext(Context& from, Context& to);

// Final switch out of a finished fiber: `from` is never resumed.
[[noreturn]] void exitContext(Context& from, Context& to);

// Releases sanitizer state of a context that will never run again.
void destroyContext(Context& ctx);

}  // namespace greenlb::core::detail
