// The allocator nghttp2 gets for greenlb's sessions: C allocator semantics, and freed
// blocks handed out again from the thread's cache.
#include "proxy/h2/session_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace greenlb::proxy {
namespace {

nghttp2_mem& mem() { return *h2SessionMemory(); }

TEST(SessionMemory, BlocksAreAlignedWritableAndZeroedByCalloc) {
  for (size_t size : {1, 63, 64, 65, 300, 4096, 8192, 8193, 100000}) {
    auto* p = static_cast<unsigned char*>(mem().malloc(size, mem().mem_user_data));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << size;
    std::memset(p, 0xab, size);
    mem().free(p, mem().mem_user_data);
    auto* z = static_cast<unsigned char*>(mem().calloc(size, 1, mem().mem_user_data));
    ASSERT_NE(z, nullptr);
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(z[i], 0) << size << " at " << i;
    mem().free(z, mem().mem_user_data);
  }
  mem().free(nullptr, mem().mem_user_data);
  EXPECT_EQ(mem().calloc(SIZE_MAX / 2, 4, mem().mem_user_data), nullptr);  // overflow
}

TEST(SessionMemory, ReallocKeepsTheBytesAcrossClassesAndLargeBlocks) {
  void* p = mem().realloc(nullptr, 10, mem().mem_user_data);
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "0123456789", 10);
  void* same = mem().realloc(p, 40, mem().mem_user_data);  // still within its 64-byte class
  EXPECT_EQ(same, p);
  void* bigger = mem().realloc(same, 5000, mem().mem_user_data);
  ASSERT_NE(bigger, nullptr);
  EXPECT_EQ(std::memcmp(bigger, "0123456789", 10), 0);
  void* large = mem().realloc(bigger, 50000, mem().mem_user_data);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(std::memcmp(large, "0123456789", 10), 0);
  void* smaller = mem().realloc(large, 20, mem().mem_user_data);
  ASSERT_NE(smaller, nullptr);
  EXPECT_EQ(std::memcmp(smaller, "0123456789", 10), 0);
  EXPECT_EQ(mem().realloc(smaller, 0, mem().mem_user_data), nullptr);  // freed
}

#if !defined(__SANITIZE_ADDRESS__)
TEST(SessionMemory, FreedBlocksAreReusedAndTheCacheIsBounded) {
  size_t before = h2SessionMemoryCached();
  void* a = mem().malloc(200, mem().mem_user_data);
  mem().free(a, mem().mem_user_data);
  EXPECT_EQ(h2SessionMemoryCached(), before + 1);
  void* b = mem().malloc(150, mem().mem_user_data);  // the same 256-byte class
  EXPECT_EQ(b, a);
  EXPECT_EQ(h2SessionMemoryCached(), before);
  mem().free(b, mem().mem_user_data);

  // Far more 8 KiB blocks than the class keeps (1 MiB of them): the rest are freed.
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(mem().malloc(8000, mem().mem_user_data));
  size_t cached_small = h2SessionMemoryCached();
  for (void* p : blocks) mem().free(p, mem().mem_user_data);
  EXPECT_EQ(h2SessionMemoryCached(), cached_small + 128);
}
#endif

}  // namespace
}  // namespace greenlb::proxy
