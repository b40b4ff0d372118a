// Fiber stacks: reserved with MAP_NORESERVE and a PROT_NONE guard page below, recycled LIFO
// per hub, trimmed with MADV_DONTNEED when a deep one comes back (docs/architecture.md,
// "Hubs and fibers").
//
// Every mapped stack costs two kernel VMAs (the guard page splits the mapping) and
// vm.max_map_count caps VMAs per process (65530 by default), so the pool also enforces a
// limit on mapped stacks: allocate() fails beyond it and the caller refuses the work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace greenlb::core {

struct Stack {
  char* mapping = nullptr;  // start of the mapping: the guard page
  size_t mapped = 0;        // guard + usable
  char* low() const { return mapping + guardSize(); }
  char* high() const { return mapping + mapped; }
  size_t usable() const { return mapped - guardSize(); }
  bool guardContains(const void* addr) const;
  static size_t guardSize();
};

struct StackPoolStats {
  uint64_t mapped = 0;    // stacks currently mapped (in use + pooled)
  uint64_t pooled = 0;    // of those, waiting for reuse
  uint64_t refused = 0;   // allocations refused at the limit
  uint64_t trimmed = 0;   // deep stacks given back to the kernel on release
};

class StackPool {
 public:
  // `stack_size` is rounded up to pages; `max_mapped` bounds mapped stacks (0 = no bound);
  // at most `max_pooled` idle stacks are kept, the rest are unmapped.
  StackPool(size_t stack_size, uint64_t max_mapped, size_t max_pooled = 1024);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // A stack, or a null Stack when the limit is reached or mmap fails.
  Stack allocate();
  // Returns a stack; `low_water` is the deepest address its fiber was seen to use, so the
  // pool can release the pages below the shallow part back to the kernel.
  void release(Stack s, const char* low_water);

  size_t stackSize() const { return stack_size_; }
  const StackPoolStats& stats() const { return stats_; }

  // How many stacks fit in `share` of this process's VMA budget (vm.max_map_count minus a
  // reserve for everything else): the default limit a runtime divides among its hubs.
  static uint64_t vmaBudget();

 private:
  size_t stack_size_;
  uint64_t max_mapped_;
  size_t max_pooled_;
  std::vector<Stack> free_;
  StackPoolStats stats_;
};

}  // namespace greenlb::core
