#include "conf/config.h"

#include <algorithm>
#include <iterator>
#include <span>

#include "conf/policy_table.h"

namespace greenlb::conf {

std::string Address::str() const {
  // Only IPv6 literals contain ':'; DNS names and IPv4 never do.
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

template <class T>
const T* findByName(const std::vector<T>& items, std::string_view name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == name; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

const UpstreamConfig* Config::findUpstream(std::string_view name) const {
  return findByName(upstreams, name);
}

const ListenerConfig* Config::findListener(std::string_view name) const {
  return findByName(listeners, name);
}

namespace {

// The name of `value` in `names` (indexed by the enum), or "?" for a value out of range.
template <class Enum>
std::string_view nameIn(std::span<const std::string_view> names, Enum value) {
  auto i = static_cast<size_t>(value);
  return i < names.size() ? names[i] : "?";
}

}  // namespace

std::string_view toString(Protocol p) {
  return nameIn(kProtocolNames, p);
}

std::string_view toString(Balance b) {
  return nameIn(kBalanceNames, b);
}

std::string_view toString(LogFormat f) {
  return nameIn(kLogFormatNames, f);
}

std::string_view toString(TlsVersion v) {
  return nameIn(kTlsVersionNames, v);
}

std::string_view toString(UpstreamProtocol p) {
  return nameIn(kUpstreamProtocolNames, p);
}

std::string_view toString(ProxyProtocol p) {
  return nameIn(kProxyProtocolNames, p);
}

std::string_view toString(HashKey k) {
  return static_cast<size_t>(k) < std::size(kHashKeys) ? hashKeyOf(k).name : "?";
}

std::string_view toString(RateLimitKey k) {
  auto i = static_cast<size_t>(k);
  return i < std::size(kRateLimitKeyNames) ? kRateLimitKeyNames[i] : "?";
}

}  // namespace greenlb::conf
