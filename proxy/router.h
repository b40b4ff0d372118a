// A listener's routes (docs/configuration.md, "[[listener.route]]"): the first route whose
// host (exact, or
// "*.example.com" for any subdomain) and path prefix both match wins; otherwise the
// listener's default upstream. Matching allocates nothing. A route's rewrite and header
// rules are compiled here, once per generation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/http/header_rules.h"

namespace greenlb::proxy {

// What a route does to the requests it takes besides naming their upstream: its
// rewrite_prefix and header rules, compiled once per generation (docs/proxying.md, "Header
// rules and prefix rewrite").
struct RouteRules {
  // Holds views into itself: made in place, never copied or moved.
  explicit RouteRules(const conf::RouteConfig& r);
  RouteRules(const RouteRules&) = delete;
  RouteRules& operator=(const RouteRules&) = delete;

  std::string rewrite_prefix;   // what `rewrite` puts in place of path_prefix
  http::PrefixRewrite rewrite;  // inactive without rewrite_prefix
  http::HeaderRules request;    // request_headers
  http::HeaderRules response;   // response_headers

  // Whether a route with this config has anything for RouteRules to hold.
  static bool needed(const conf::RouteConfig& r) {
    return r.rewrite_prefix || !r.request_headers.empty() || !r.response_headers.empty();
  }
};

class Router {
 public:
  static constexpr int kNoUpstream = -1;
  static constexpr int kNoRoute = -1;

  // The upstream a request goes to, the route that took it (its index in the listener's
  // routes; kNoRoute: none matched and the listener's default upstream takes it) and that
  // route's rules (null: it has none, or no route matched).
  struct Match {
    int upstream = kNoUpstream;
    int route = kNoRoute;
    const RouteRules* rules = nullptr;
  };

  // `upstream_index` maps an upstream name to its index in the generation.
  template <class IndexOf>
  Router(const conf::ListenerConfig& listener, IndexOf upstream_index) {
    for (const auto& r : listener.routes) addRoute(r, upstream_index(r.upstream));
    default_ = listener.upstream.empty() ? kNoUpstream : upstream_index(listener.upstream);
  }

  // The upstream (and route rules) for a request with this Host header value and request
  // target.
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
    std::unique_ptr<const RouteRules> rules;  // null when the route has none
  };
  void addRoute(const conf::RouteConfig& r, int upstream);
  static bool hostMatches(const Route& r, std::string_view host);

  std::vector<Route> routes_;
  int default_ = kNoUpstream;
};

}  // namespace greenlb::proxy
