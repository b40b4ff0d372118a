// The balancing policies conf accepts (`balance`), the hash keys (`[upstream.hash] key`),
// and what each reads from a request (HAProxy's BE_LB_NEED_*).
//
// conf derives from these rows the allowed `balance` values, their names, and the checks
// that depend on what a policy reads: balance "maglev" needs a key, and an upstream that
// hashes what only an HTTP request has cannot serve a tcp listener. The balancer keeps the
// factory of each policy in balancer/policies.cc, keyed by the same enum; a static_assert
// there checks that both tables list the same policies in the same order. The two halves
// live apart because conf depends on nothing of ours (docs/architecture.md, "Layers"):
// see docs/balancing.md, "Adding a policy".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "conf/config.h"

namespace greenlb::conf {

// What a request must offer before a policy can pick for it. Ordered: each level offers
// everything the ones before it do.
enum class RequestNeeds : uint8_t {
  none,          // nothing: the policy reads only the endpoints' state
  address,       // the client's address (every listener has it)
  http_request,  // the HTTP request's target and headers (http listeners only)
};

struct PolicyInfo {
  Balance balance;
  std::string_view name;  // the `balance` value
  // Picks by the request's [upstream.hash] key (required then), so it needs what the key
  // needs; a policy that does not hash needs nothing.
  bool hashes_key;
};

// One row per Balance, in enum order.
inline constexpr PolicyInfo kPolicies[] = {
    {Balance::round_robin, "round_robin", false},
    {Balance::least_conn, "least_conn", false},
    {Balance::p2c, "p2c", false},
    {Balance::random, "random", false},
    {Balance::maglev, "maglev", true},
};

// The `balance` values, by Balance.
inline constexpr auto kBalanceNames = [] {
  std::array<std::string_view, std::size(kPolicies)> names{};
  for (size_t i = 0; i < names.size(); ++i) names[i] = kPolicies[i].name;
  return names;
}();

struct HashKeyInfo {
  HashKey key;
  std::string_view name;  // the value, or its part before ":NAME"
  bool takes_name;        // written "name:NAME" ("header:x-user-id")
  RequestNeeds needs;
};

// One row per HashKey, in enum order (`none` is the absent key, never written).
inline constexpr HashKeyInfo kHashKeys[] = {
    {HashKey::none, "none", false, RequestNeeds::none},
    {HashKey::client_ip, "client_ip", false, RequestNeeds::address},
    {HashKey::header, "header", true, RequestNeeds::http_request},
    {HashKey::cookie, "cookie", true, RequestNeeds::http_request},
    {HashKey::path, "path", false, RequestNeeds::http_request},
};

constexpr const PolicyInfo& policyOf(Balance b) {
  return kPolicies[static_cast<size_t>(b)];
}
constexpr const HashKeyInfo& hashKeyOf(HashKey k) {
  return kHashKeys[static_cast<size_t>(k)];
}

// What a request must offer for `u` to pick an endpoint for it.
inline RequestNeeds needsOf(const UpstreamConfig& u) {
  return policyOf(u.balance).hashes_key ? hashKeyOf(u.hash.key).needs : RequestNeeds::none;
}

// What a listener's requests offer: an http listener's the whole request, a tcp
// listener's (a connection) only the client's address.
constexpr RequestNeeds offeredBy(Protocol p) {
  return p == Protocol::http ? RequestNeeds::http_request : RequestNeeds::address;
}

// "an HTTP request", for messages.
constexpr std::string_view describe(RequestNeeds needs) {
  constexpr std::string_view kText[] = {"nothing", "the client's address", "an HTTP request"};
  return kText[static_cast<size_t>(needs)];
}

// Both tables are indexed by their enum: catch a row out of place at compile time.
inline constexpr bool kPolicyTablesInEnumOrder = [] {
  for (size_t i = 0; i < std::size(kPolicies); ++i) {
    if (static_cast<size_t>(kPolicies[i].balance) != i) return false;
  }
  for (size_t i = 0; i < std::size(kHashKeys); ++i) {
    if (static_cast<size_t>(kHashKeys[i].key) != i) return false;
  }
  return true;
}();
static_assert(kPolicyTablesInEnumOrder, "kPolicies and kHashKeys must be in enum order");

}  // namespace greenlb::conf
