#include "proxy/h2/session_memory.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace greenlb::proxy {

namespace {

// Each block carries a 16-byte header (its class, and for a large block its size), so the
// pointer nghttp2 gets keeps malloc's 16-byte alignment.
constexpr size_t kHeader = 16;
constexpr size_t kClasses = 8;  // 64, 128, ..., 8 KiB of payload
constexpr size_t kSmallest = 64;
constexpr size_t kLargest = kSmallest << (kClasses - 1);
constexpr size_t kLarge = kClasses;  // the class of a block over kLargest: malloc'd as is
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kKeptBytesPerClass = 0;  // every block freed at once: use-after-free is caught
#else
constexpr size_t kKeptBytesPerClass = 1024 * 1024;
#endif

struct Header {
  size_t klass;
  size_t size;  // the payload's capacity
};
static_assert(sizeof(Header) == kHeader);

size_t classOf(size_t size) {
  size_t c = 0;
  for (size_t cap = kSmallest; cap < size; cap <<= 1) ++c;
  return c;
}

Header* headerOf(void* p) { return reinterpret_cast<Header*>(static_cast<char*>(p) - kHeader); }

thread_local bool t_cache_gone = false;  // trivially destructible: readable until the end

struct Cache {
  struct Free {
    Free* next;
  };
  Free* lists[kClasses] = {};
  size_t counts[kClasses] = {};

  ~Cache() {
    for (Free*& head : lists) {
      while (head != nullptr) std::free(std::exchange(head, head->next));
    }
    t_cache_gone = true;  // blocks freed later in the thread's exit go straight to free()
  }
  static size_t kept(size_t c) { return kKeptBytesPerClass / (kSmallest << c); }
};

Cache* cache() {
  if (t_cache_gone) return nullptr;
  thread_local Cache c;
  return &c;
}

void* allocate(size_t size, void*) {
  if (size > kLargest) {
    auto* h = static_cast<Header*>(std::malloc(kHeader + size));
    if (h == nullptr) return nullptr;
    *h = {kLarge, size};
    return reinterpret_cast<char*>(h) + kHeader;
  }
  size_t c = classOf(size);
  Cache* cc = cache();
  void* block = cc != nullptr ? cc->lists[c] : nullptr;
  if (block != nullptr) {
    cc->lists[c] = cc->lists[c]->next;
    --cc->counts[c];
  } else {
    block = std::malloc(kHeader + (kSmallest << c));
    if (block == nullptr) return nullptr;
  }
  auto* h = static_cast<Header*>(block);
  *h = {c, kSmallest << c};
  return reinterpret_cast<char*>(h) + kHeader;
}

void release(void* p, void*) {
  if (p == nullptr) return;
  Header* h = headerOf(p);
  size_t c = h->klass;
  Cache* cc = cache();
  if (c == kLarge || cc == nullptr || cc->counts[c] >= Cache::kept(c)) {
    std::free(h);
    return;
  }
  auto* f = reinterpret_cast<Cache::Free*>(h);
  f->next = cc->lists[c];
  cc->lists[c] = f;
  ++cc->counts[c];
}

void* allocateZeroed(size_t n, size_t size, void* ud) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  void* p = allocate(n * size, ud);
  if (p != nullptr) std::memset(p, 0, n * size);
  return p;
}

void* reallocate(void* p, size_t size, void* ud) {
  if (p == nullptr) return allocate(size, ud);
  if (size == 0) {
    release(p, ud);
    return nullptr;
  }
  Header* h = headerOf(p);
  if (size <= h->size && h->klass != kLarge) return p;  // still fits its class
  void* q = allocate(size, ud);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, h->size < size ? h->size : size);
  release(p, ud);
  return q;
}

nghttp2_mem g_memory{nullptr, allocate, release, allocateZeroed, reallocate};

}  // namespace

nghttp2_mem* h2SessionMemory() { return &g_memory; }

size_t h2SessionMemoryCached() {
  Cache* cc = cache();
  size_t n = 0;
  if (cc != nullptr) {
    for (size_t c : cc->counts) n += c;
  }
  return n;
}

}  // namespace greenlb::proxy
