#include "core/context_switch.h"

#include <boost/context/detail/fcontext.hpp>
#include <cstdlib>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GREENLB_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define GREENLB_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GREENLB_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define GREENLB_TSAN 1
#endif

#ifdef GREENLB_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef GREENLB_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace greenlb::core::detail {
namespace {

namespace bctx = boost::context::detail;

// Passed through jump_fcontext so the resumed side can store where it came from.
struct SwitchRecord {
  Context* from;
  Context* to;
};

void beforeSwitch(Context& from, Context& to, bool from_exits) {
#ifdef GREENLB_ASAN
  __sanitizer_start_switch_fiber(from_exits ? nullptr : &from.asan_fake_stack, to.stack_bottom,
                                 to.stack_size);
#endif
#ifdef GREENLB_TSAN
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
  (void)from;
  (void)to;
  (void)from_exits;
}

// Runs on the resumed stack right after a switch lands.
void afterSwitch(Context& self, SwitchRecord* rec, bctx::fcontext_t from_fctx) {
  rec->from->fctx = from_fctx;
#ifdef GREENLB_ASAN
  const void* bottom_old = nullptr;
  size_t size_old = 0;
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, &bottom_old, &size_old);
  // The thread's own stack bounds are learnt the first time a fiber switches back.
  if (rec->from->stack_bottom == nullptr) {
    rec->from->stack_bottom = bottom_old;
    rec->from->stack_size = size_old;
  }
#endif
  (void)self;
}

void trampoline(bctx::transfer_t t) {
  auto* rec = static_cast<SwitchRecord*>(t.data);
  Context* self = rec->to;
  afterSwitch(*self, rec, t.fctx);
  self->entry(self->arg);
  std::abort();  // entry ends with exitContext()
}

}  // namespace

void initThreadContext(Context& ctx) {
  ctx = Context{};
#ifdef GREENLB_TSAN
  ctx.tsan_fiber = __tsan_get_current_fiber();
#endif
}

void makeContext(Context& ctx, void* stack_low, size_t size, void (*entry)(void*), void* arg) {
#ifdef GREENLB_ASAN
  // A recycled stack still carries the redzone poison of frames its last fiber never
  // returned from (it left through exitContext).
  __asan_unpoison_memory_region(stack_low, size);
#endif
  char* top = static_cast<char*>(stack_low) + size;
  ctx.fctx = bctx::make_fcontext(top, size, &trampoline);
  ctx.entry = entry;
  ctx.arg = arg;
  ctx.stack_bottom = stack_low;
  ctx.stack_size = size;
  ctx.asan_fake_stack = nullptr;
#ifdef GREENLB_TSAN
  ctx.tsan_fiber = __tsan_create_fiber(0);
#endif
}

void switchContext(Context& from, Context& to) {
  SwitchRecord rec{&from, &to};
  beforeSwitch(from, to, false);
  bctx::transfer_t t = bctx::jump_fcontext(to.fctx, &rec);
  afterSwitch(from, static_cast<SwitchRecord*>(t.data), t.fctx);
}

void exitContext(Context& from, Context& to) {
  SwitchRecord rec{&from, &to};
  beforeSwitch(from, to, true);
  bctx::jump_fcontext(to.fctx, &rec);
  std::abort();  // never resumed
}

void destroyContext(Context& ctx) {
#ifdef GREENLB_TSAN
  if (ctx.tsan_fiber != nullptr) __tsan_destroy_fiber(ctx.tsan_fiber);
#endif
  ctx.tsan_fiber = nullptr;
  ctx.fctx = nullptr;
}

}  // namespace greenlb::core::detail
