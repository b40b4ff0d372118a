// A listener's routes (docs/configuration.md, "[[listener.route]]"): the first route whose
// host (exact, or
// "*.example.com" for any subdomain) and path prefix both match wins; otherwise the
// listener's default upstream. Matching allocates nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace greenlb::proxy {

class Router {
 public:
  static constexpr int kNoUpstream = -1;

  // `upstream_index` maps an upstream name to its index in the generation.
  template <class IndexOf>
  Router(const conf::ListenerConfig& listener, IndexOf upstream_index) {
    for (const auto& r : listener.routes) addRoute(r, upstream_index(r.upstream));
    default_ = listener.upstream.empty() ? kNoUpstream : upstream_index(listener.upstream);
  }

  // Which route took a request (its index in the listener's routes, kNoRoute for the
  // default upstream) and the upstream index it goes to.
  static constexpr int kNoRoute = -1;
  struct Match {
    int upstream = kNoUpstream;
    int route = kNoRoute;
  };
  // The match for a request with this Host header value and request target.
  Match match(std::string_view host, std::string_view target) const;
  // Its upstream index alone.
  int route(std::string_view host, std::string_view target) const {
    return match(host, target).upstream;
  }

  // The path of a request target: origin-form as is, absolute-form without scheme and
  // authority, and without the query in both.
  static std::string_view pathOf(std::string_view target);
  // A Host header value without its port, for matching.
  static std::string_view hostOnly(std::string_view host);

 private:
  struct Route {
    std::string host;    // lower-case; empty = any
    bool wildcard;       // host was "*.suffix": host holds ".suffix"
    std::string prefix;  // empty = any
    int upstream;
  };
  void addRoute(const conf::RouteConfig& r, int upstream);
  static bool hostMatches(const Route& r, std::string_view host);

  std::vector<Route> routes_;
  int default_ = kNoUpstream;
};

}  // namespace greenlb::proxy
