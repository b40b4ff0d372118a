// The maglev key of a request: client_ip, header:NAME, cookie:NAME, path.
#include "balancer/hash_key.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace greenlb::balancer {
namespace {

struct Headers {
  std::map<std::string, std::string> values;
  int calls = 0;
  std::string_view operator()(std::string_view name) {
    ++calls;
    auto it = values.find(std::string(name));
    return it == values.end() ? std::string_view() : std::string_view(it->second);
  }
};

conf::HashConfig key(conf::HashKey k, std::string name = "") { return conf::HashConfig{k, std::move(name)}; }

TEST(HashKey, ClientIp) {
  Headers h;
  auto a = hashKey(key(conf::HashKey::client_ip), "10.1.2.3", "/x", h);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, hashBytes("10.1.2.3"));
  EXPECT_NE(*a, *hashKey(key(conf::HashKey::client_ip), "10.1.2.4", "/x", h));
  EXPECT_EQ(h.calls, 0);  // headers not looked at
}

TEST(HashKey, HeaderPresentOrAbsent) {
  Headers h{{{"x-user-id", "alice"}}};
  auto cfg = key(conf::HashKey::header, "x-user-id");
  EXPECT_EQ(hashKey(cfg, "1.1.1.1", "/", h), hashBytes("alice"));
  EXPECT_EQ(h.calls, 1);
  Headers none;
  EXPECT_FALSE(hashKey(cfg, "1.1.1.1", "/", none).has_value());  // spread at random
}

TEST(HashKey, Cookie) {
  auto cfg = key(conf::HashKey::cookie, "session");
  Headers h{{{"cookie", "theme=dark; session=abc123; lang=en"}}};
  EXPECT_EQ(hashKey(cfg, "1.1.1.1", "/", h), hashBytes("abc123"));
  EXPECT_EQ(h.calls, 1);
  Headers missing{{{"cookie", "theme=dark; sessionx=1"}}};
  EXPECT_FALSE(hashKey(cfg, "1.1.1.1", "/", missing).has_value());
  Headers no_header;
  EXPECT_FALSE(hashKey(cfg, "1.1.1.1", "/", no_header).has_value());
}

TEST(HashKey, CookieValueParsing) {
  EXPECT_EQ(cookieValue("a=1", "a"), "1");
  EXPECT_EQ(cookieValue("a=1;b=2", "b"), "2");
  EXPECT_EQ(cookieValue("a=1;  b=2 ", "b"), "2");
  EXPECT_EQ(cookieValue("a=\"quoted\"", "a"), "quoted");
  EXPECT_EQ(cookieValue("a=", "a"), "");
  EXPECT_EQ(cookieValue("ab=1; a=2", "a"), "2");
  EXPECT_EQ(cookieValue("a=1=2", "a"), "1=2");
  EXPECT_FALSE(cookieValue("", "a").has_value());
  EXPECT_FALSE(cookieValue("b=1; novalue", "a").has_value());
}

TEST(HashKey, PathIgnoresQueryAndFragment) {
  auto cfg = key(conf::HashKey::path);
  Headers h;
  EXPECT_EQ(hashKey(cfg, "1.1.1.1", "/users/7?page=2", h), hashBytes("/users/7"));
  EXPECT_EQ(hashKey(cfg, "9.9.9.9", "/users/7#top", h), hashBytes("/users/7"));
  EXPECT_NE(hashKey(cfg, "1.1.1.1", "/users/8", h), hashBytes("/users/7"));
  EXPECT_EQ(targetPath("/"), "/");
  EXPECT_EQ(targetPath("?q"), "");
}

TEST(HashKey, NoKeyConfigured) {
  Headers h;
  EXPECT_FALSE(hashKey(key(conf::HashKey::none), "1.1.1.1", "/", h).has_value());
}

TEST(HashKey, HashIsStableAndSeeded) {
  // Fixed values: instances and builds must agree on a key's endpoint.
  // Fixed values (FNV-1a 64 then murmur3's fmix64): a change here reshuffles every
  // deployment's Maglev keys on upgrade.
  EXPECT_EQ(hashBytes("alice"), 0x3507d047a67c08f4ULL);
  EXPECT_EQ(hashBytes(""), 0xefd01f60ba992926ULL);
  EXPECT_NE(hashBytes("a", 1), hashBytes("a", 2));
  EXPECT_NE(hashBytes("ab"), hashBytes("ba"));
}

}  // namespace
}  // namespace greenlb::balancer
