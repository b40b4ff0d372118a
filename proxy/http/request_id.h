// X-Request-Id values: validation of received ones and fast generation of new ones.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace greenlb::proxy::http {

inline constexpr size_t kRequestIdLength = 32;  // generated ids: 128 random bits in hex
inline constexpr size_t kMaxRequestIdLength = 128;

// Writes a fresh id of kRequestIdLength lowercase hex characters into out and returns
// kRequestIdLength, or 0 when out is too small. Per-thread generator seeded once from
// getrandom(2): no syscall and no lock per call.
size_t generateRequestId(std::span<char> out);

// A received id is kept when it has 1-128 visible ASCII characters and no spaces
// (docs/proxying.md, "Headers").
bool isValidRequestId(std::string_view id);

}  // namespace greenlb::proxy::http
