// LD_PRELOAD library that counts heap allocations of the whole process (every thread):
// malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign (operator new goes
// through malloc). A helper thread writes the running count as decimal text to the file
// named by $MALLOC_COUNTER_FILE every 10 ms, so a test can read it between phases without
// signals (greenlb owns its signal handling) and without the counter itself allocating.
// Used by tests/integration/test_allocations.py: zero allocations per proxied request.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static atomic_ulong allocations;

void* malloc(size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_realloc(p, n);
}
void* memalign(size_t align, size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) { return memalign(align, n); }
int posix_memalign(void** out, size_t align, size_t n) {
  void* p = memalign(align, n);
  if (p == NULL) return 12;  // ENOMEM
  *out = p;
  return 0;
}

static void* writer(void* arg) {
  int fd = (int)(long)arg;
  struct timespec period = {0, 10 * 1000 * 1000};
  for (;;) {
    char text[32];
    int len = snprintf(text, sizeof text, "%lu\n",
                       atomic_load_explicit(&allocations, memory_order_relaxed));
    if (pwrite(fd, text, (size_t)len, 0) < 0) return NULL;
    nanosleep(&period, NULL);
  }
}

__attribute__((constructor)) static void start_writer(void) {
  const char* path = getenv("MALLOC_COUNTER_FILE");
  if (path == NULL) return;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  pthread_t thread;
  if (pthread_create(&thread, NULL, writer, (void*)(long)fd) == 0) pthread_detach(thread);
}
