// Fuzzes the PROXY protocol parser (proxy/proxy_protocol.h), which reads untrusted bytes
// on every connection of a listener with proxy_protocol. Beyond "no crash": a header
// accepted whole is never refused on a prefix (a prefix is "need more", or already "done"
// with the same length when only v2 TLVs are missing), `any` agrees with the version the
// first byte names, a length never exceeds what the protocol allows, and an accepted
// header written back by greenlb's writer parses to the same addresses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/proxy_protocol.h"

using namespace greenlb;
using greenlb::conf::ProxyProtocol;
using greenlb::proxy::ProxyHeader;
using greenlb::proxy::ProxyParse;
using greenlb::proxy::ProxyParseStatus;

// A failed invariant traps; libFuzzer reports the line and keeps the input.
#define FUZZ_CHECK(cond) ((cond) ? void() : __builtin_trap())

namespace {

ProxyParse parse(std::string_view in, ProxyProtocol accept, ProxyHeader* h) {
  return proxy::parseProxyHeader(in, accept, h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ProxyHeader h;
  ProxyParse all = parse(in, ProxyProtocol::any, &h);

  // `any` is v1 or v2 by the first byte; `off` accepts nothing.
  ProxyHeader h1, h2, h0;
  ProxyParse one = parse(in, ProxyProtocol::v1, &h1);
  ProxyParse two = parse(in, ProxyProtocol::v2, &h2);
  ProxyParse off = parse(in, ProxyProtocol::off, &h0);
  FUZZ_CHECK(in.empty() || off.status == ProxyParseStatus::error);
  FUZZ_CHECK(in.empty() || one.status == ProxyParseStatus::error ||
             two.status == ProxyParseStatus::error);
  const ProxyParse& named = one.status != ProxyParseStatus::error ? one : two;
  FUZZ_CHECK(named.status == all.status && named.length == all.length);

  if (all.status != ProxyParseStatus::done) return 0;
  bool v1 = in[0] == 'P';
  FUZZ_CHECK(v1 ? all.length <= proxy::kProxyV1MaxLength && all.length <= in.size()
                : all.length >= proxy::kProxyV2FixedLength && all.length <= 16 + 65535);

  // Every prefix: need more, or done already with the same length.
  for (size_t k = 0; k < in.size(); ++k) {
    ProxyHeader p;
    ProxyParse r = parse(in.substr(0, k), ProxyProtocol::any, &p);
    FUZZ_CHECK(r.status != ProxyParseStatus::error);
    FUZZ_CHECK(r.status == ProxyParseStatus::need_more || r.length == all.length);
  }

  if (h.local) return 0;
  FUZZ_CHECK(h.source.family() == h.destination.family());
  char out[proxy::kProxyHeaderMaxWrite];
  ProxyProtocol version = v1 ? ProxyProtocol::v1 : ProxyProtocol::v2;
  size_t n = proxy::writeProxyHeader(version, &h.source, &h.destination, out);
  FUZZ_CHECK(n > 0);
  ProxyHeader again;
  ProxyParse r = parse(std::string_view(out, n), version, &again);
  FUZZ_CHECK(r.status == ProxyParseStatus::done && r.length == n && !again.local);
  FUZZ_CHECK(again.source == h.source && again.destination == h.destination);
  return 0;
}
