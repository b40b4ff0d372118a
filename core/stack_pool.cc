#include "core/stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GREENLB_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define GREENLB_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#endif
#endif
#ifndef GREENLB_UNPOISON
#define GREENLB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace greenlb::core {
namespace {

// Fibers leave through a final switch, not by returning, so ASan's shadow for their stack
// frames stays poisoned; clear it before the memory is used or unmapped (a later mapping
// may land on the same addresses).
void unmapStack(char* mapping, size_t mapped) {
  GREENLB_UNPOISON(mapping + Stack::guardSize(), mapped - Stack::guardSize());
  munmap(mapping, mapped);
}

size_t pageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// Pages a returned fiber may keep resident: most connection fibers stay within this, so
// trimming below it costs one madvise only for the rare deep fiber.
constexpr size_t kKeepResident = 16 * 1024;

}  // namespace

size_t Stack::guardSize() { return pageSize(); }

bool Stack::guardContains(const void* addr) const {
  auto* a = static_cast<const char*>(addr);
  return mapping != nullptr && a >= mapping && a < mapping + guardSize();
}

StackPool::StackPool(size_t stack_size, uint64_t max_mapped, size_t max_pooled)
    : stack_size_((stack_size + pageSize() - 1) / pageSize() * pageSize()),
      max_mapped_(max_mapped),
      max_pooled_(max_pooled) {
  free_.reserve(max_pooled_ < 4096 ? max_pooled_ : 4096);
}

StackPool::~StackPool() {
  for (auto& s : free_) unmapStack(s.mapping, s.mapped);
}

Stack StackPool::allocate() {
  if (!free_.empty()) {
    Stack s = free_.back();
    free_.pop_back();
    --stats_.pooled;
    return s;
  }
  if (max_mapped_ != 0 && stats_.mapped >= max_mapped_) {
    ++stats_.refused;
    return {};
  }
  size_t total = stack_size_ + Stack::guardSize();
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    ++stats_.refused;
    return {};
  }
  if (mprotect(p, Stack::guardSize(), PROT_NONE) != 0) {
    munmap(p, total);
    ++stats_.refused;
    return {};
  }
  ++stats_.mapped;
  GREENLB_UNPOISON(static_cast<char*>(p) + Stack::guardSize(), stack_size_);
  return Stack{static_cast<char*>(p), total};
}

void StackPool::release(Stack s, const char* low_water) {
  if (free_.size() >= max_pooled_) {
    unmapStack(s.mapping, s.mapped);
    --stats_.mapped;
    return;
  }
  // A fiber that went deep leaves pages behind; give back all but the top kKeepResident.
  if (s.usable() > kKeepResident && low_water != nullptr && low_water < s.high() - kKeepResident) {
    char* keep_from = s.high() - kKeepResident;
    char* from = s.low();
    madvise(from, static_cast<size_t>(keep_from - from) / pageSize() * pageSize(), MADV_DONTNEED);
    ++stats_.trimmed;
  }
  free_.push_back(s);
  ++stats_.pooled;
}

uint64_t StackPool::vmaBudget() {
  uint64_t max_map_count = 65530;
  std::ifstream in("/proc/sys/vm/max_map_count");
  in >> max_map_count;
  // Keep a reserve for libraries, heaps, thread stacks and the allocator's arenas.
  constexpr uint64_t kReserve = 4096;
  if (max_map_count <= kReserve * 2) return max_map_count / 4;
  return (max_map_count - kReserve) / 2;  // two VMAs per stack
}

}  // namespace greenlb::core
