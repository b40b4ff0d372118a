#include "proxy/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace greenlb::proxy {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr char kV2SignatureBytes[] = "\r\n\r\n\0\r\nQUIT\n";
constexpr std::string_view kV2Signature(kV2SignatureBytes, 12);

constexpr uint8_t kV2Version = 0x20;
constexpr uint8_t kV2Local = 0x00;
constexpr uint8_t kV2Proxy = 0x01;
constexpr uint8_t kFamilyUnspec = 0x00;
constexpr uint8_t kFamilyInet = 0x10;
constexpr uint8_t kFamilyInet6 = 0x20;
constexpr uint8_t kFamilyUnix = 0x30;
constexpr uint8_t kStream = 0x01;
constexpr uint8_t kDgram = 0x02;

bool accepts(conf::ProxyProtocol accept, conf::ProxyProtocol version) {
  return accept == version || accept == conf::ProxyProtocol::any;
}

// `in` is a prefix of `whole` (or `whole` a prefix of `in`).
bool agreesWith(std::string_view in, std::string_view whole) {
  size_t n = std::min(in.size(), whole.size());
  return in.substr(0, n) == whole.substr(0, n);
}

core::SocketAddress inet(const uint8_t* ip, const uint8_t* port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  std::memcpy(&a.sin_addr, ip, 4);
  std::memcpy(&a.sin_port, port, 2);  // both in network order on the wire and in sockaddr
  return core::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

core::SocketAddress inet6(const uint8_t* ip, const uint8_t* port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  std::memcpy(&a.sin6_addr, ip, 16);
  std::memcpy(&a.sin6_port, port, 2);
  return core::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

// ---- v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n" ----

// A port: 1 to 5 digits, at most 65535.
bool parsePort(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

// The next field up to a single space (or the end of `line`), consumed from `line`.
std::string_view field(std::string_view& line) {
  size_t sp = line.find(' ');
  std::string_view f = line.substr(0, sp);
  line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  return f;
}

ProxyParse parseV1(std::string_view in, ProxyHeader* out) {
  const ProxyParse error{ProxyParseStatus::error};
  if (!agreesWith(in, kV1Prefix)) return error;
  std::string_view window = in.substr(0, kProxyV1MaxLength);
  size_t cr = window.find('\r');
  if (cr == std::string_view::npos) {
    // Anything but printable text before the CR: not a v1 line, whatever follows.
    if (window.find('\n') != std::string_view::npos) return error;
    return window.size() < kProxyV1MaxLength ? ProxyParse{} : error;
  }
  if (cr + 1 >= window.size()) return cr + 1 < kProxyV1MaxLength ? ProxyParse{} : error;
  // A LF before the CR is refused here as it is while the line is incomplete (above), so
  // that a line is never refused on a prefix and accepted whole (UNKNOWN ignores fields).
  if (window[cr + 1] != '\n' || window.substr(0, cr).find('\n') != std::string_view::npos) {
    return error;
  }
  std::string_view line = window.substr(kV1Prefix.size(), cr - kV1Prefix.size());
  const ProxyParse done{ProxyParseStatus::done, cr + 2};
  std::string_view proto = field(line);
  if (proto == "UNKNOWN") {
    // The sender could not tell (or may not say): whatever follows is ignored.
    *out = ProxyHeader{};
    return done;
  }
  int family = proto == "TCP4" ? AF_INET : proto == "TCP6" ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC) return error;
  std::string_view src = field(line);
  std::string_view dst = field(line);
  std::string_view sport = field(line);
  std::string_view dport = line;  // the rest: a fifth space would make it invalid
  uint16_t sp = 0;
  uint16_t dp = 0;
  if (!parsePort(sport, &sp) || !parsePort(dport, &dp)) return error;
  auto s = core::SocketAddress::fromIp(src, sp);
  auto d = core::SocketAddress::fromIp(dst, dp);
  if (!s || !d || s->family() != family || d->family() != family) return error;
  out->local = false;
  out->source = *s;
  out->destination = *d;
  return done;
}

// ---- v2: signature, version/command, family/transport, length, addresses, TLVs ----

ProxyParse parseV2(std::string_view in, ProxyHeader* out) {
  const ProxyParse error{ProxyParseStatus::error};
  if (!agreesWith(in, kV2Signature)) return error;
  if (in.size() < kProxyV2FixedLength) {
    if (in.size() > 12 && (static_cast<uint8_t>(in[12]) & 0xF0) != kV2Version) return error;
    return {};
  }
  const auto* b = reinterpret_cast<const uint8_t*>(in.data());
  uint8_t command = b[12] & 0x0F;
  if ((b[12] & 0xF0) != kV2Version || (command != kV2Local && command != kV2Proxy)) return error;
  uint8_t family = b[13] & 0xF0;
  uint8_t transport = b[13] & 0x0F;
  if (family > kFamilyUnix || transport > kDgram) return error;
  size_t len = (size_t{b[14]} << 8) | b[15];
  const ProxyParse done{ProxyParseStatus::done, kProxyV2FixedLength + len};
  size_t need = family == kFamilyInet ? 12 : family == kFamilyInet6 ? 36 : 0;
  if (command == kV2Local || need == 0 || transport != kStream) {
    // LOCAL (a health check of the proxy in front), or an address greenlb cannot use as a
    // client address (AF_UNIX, UNSPEC, datagrams): the real peer stands.
    *out = ProxyHeader{};
    return done;
  }
  if (len < need) return error;  // the block is shorter than its own family's addresses
  if (in.size() < kProxyV2FixedLength + need) return {};
  const uint8_t* a = b + kProxyV2FixedLength;
  out->local = false;
  if (family == kFamilyInet) {
    out->source = inet(a, a + 8);
    out->destination = inet(a + 4, a + 10);
  } else {
    out->source = inet6(a, a + 32);
    out->destination = inet6(a + 16, a + 34);
  }
  return done;
}

// ---- writing ----

// `a` as IPv6 bytes (v4-mapped when IPv4), and its port in network order.
void asInet6(const core::SocketAddress& a, uint8_t ip[16], uint16_t* port) {
  if (a.family() == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    std::memcpy(ip, &s->sin6_addr, 16);
    *port = s->sin6_port;
    return;
  }
  const auto* s = reinterpret_cast<const sockaddr_in*>(&a.storage);
  std::memset(ip, 0, 10);
  ip[10] = ip[11] = 0xFF;
  std::memcpy(ip + 12, &s->sin_addr, 4);
  *port = s->sin_port;
}

bool isIp(const core::SocketAddress& a) {
  return a.family() == AF_INET || a.family() == AF_INET6;
}

size_t writeV1(const core::SocketAddress* src, const core::SocketAddress* dst,
               std::span<char> out) {
  constexpr std::string_view kUnknown = "PROXY UNKNOWN\r\n";
  if (src == nullptr) {
    std::memcpy(out.data(), kUnknown.data(), kUnknown.size());
    return kUnknown.size();
  }
  bool v4 = src->family() == AF_INET && dst->family() == AF_INET;
  char s[INET6_ADDRSTRLEN];
  char d[INET6_ADDRSTRLEN];
  uint16_t sport = 0;
  uint16_t dport = 0;
  if (v4) {
    src->ipText(s, sizeof s);
    dst->ipText(d, sizeof d);
    sport = src->port();
    dport = dst->port();
  } else {
    uint8_t ip[16];
    asInet6(*src, ip, &sport);
    inet_ntop(AF_INET6, ip, s, sizeof s);
    asInet6(*dst, ip, &dport);
    inet_ntop(AF_INET6, ip, d, sizeof d);
    sport = ntohs(sport);
    dport = ntohs(dport);
  }
  int n = std::snprintf(out.data(), out.size(), "PROXY %s %s %s %u %u\r\n", v4 ? "TCP4" : "TCP6", s,
                        d, unsigned{sport}, unsigned{dport});
  return n > 0 && static_cast<size_t>(n) < out.size() ? static_cast<size_t>(n) : 0;
}

size_t writeV2(const core::SocketAddress* src, const core::SocketAddress* dst,
               std::span<char> out) {
  auto* b = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(b, kV2Signature.data(), kV2Signature.size());
  if (src == nullptr) {
    b[12] = kV2Version | kV2Local;
    b[13] = kFamilyUnspec;
    b[14] = b[15] = 0;
    return kProxyV2FixedLength;
  }
  b[12] = kV2Version | kV2Proxy;
  uint8_t* a = b + kProxyV2FixedLength;
  size_t len = 0;
  if (src->family() == AF_INET && dst->family() == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&src->storage);
    const auto* d = reinterpret_cast<const sockaddr_in*>(&dst->storage);
    b[13] = kFamilyInet | kStream;
    std::memcpy(a, &s->sin_addr, 4);
    std::memcpy(a + 4, &d->sin_addr, 4);
    std::memcpy(a + 8, &s->sin_port, 2);
    std::memcpy(a + 10, &d->sin_port, 2);
    len = 12;
  } else {
    b[13] = kFamilyInet6 | kStream;
    uint16_t sport = 0;
    uint16_t dport = 0;
    asInet6(*src, a, &sport);
    asInet6(*dst, a + 16, &dport);
    std::memcpy(a + 32, &sport, 2);
    std::memcpy(a + 34, &dport, 2);
    len = 36;
  }
  b[14] = static_cast<uint8_t>(len >> 8);
  b[15] = static_cast<uint8_t>(len);
  return kProxyV2FixedLength + len;
}

}  // namespace

ProxyParse parseProxyHeader(std::string_view in, conf::ProxyProtocol accept, ProxyHeader* out) {
  if (in.empty()) return {};
  if (in[0] == kV1Prefix[0] && accepts(accept, conf::ProxyProtocol::v1)) return parseV1(in, out);
  if (in[0] == kV2Signature[0] && accepts(accept, conf::ProxyProtocol::v2)) {
    return parseV2(in, out);
  }
  return {ProxyParseStatus::error};
}

size_t writeProxyHeader(conf::ProxyProtocol version, const core::SocketAddress* source,
                        const core::SocketAddress* destination, std::span<char> out) {
  if (out.size() < kProxyHeaderMaxWrite) return 0;
  if (source != nullptr && (destination == nullptr || !isIp(*source) || !isIp(*destination))) {
    return 0;
  }
  switch (version) {
    case conf::ProxyProtocol::v1:
      return writeV1(source, destination, out);
    case conf::ProxyProtocol::v2:
      return writeV2(source, destination, out);
    default:
      return 0;
  }
}

}  // namespace greenlb::proxy
