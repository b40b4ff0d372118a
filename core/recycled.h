// Objects made and let go on the hot path, one after another on the same thread (an
// HTTP/2 stream per request): a class that derives from Recycled<T> keeps the memory of its
// freed objects in a per-thread free list (each hub is one thread) and hands it out again,
// so once warm the hot path allocates nothing for them. At most kKept blocks are kept; an
// object must be freed on the thread that made it (hub-local objects are).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace greenlb::core {

template <class T>
class Recycled {
 public:
  static constexpr size_t kKept = 1024;

  static void* operator new(size_t size) {
    std::vector<void*>& free = freeList();
    if (size == sizeof(T) && !free.empty()) {
      void* p = free.back();
      free.pop_back();
      return p;
    }
    return ::operator new(size);
  }
  static void operator delete(void* p, size_t size) {
    std::vector<void*>& free = freeList();
    if (size == sizeof(T) && free.size() < kKept) {
      free.push_back(p);
      return;
    }
    ::operator delete(p);
  }

 private:
  static std::vector<void*>& freeList() {
    struct List {
      std::vector<void*> blocks;
      ~List() {
        for (void* p : blocks) ::operator delete(p);
      }
    };
    thread_local List list;
    return list.blocks;
  }
};

}  // namespace greenlb::core
