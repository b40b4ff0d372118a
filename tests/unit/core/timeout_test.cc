#include "core/timeout.h"

#include <gtest/gtest.h>

#include "core/event.h"
#include "core/hub.h"
#include "core/socket.h"
#include "run_main.h"

namespace greenlb::core {
namespace {

using testing::runMain;

TEST(Timeout, ExpiresAWaitAndSaysItWasItsOwn) {
  runMain([] {
    Event never;
    Timeout t(20ms);
    Status s = never.wait();
    EXPECT_EQ(s.error().code, ETIMEDOUT);
    EXPECT_TRUE(t.expired());
  });
}

TEST(Timeout, EveryLaterWaitInTheScopeFailsToo) {
  runMain([] {
    Event never;
    Timeout t(10ms);
    EXPECT_EQ(never.wait().error().code, ETIMEDOUT);
    EXPECT_EQ(sleep(1ms).error().code, ETIMEDOUT);
  });
}

TEST(Timeout, LeavingTheScopeClearsIt) {
  runMain([] {
    {
      Timeout t(5ms);
      Event never;
      (void)never.wait();
      EXPECT_TRUE(t.expired());
    }
    EXPECT_TRUE(sleep(1ms).ok());  // no leftover expiry
  });
}

TEST(Timeout, UnexpiredTimeoutLeavesNothingBehind) {
  runMain([] {
    {
      Timeout t(1h);
      EXPECT_TRUE(sleep(1ms).ok());
      EXPECT_FALSE(t.expired());
    }
    // Its timer is gone: sleeping past nothing else works and the loop is not kept busy.
    EXPECT_TRUE(sleep(2ms).ok());
  });
}

TEST(Timeout, NestedEarliestWins) {
  runMain([] {
    Event never;
    Timeout outer(1h);
    Timeout inner(10ms);
    EXPECT_EQ(never.wait().error().code, ETIMEDOUT);
    EXPECT_TRUE(inner.expired());
    EXPECT_FALSE(outer.expired());
  });
  runMain([] {
    Event never;
    Timeout outer(10ms);
    {
      Timeout inner(1h);
      EXPECT_EQ(never.wait().error().code, ETIMEDOUT);
      EXPECT_FALSE(inner.expired());
    }
    EXPECT_TRUE(outer.expired());
  });
}

TEST(Timeout, ZeroExpiresAtTheFirstWait) {
  runMain([] {
    Timeout t(0ms);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(sleep(1h).error().code, ETIMEDOUT);
  });
}

TEST(Timeout, CancelDisarms) {
  runMain([] {
    Timeout t(5ms);
    t.cancel();
    EXPECT_TRUE(sleep(15ms).ok());
    EXPECT_FALSE(t.expired());
  });
}

TEST(Timeout, BoundsASocketRead) {
  runMain([] {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    Stream a(sv[0]), b(sv[1]);
    char c;
    Timeout t(10ms);
    Result<size_t> r = a.readSome(&c, 1);
    EXPECT_EQ(r.error().code, ETIMEDOUT);
    EXPECT_TRUE(t.expired());
  });
}

TEST(Timeout, ManyTimeoutsOfOneDurationShareAQueue) {
  runMain([] {
    int expired = 0;
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 1000; ++i) {
      hs.push_back(spawn([&] {
        Event never;
        Timeout t(20ms);
        if (!never.wait().ok() && t.expired()) ++expired;
      }));
    }
    for (auto& h : hs) (void)h.join();
    EXPECT_EQ(expired, 1000);
  });
}

}  // namespace
}  // namespace greenlb::core
