#include "balancer/sticky.h"

#include <algorithm>

#include "balancer/hash_key.h"

namespace greenlb::balancer {
namespace {

constexpr char kHex[] = "0123456789abcdef";
// Not 0: hashBytes' default seed is maglev's, and the ids need not agree with its keys.
constexpr uint64_t kStickySeed = 0x9e3779b97f4a7c15ULL;

}  // namespace

uint64_t stickyIdOf(std::string_view upstream, std::string_view endpoint) {
  uint64_t id = hashBytes(endpoint, hashBytes(upstream, kStickySeed));
  return id == 0 ? 1 : id;  // 0 means "no cookie" in a pick
}

std::string_view formatStickyId(uint64_t id, char (&out)[kStickyIdLength]) {
  for (size_t i = 0; i < kStickyIdLength; ++i) {
    out[kStickyIdLength - 1 - i] = kHex[(id >> (4 * i)) & 0xf];
  }
  return {out, kStickyIdLength};
}

std::optional<uint64_t> parseStickyId(std::string_view value) {
  if (value.size() != kStickyIdLength) return std::nullopt;
  uint64_t id = 0;
  for (char c : value) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    id = (id << 4) | static_cast<uint64_t>(digit);
  }
  if (id == 0) return std::nullopt;
  return id;
}

StickyIndex::StickyIndex(const std::vector<std::pair<uint64_t, uint32_t>>& ids) : ids_(ids) {
  std::sort(ids_.begin(), ids_.end());
}

int StickyIndex::find(uint64_t id) const {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), std::pair<uint64_t, uint32_t>{id, 0});
  if (it == ids_.end() || it->first != id) return -1;
  return static_cast<int>(it->second);
}

}  // namespace greenlb::balancer
