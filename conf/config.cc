#include "conf/config.h"

#include <algorithm>
#include <iterator>

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

std::string_view toString(Protocol p) {
  switch (p) {
    case Protocol::http:
      return "http";
    case Protocol::tcp:
      return "tcp";
  }
  return "?";
}

std::string_view toString(Balance b) {
  return static_cast<size_t>(b) < std::size(kPolicies) ? policyOf(b).name : "?";
}

std::string_view toString(LogFormat f) {
  switch (f) {
    case LogFormat::json:
      return "json";
    case LogFormat::combined:
      return "combined";
  }
  return "?";
}

std::string_view toString(TlsVersion v) {
  switch (v) {
    case TlsVersion::v1_2:
      return "1.2";
    case TlsVersion::v1_3:
      return "1.3";
  }
  return "?";
}

std::string_view toString(HashKey k) {
  return static_cast<size_t>(k) < std::size(kHashKeys) ? hashKeyOf(k).name : "?";
}

}  // namespace greenlb::conf
