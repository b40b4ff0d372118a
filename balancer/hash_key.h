// The maglev key of a request ([upstream.hash] key): "client_ip", "header:NAME",
// "cookie:NAME" or "path", hashed to 64 bits. Pure functions: the proxy passes what it
// parsed and sets PickContext::hash / has_hash from the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "conf/config.h"

namespace greenlb::balancer {

// A 64-bit hash of `bytes` (FNV-1a, then murmur3's finalizer so every input bit reaches
// every output bit); `seed` gives independent hashes of one input (maglev's offset and
// skip). Stable across processes and builds: greenlb instances agree on a key's endpoint.
uint64_t hashBytes(std::string_view bytes, uint64_t seed = 0);

// The value of cookie `name` in a Cookie header ("a=1; b=2"); nullopt when absent.
std::optional<std::string_view> cookieValue(std::string_view cookie_header, std::string_view name);

// The path of a request target: what precedes '?' or '#'.
std::string_view targetPath(std::string_view target);

// The request's key hash per `cfg`, or nullopt when the request has no such key (header or
// cookie absent, or no key configured): maglev then spreads it at random, as Envoy does.
// `header(name)` returns the value of the request's first header `name` (lower-case), or
// an empty view when absent; it is called at most once.
template <class HeaderValue>
std::optional<uint64_t> hashKey(const conf::HashConfig& cfg, std::string_view client_ip,
                                std::string_view target, HeaderValue&& header) {
  switch (cfg.key) {
    case conf::HashKey::client_ip:
      return hashBytes(client_ip);
    case conf::HashKey::path:
      return hashBytes(targetPath(target));
    case conf::HashKey::header: {
      std::string_view v = header(std::string_view(cfg.name));
      if (v.empty()) return std::nullopt;
      return hashBytes(v);
    }
    case conf::HashKey::cookie: {
      std::optional<std::string_view> v = cookieValue(header(std::string_view("cookie")), cfg.name);
      if (!v) return std::nullopt;
      return hashBytes(*v);
    }
    case conf::HashKey::none:
      break;
  }
  return std::nullopt;
}

}  // namespace greenlb::balancer
