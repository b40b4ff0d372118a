#include "proxy/http/request_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

namespace greenlb::proxy::http {
namespace {

std::string generate() {
  char buf[kRequestIdLength];
  const size_t n = generateRequestId(buf);
  EXPECT_EQ(n, kRequestIdLength);
  return std::string(buf, n);
}

TEST(RequestId, GeneratedIdsAre32LowercaseHex) {
  const std::string id = generate();
  ASSERT_EQ(id.size(), 32u);
  for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
  EXPECT_TRUE(isValidRequestId(id));
}

TEST(RequestId, GeneratedIdsAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) seen.insert(generate());
  EXPECT_EQ(seen.size(), 100000u);
}

TEST(RequestId, ThreadsGenerateDistinctIds) {
  std::string a, b;
  std::thread t1([&] { a = generate(); });
  std::thread t2([&] { b = generate(); });
  t1.join();
  t2.join();
  EXPECT_NE(a, b);
}

TEST(RequestId, TooSmallBufferGivesZero) {
  char buf[kRequestIdLength - 1];
  EXPECT_EQ(generateRequestId(buf), 0u);
}

TEST(RequestId, Validation) {
  EXPECT_TRUE(isValidRequestId("a"));
  EXPECT_TRUE(isValidRequestId("abc-123_XYZ.~!/:@"));
  EXPECT_TRUE(isValidRequestId(std::string(128, 'x')));
  EXPECT_FALSE(isValidRequestId(""));
  EXPECT_FALSE(isValidRequestId(std::string(129, 'x')));
  EXPECT_FALSE(isValidRequestId("a b"));
  EXPECT_FALSE(isValidRequestId("a\tb"));
  EXPECT_FALSE(isValidRequestId("a\x7f"));
  EXPECT_FALSE(isValidRequestId("caf\xc3\xa9"));
  EXPECT_FALSE(isValidRequestId(std::string("a\0b", 3)));
  EXPECT_FALSE(isValidRequestId("a\r\nX-Injected: 1"));
}

}  // namespace
}  // namespace greenlb::proxy::http
