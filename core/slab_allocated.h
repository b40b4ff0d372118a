// Objects that live by the thousand at once and are made and freed on one thread (a client
// connection per socket): a class that derives from SlabAllocated<T> takes its memory from
// per-thread 64 KiB blocks cut into cells of exactly sizeof(T), so an object costs what it
// holds and nothing more (glibc's malloc adds an 8-byte header and rounds to 16: 256 bytes
// for a 248-byte object). Freed cells go on the thread's free list and are handed out
// again; the blocks are given back when the thread ends, as HAProxy's pools keep theirs.
// An object must be freed on the thread that made it (hub-local objects are).
//
// Under AddressSanitizer every object gets its own allocation, so a use after free is
// still caught.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace greenlb::core {

template <class T>
class SlabAllocated {
 public:
  static void* operator new(size_t size) {
    if (kBypass || size != sizeof(T)) return ::operator new(size);  // a derived class
    return slab().take();
  }
  static void operator delete(void* p, size_t size) {
    if (kBypass || size != sizeof(T)) {
      ::operator delete(p);
      return;
    }
    slab().give(p);
  }

 private:
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool kBypass = true;
#else
  static constexpr bool kBypass = false;
#endif

  struct Slab {
    static constexpr size_t kBlockBytes = 64 * 1024;
    static constexpr size_t kCellsPerBlock = kBlockBytes / sizeof(T);
    static_assert(sizeof(T) >= sizeof(void*) && alignof(T) <= alignof(std::max_align_t));

    void* free = nullptr;  // a free cell holds the next one
    char* fresh = nullptr;  // the newest block's cells not handed out yet
    size_t fresh_left = 0;
    std::vector<void*> blocks;

    void* take() {
      if (free != nullptr) {
        void* p = free;
        free = *static_cast<void**>(p);
        return p;
      }
      if (fresh_left == 0) {
        blocks.push_back(::operator new(kBlockBytes));
        fresh = static_cast<char*>(blocks.back());
        fresh_left = kCellsPerBlock;
      }
      void* p = fresh;
      fresh += sizeof(T);
      --fresh_left;
      return p;
    }
    void give(void* p) {
      *static_cast<void**>(p) = free;
      free = p;
    }
    ~Slab() {
      for (void* b : blocks) ::operator delete(b);
    }
  };

  static Slab& slab() {
    thread_local Slab s;
    return s;
  }
};

}  // namespace greenlb::core
