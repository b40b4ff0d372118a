// maglev: consistent hashing with Google's Maglev lookup table (Eisenbud et al., NSDI 2016).
//
// The table has M slots, M prime and at least 100x the endpoints (next prime >= max(65537,
// 100 n)); each endpoint fills slots in the order of its own permutation of 0..M-1, derived
// from its name, taking turns in proportion to its weight. A request's key hash selects
// slot hash % M. The table is immutable, built off the hot path when membership changes
// (Upstream::setEndpoints) and shared by every hub through the EndpointSet; picking is one
// table read. Removing one of n endpoints rebuilds a table in which almost only its slots
// change owner, so almost only its keys move.
//
// An endpoint that is unavailable (unhealthy, ejected, full, already tried) keeps its slots;
// its keys fall through to the next slots of the table, deterministically, so only its keys
// move and they come back when it does. Slow start does not apply: changing weights would
// move keys.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "balancer/fast_rng.h"
#include "balancer/picker.h"

namespace greenlb::balancer {

class MaglevTable {
 public:
  static constexpr uint64_t kMinSize = 65537;
  static constexpr uint64_t kSizePerEndpoint = 100;

  // Slots for the endpoints' names and weights (the names fix the permutations, so every
  // process builds the same table for the same membership). Empty for no endpoints.
  explicit MaglevTable(const std::vector<std::shared_ptr<Endpoint>>& endpoints);

  // The table size for `endpoints` endpoints.
  static uint64_t sizeFor(size_t endpoints);

  uint64_t size() const { return slots_.size(); }
  size_t endpoints() const { return endpoints_; }
  // The endpoint index owning slot `slot` (< size()).
  uint32_t at(uint64_t slot) const { return slots_[slot]; }

 private:
  size_t endpoints_;
  std::vector<uint32_t> slots_;
};

// Per hub: reads the set's shared table.
class MaglevPicker final : public Picker {
 public:
  explicit MaglevPicker(uint64_t seed) : rng_(seed) {}
  void reset(const EndpointSet& set) override {}
  int pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) override;

  // Slots walked past an unavailable owner before falling back to a scan of the endpoints
  // (bounds a pick when most endpoints are out).
  static constexpr uint64_t kMaxProbe = 4096;

 private:
  FastRng rng_;  // for requests without a key
};

}  // namespace greenlb::balancer
