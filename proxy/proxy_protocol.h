// The PROXY protocol codec (HAProxy's protocol, versions 1 and 2): the header a proxy in
// front of greenlb sends first on a connection to carry its client's address, and the one
// greenlb sends to an upstream that expects it (docs/proxy-protocol.md). Pure functions on
// bytes: the listener side reads with them (proxy/proxy_header_reader.h), the upstream side
// writes with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "conf/config.h"
#include "core/socket.h"

namespace greenlb::proxy {

// The longest v1 line, CRLF included (the protocol's own bound).
inline constexpr size_t kProxyV1MaxLength = 107;
// v2's fixed part: the 12-byte signature, version and command, family, length.
inline constexpr size_t kProxyV2FixedLength = 16;
// What must be in hand to parse any header: a whole v1 line, or v2's fixed part and its
// largest address block (two AF_UNIX paths of 108 bytes). TLVs after the addresses are
// skipped without being looked at.
inline constexpr size_t kProxyHeaderPeekBytes = kProxyV2FixedLength + 216;
// The longest header writeProxyHeader makes (a v1 TCP6 line).
inline constexpr size_t kProxyHeaderMaxWrite = kProxyV1MaxLength;

struct ProxyHeader {
  // LOCAL (v2), UNKNOWN (v1), or a family greenlb does not take addresses from (AF_UNIX,
  // UNSPEC, datagrams): the connection's own addresses stand.
  bool local = true;
  core::SocketAddress source;       // the original client's, unless local
  core::SocketAddress destination;  // what that client connected to, unless local
};

enum class ProxyParseStatus : uint8_t { done, need_more, error };

struct ProxyParse {
  ProxyParseStatus status = ProxyParseStatus::need_more;
  // done: the whole header's length on the wire (v2: with its TLVs), to be consumed; it may
  // exceed what was passed in when TLVs follow the addresses.
  size_t length = 0;
};

// Parses the header at the start of `in` (the bytes arrived so far) as `accept` allows
// (v1, v2 or any; off accepts nothing). Decides as early as it can: bytes that cannot
// begin an accepted header are an error at once, so a client that speaks HTTP straight
// away is not kept waiting for client_header.
ProxyParse parseProxyHeader(std::string_view in, conf::ProxyProtocol accept, ProxyHeader* out);

// Writes the header of `version` (v1 or v2) into `out` (kProxyHeaderMaxWrite bytes are
// enough): PROXY from `source` to `destination`, or, when `source` is null, v2's LOCAL
// command and v1's "PROXY UNKNOWN" (a health check speaks for no client). An IPv4 address
// paired with an IPv6 one is sent as its v4-mapped IPv6 form. Returns the length, 0 when
// an address is not IPv4 or IPv6 (the caller sends LOCAL/UNKNOWN instead).
size_t writeProxyHeader(conf::ProxyProtocol version, const core::SocketAddress* source,
                        const core::SocketAddress* destination, std::span<char> out);

}  // namespace greenlb::proxy
