#include "balancer/maglev.h"

#include <algorithm>

#include "balancer/hash_key.h"

namespace greenlb::balancer {
namespace {

constexpr uint64_t kOffsetSeed = 1;
constexpr uint64_t kSkipSeed = 2;
constexpr uint32_t kEmpty = UINT32_MAX;

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

uint64_t MaglevTable::sizeFor(size_t endpoints) {
  uint64_t m = std::max<uint64_t>(kMinSize, kSizePerEndpoint * endpoints);
  while (!isPrime(m)) ++m;
  return m;
}

MaglevTable::MaglevTable(const std::vector<std::shared_ptr<Endpoint>>& endpoints)
    : endpoints_(endpoints.size()) {
  if (endpoints.empty()) return;
  const uint64_t m = sizeFor(endpoints.size());
  slots_.assign(m, kEmpty);
  struct Entry {
    uint64_t offset;
    uint64_t skip;
    uint64_t next = 0;    // position in its permutation
    uint64_t weight;
    uint64_t target = 0;  // Envoy's weighted turns: fill when round * weight >= target
  };
  std::vector<Entry> entries;
  entries.reserve(endpoints.size());
  uint64_t max_weight = 1;
  for (const auto& e : endpoints) {
    entries.push_back(Entry{hashBytes(e->name(), kOffsetSeed) % m,
                            hashBytes(e->name(), kSkipSeed) % (m - 1) + 1, 0, e->weight(), 0});
    max_weight = std::max<uint64_t>(max_weight, e->weight());
  }
  // An endpoint of the largest weight takes a slot every round, one of a third of it every
  // third round; each takes the next free slot of its own permutation (offset + j * skip).
  uint64_t filled = 0;
  for (uint64_t round = 1; filled < m; ++round) {
    for (size_t i = 0; i < entries.size() && filled < m; ++i) {
      Entry& en = entries[i];
      if (round * en.weight < en.target) continue;
      en.target += max_weight;
      uint64_t slot = (en.offset + en.next * en.skip) % m;
      while (slots_[slot] != kEmpty) {
        ++en.next;
        slot = (en.offset + en.next * en.skip) % m;
      }
      slots_[slot] = static_cast<uint32_t>(i);
      ++en.next;
      ++filled;
    }
  }
}

int MaglevPicker::pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) {
  const MaglevTable* table = set.maglev.get();
  size_t n = set.size();
  if (n == 0) return -1;
  uint64_t hash = ctx.has_hash ? ctx.hash : rng_.next();
  if (table != nullptr && table->endpoints() == n) {
    uint64_t m = table->size();
    uint64_t slot = hash % m;
    uint64_t probes = std::min(m, kMaxProbe);
    for (uint64_t k = 0; k < probes; ++k) {
      uint32_t i = table->at(slot);
      if (filter.accepts(set[i], ctx)) return static_cast<int>(i);
      if (++slot == m) slot = 0;
    }
  }
  // Most endpoints are out (or no table): the first accepted one from the key's position.
  for (size_t k = 0; k < n; ++k) {
    size_t i = (hash + k) % n;
    if (filter.accepts(set[i], ctx)) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace greenlb::balancer
