// The header names the codec treats specially, recognised once per header line.
#pragma once

#include <cstdint>
#include <string_view>

namespace greenlb::proxy::http {

enum class HeaderId : uint8_t {
  other,
  content_length,
  transfer_encoding,
  host,
  connection,
  keep_alive,
  proxy_connection,
  te,
  trailer,
  upgrade,
  expect,
  x_request_id,
  x_forwarded_for,
  x_forwarded_proto,
  x_forwarded_host,
};

// Classifies a header name, ignoring case.
HeaderId headerId(std::string_view name);

// Connection, Keep-Alive, Proxy-Connection, TE, Trailer and Upgrade: never forwarded as
// received (Upgrade is re-added when a tunnel is being set up).
bool isHopByHop(HeaderId id);

}  // namespace greenlb::proxy::http
