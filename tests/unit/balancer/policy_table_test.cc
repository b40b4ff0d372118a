// The policy table (conf/policy_table.h) and the balancer's factories (balancer/policies.cc):
// every policy conf accepts makes a working picker, and an upstream computes a request's
// hash key from the request view only when its policy reads one.
#include "conf/policy_table.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "balancer/hash_key.h"
#include "balancer/policies.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using testing::TestUpstream;
using testing::upstreamConfig;

TEST(PolicyTable, EveryPolicyConfAcceptsPicksAnEndpoint) {
  std::set<std::string_view> names;
  for (const conf::PolicyInfo& p : conf::kPolicies) {
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate name " << p.name;
    EXPECT_EQ(conf::toString(p.balance), p.name);
    TestUpstream t(upstreamConfig(p.balance), {1, 2, 3});
    PickContext ctx;
    ctx.now = core::Clock::now();
    EXPECT_FALSE(t.pickName(ctx).empty()) << p.name;
    ASSERT_NE(makePicker(p.balance, 0, 1), nullptr) << p.name;
  }
}

TEST(PolicyTable, WhatAnUpstreamNeedsFromARequest) {
  conf::UpstreamConfig u = upstreamConfig(conf::Balance::maglev);
  u.hash = {conf::HashKey::client_ip, ""};
  EXPECT_EQ(conf::needsOf(u), conf::RequestNeeds::address);
  for (auto key : {conf::HashKey::header, conf::HashKey::cookie, conf::HashKey::path}) {
    u.hash.key = key;
    EXPECT_EQ(conf::needsOf(u), conf::RequestNeeds::http_request) << conf::toString(key);
  }
  u.balance = conf::Balance::round_robin;  // the key is unused: nothing is read
  EXPECT_EQ(conf::needsOf(u), conf::RequestNeeds::none);
  EXPECT_LE(conf::RequestNeeds::address, conf::offeredBy(conf::Protocol::tcp));
  EXPECT_LT(conf::offeredBy(conf::Protocol::tcp), conf::RequestNeeds::http_request);
  EXPECT_EQ(conf::offeredBy(conf::Protocol::http), conf::RequestNeeds::http_request);
}

// A request view over a map of headers that counts its lookups.
struct FakeRequest {
  std::map<std::string, std::string, std::less<>> headers;
  mutable int lookups = 0;

  RequestView view(const core::SocketAddress* peer, std::string_view target) const {
    auto header = [](const void* r, std::string_view name) {
      const auto* self = static_cast<const FakeRequest*>(r);
      ++self->lookups;
      auto it = self->headers.find(name);
      return it == self->headers.end() ? std::string_view() : std::string_view(it->second);
    };
    return {peer, target, header, this};
  }
};

TEST(ComputeHashKey, HashesTheConfiguredKeyOfTheView) {
  auto peer = *core::SocketAddress::fromIp("10.1.2.3", 5555);
  FakeRequest request{{{"x-user", "alice"}}};

  TestUpstream by_header(upstreamConfig(conf::Balance::maglev), {1, 1});  // header:x-user
  PickContext ctx;
  by_header.upstream->computeHashKey(request.view(&peer, "/a?b"), ctx);
  EXPECT_TRUE(ctx.has_hash);
  EXPECT_EQ(ctx.hash, hashBytes("alice"));

  auto cfg = upstreamConfig(conf::Balance::maglev);
  cfg.hash = {conf::HashKey::client_ip, ""};
  TestUpstream by_ip(cfg, {1, 1});
  PickContext ip_ctx;
  by_ip.upstream->computeHashKey(request.view(&peer, "/a"), ip_ctx);
  EXPECT_TRUE(ip_ctx.has_hash);
  EXPECT_EQ(ip_ctx.hash, hashBytes("10.1.2.3"));

  cfg.hash = {conf::HashKey::path, ""};
  TestUpstream by_path(cfg, {1, 1});
  PickContext path_ctx;
  by_path.upstream->computeHashKey(request.view(&peer, "/a?b"), path_ctx);
  EXPECT_EQ(path_ctx.hash, hashBytes("/a"));
}

TEST(ComputeHashKey, AbsentKeyOrAPolicyThatDoesNotHashLeavesNoHash) {
  auto peer = *core::SocketAddress::fromIp("10.1.2.3", 5555);
  FakeRequest request;  // no x-user header
  TestUpstream maglev(upstreamConfig(conf::Balance::maglev), {1, 1});
  PickContext ctx;
  maglev.upstream->computeHashKey(request.view(&peer, "/"), ctx);
  EXPECT_FALSE(ctx.has_hash);  // maglev spreads it at random
  EXPECT_EQ(request.lookups, 1);

  FakeRequest with_header{{{"x-user", "alice"}}};
  for (const conf::PolicyInfo& p : conf::kPolicies) {
    if (p.hashes_key) continue;
    TestUpstream t(upstreamConfig(p.balance), {1, 1});  // hash key set, but unused
    PickContext c;
    t.upstream->computeHashKey(with_header.view(&peer, "/"), c);
    EXPECT_FALSE(c.has_hash) << p.name;
  }
  EXPECT_EQ(with_header.lookups, 0);  // nothing read
}

TEST(ComputeHashKey, AViewWithoutHeadersHasNoHttpKey) {
  // A tcp connection's view: the address only. conf refuses such an upstream behind a tcp
  // listener; were one built anyway, the request is spread rather than misread.
  auto peer = *core::SocketAddress::fromIp("10.1.2.3", 5555);
  TestUpstream t(upstreamConfig(conf::Balance::maglev), {1, 1});
  PickContext ctx;
  t.upstream->computeHashKey(RequestView{&peer, {}, nullptr, nullptr}, ctx);
  EXPECT_FALSE(ctx.has_hash);
}

}  // namespace
}  // namespace greenlb::balancer
