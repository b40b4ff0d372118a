// The hub's buffer pool: buffers come back for reuse, as many as the busiest moment
// needed, and a trim gives back what a whole period left unused.
#include "proxy/buffer_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace greenlb::proxy {
namespace {

TEST(BufferPool, KeepsWhatItsBusiestMomentNeeded) {
  BufferPool pool;
  std::vector<Buffer> held;
  for (int i = 0; i < 2000; ++i) held.push_back(pool.get());  // over the old fixed 512
  held.clear();
  EXPECT_EQ(pool.cached(), 2000u);
  char* reused = nullptr;
  {
    Buffer b = pool.get(100);
    EXPECT_EQ(b.size(), BufferPool::kMinSize);
    reused = b.data();
  }
  Buffer again = pool.get();
  EXPECT_EQ(again.data(), reused);  // the most recently returned: still warm
}

TEST(BufferPool, TrimGivesBackOnlyWhatAWholePeriodLeftUnused) {
  BufferPool pool;
  {
    std::vector<Buffer> held;
    for (int i = 0; i < 100; ++i) held.push_back(pool.get());
  }
  pool.trim();  // the first period starts: nothing is known unused yet
  EXPECT_EQ(pool.cached(), 100u);
  {
    std::vector<Buffer> held;
    for (int i = 0; i < 30; ++i) held.push_back(pool.get());  // 70 stayed free throughout
  }
  pool.trim();
  EXPECT_EQ(pool.cached(), 30u);
  pool.trim();  // a period in which nobody asked: all go
  EXPECT_EQ(pool.cached(), 0u);
}

TEST(BufferPool, SizesBeyondTheLargestClassAreExactAndNotKept) {
  BufferPool pool;
  size_t huge = (BufferPool::kMinSize << (BufferPool::kClasses - 1)) + 1;
  {
    Buffer b = pool.get(huge);
    EXPECT_EQ(b.size(), huge);
  }
  EXPECT_EQ(pool.cached(), 0u);
}

}  // namespace
}  // namespace greenlb::proxy
