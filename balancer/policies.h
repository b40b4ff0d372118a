// Making a balancing policy: the factory of each `balance` value. conf/policy_table.h names
// the policies and says what each reads from a request; balancer/policies.cc keeps, keyed
// by the same enum, what only the balancer knows: how to make each one's per-hub picker
// and what it shares between hubs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "balancer/endpoint_set.h"
#include "balancer/picker.h"
#include "conf/config.h"

namespace greenlb::balancer {

// The policy of `balance` for hub `hub`; `seed` decorrelates the hubs' random choices.
std::unique_ptr<Picker> makePicker(conf::Balance balance, size_t hub, uint64_t seed);

// Builds, for a new membership `set`, what the policy's pickers share across hubs (maglev's
// lookup table). Off the hot path, before the set is published; nothing for most policies.
void preparePolicy(conf::Balance balance, EndpointSet& set);

}  // namespace greenlb::balancer
