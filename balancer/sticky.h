// Cookie-based session affinity ([upstream.sticky], docs/balancing.md "Sticky sessions"):
// the opaque id a cookie carries for an endpoint, and the lookup from id to endpoint.
//
// The id is a hash of the upstream's name and the endpoint's name ("10.0.0.7:8080"), the
// same in every greenlb process and across reloads that keep the endpoint, so a cookie
// set by one replica works on the others; it never shows the address itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace greenlb::balancer {

class Endpoint;

inline constexpr size_t kStickyIdLength = 16;  // hex digits

uint64_t stickyIdOf(std::string_view upstream, std::string_view endpoint);
// The cookie value of `id`: 16 lower-case hex digits, written into `out`.
std::string_view formatStickyId(uint64_t id, char (&out)[kStickyIdLength]);
// The id a cookie value names, or nullopt when it is not one of ours.
std::optional<uint64_t> parseStickyId(std::string_view value);

// The endpoints of a membership snapshot by sticky id, built with the snapshot.
class StickyIndex {
 public:
  StickyIndex() = default;
  explicit StickyIndex(const std::vector<std::pair<uint64_t, uint32_t>>& ids);
  // The index of the endpoint with `id` in its snapshot, or -1.
  int find(uint64_t id) const;
  bool empty() const { return ids_.empty(); }

 private:
  std::vector<std::pair<uint64_t, uint32_t>> ids_;  // sorted by id
};

}  // namespace greenlb::balancer
