#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/channel.h"
#include "core/event.h"
#include "core/green_pool.h"
#include "core/semaphore.h"
#include "core/timeout.h"
#include "run_main.h"

namespace greenlb::core {
namespace {

using testing::runMain;

TEST(Event, WakesEveryWaiterAndStaysSet) {
  runMain([] {
    Event ev;
    int woken = 0;
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 5; ++i) {
      hs.push_back(spawn([&] {
        if (ev.wait().ok()) ++woken;
      }));
    }
    yield();
    EXPECT_EQ(woken, 0);
    ev.set();
    for (auto& h : hs) (void)h.join();
    EXPECT_EQ(woken, 5);
    EXPECT_TRUE(ev.wait().ok());  // already set
    ev.clear();
    Timeout t(5ms);
    EXPECT_EQ(ev.wait().error().code, ETIMEDOUT);
  });
}

TEST(Semaphore, LimitsConcurrencyAndServesFifo) {
  runMain([] {
    Semaphore sem(2);
    int inside = 0, peak = 0;
    std::vector<int> order;
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 6; ++i) {
      hs.push_back(spawn([&, i] {
        SemaphoreGuard g(sem);
        order.push_back(i);
        peak = std::max(peak, ++inside);
        (void)sleep(2ms);
        --inside;
      }));
    }
    for (auto& h : hs) (void)h.join();
    EXPECT_EQ(peak, 2);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(sem.available(), 2);
  });
}

TEST(Semaphore, TimedOutWaiterDoesNotLoseAUnit) {
  runMain([] {
    Semaphore sem(1);
    ASSERT_TRUE(sem.acquire().ok());
    auto h = spawn([&] {
      Timeout t(5ms);
      return sem.acquire().ok();
    });
    EXPECT_FALSE(*h.join());
    sem.release();
    EXPECT_EQ(sem.available(), 1);
    EXPECT_TRUE(sem.tryAcquire());
  });
}

TEST(Channel, PassesValuesInOrderWithBackpressure) {
  runMain([] {
    Channel<std::string> ch(2);
    std::vector<std::string> got;
    auto consumer = spawn([&] {
      for (;;) {
        Result<std::string> v = ch.recv();
        if (!v.ok()) return v.error().code;
        got.push_back(*v);
      }
    });
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(ch.send(std::to_string(i)).ok());
      EXPECT_LE(ch.size(), 2u);
    }
    ch.close();
    EXPECT_EQ(*consumer.join(), EPIPE);
    ASSERT_EQ(got.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], std::to_string(i));
    EXPECT_EQ(ch.send("late").error().code, EPIPE);
  });
}

TEST(Channel, CloseLetsReceiversDrainFirst) {
  runMain([] {
    Channel<int> ch(4);
    ASSERT_TRUE(ch.send(1).ok());
    ASSERT_TRUE(ch.send(2).ok());
    ch.close();
    EXPECT_EQ(*ch.recv(), 1);
    EXPECT_EQ(*ch.recv(), 2);
    EXPECT_EQ(ch.recv().error().code, EPIPE);
  });
}

TEST(Channel, BlockedSenderTimesOut) {
  runMain([] {
    Channel<int> ch(1);
    ASSERT_TRUE(ch.send(1).ok());
    Timeout t(5ms);
    EXPECT_EQ(ch.send(2).error().code, ETIMEDOUT);
    EXPECT_EQ(ch.size(), 1u);
  });
}

TEST(GreenPool, BoundsConcurrencyAndWaitsForAll) {
  runMain([] {
    GreenPool pool(3);
    int inside = 0, peak = 0, done = 0;
    for (int i = 0; i < 10; ++i) {
      (void)pool.spawn([&] {
        peak = std::max(peak, ++inside);
        (void)sleep(1ms);
        --inside;
        ++done;
      });
      EXPECT_LE(pool.running(), 3u);
    }
    ASSERT_TRUE(pool.waitAll().ok());
    EXPECT_EQ(done, 10);
    EXPECT_EQ(peak, 3);
    EXPECT_EQ(pool.running(), 0u);
    EXPECT_EQ(pool.free(), 3u);
  });
}

TEST(GreenPool, HandlesJoinResults) {
  runMain([] {
    GreenPool pool(2);
    auto a = pool.spawn([] { return 1; });
    auto b = pool.spawn([] { return 2; });
    EXPECT_EQ(*a.join() + *b.join(), 3);
  });
}

TEST(GreenPool, DestroyingKillsRunningFibers) {
  runMain([] {
    int cancelled = 0;
    {
      GreenPool pool(4);
      for (int i = 0; i < 4; ++i) {
        (void)pool.spawn([&] {
          if (sleep(1h).error().cancelled()) ++cancelled;
        });
      }
      yield();
    }
    EXPECT_EQ(cancelled, 4);
  });
}

}  // namespace
}  // namespace greenlb::core
