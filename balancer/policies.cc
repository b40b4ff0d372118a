#include "balancer/policies.h"

#include <iterator>

#include "balancer/least_conn.h"
#include "balancer/maglev.h"
#include "balancer/p2c.h"
#include "balancer/round_robin.h"
#include "balancer/weighted_random.h"
#include "conf/policy_table.h"

namespace greenlb::balancer {
namespace {

struct PolicyFactory {
  conf::Balance balance;
  std::unique_ptr<Picker> (*make)(size_t hub, uint64_t seed);
  void (*prepare)(EndpointSet& set);  // null: nothing shared between hubs
};

// One row per conf::kPolicies row, in its order (checked below). Pickers that spread by
// position (round robin) start from the hub; the random ones draw from the seed.
constexpr PolicyFactory kFactories[] = {
    {conf::Balance::round_robin,
     [](size_t hub, uint64_t) -> std::unique_ptr<Picker> {
       return std::make_unique<RoundRobinPicker>(hub);
     },
     nullptr},
    {conf::Balance::least_conn,
     [](size_t hub, uint64_t) -> std::unique_ptr<Picker> {
       return std::make_unique<LeastConnPicker>(hub);
     },
     nullptr},
    {conf::Balance::p2c,
     [](size_t, uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<P2cPicker>(seed);
     },
     nullptr},
    {conf::Balance::random,
     [](size_t, uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<WeightedRandomPicker>(seed);
     },
     nullptr},
    {conf::Balance::maglev,
     [](size_t, uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<MaglevPicker>(seed);
     },
     [](EndpointSet& set) { set.maglev = std::make_shared<const MaglevTable>(set.endpoints); }},
};

// conf and the balancer list the same policies: a policy conf accepts without a factory,
// or a factory conf never selects, fails the build here.
constexpr bool kCoversConfPolicies = [] {
  if (std::size(kFactories) != std::size(conf::kPolicies)) return false;
  for (size_t i = 0; i < std::size(kFactories); ++i) {
    if (kFactories[i].balance != conf::kPolicies[i].balance) return false;
  }
  return true;
}();
static_assert(kCoversConfPolicies,
              "kFactories must have one row per conf::kPolicies row, in the same order");

const PolicyFactory& factoryOf(conf::Balance balance) {
  return kFactories[static_cast<size_t>(balance)];
}

}  // namespace

std::unique_ptr<Picker> makePicker(conf::Balance balance, size_t hub, uint64_t seed) {
  return factoryOf(balance).make(hub, seed);
}

void preparePolicy(conf::Balance balance, EndpointSet& set) {
  if (auto prepare = factoryOf(balance).prepare) prepare(set);
}

}  // namespace greenlb::balancer
