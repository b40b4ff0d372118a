#include "proxy/router.h"

#include <algorithm>
#include <cctype>

namespace greenlb::proxy {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != lower[i]) return false;
  }
  return true;
}

}  // namespace

RouteRules::RouteRules(const conf::RouteConfig& r)
    : rewrite_prefix(r.rewrite_prefix.value_or(std::string())),
      request(r.request_headers),
      response(r.response_headers) {
  // The loader allows rewrite_prefix only with a path_prefix, so an active rewrite always
  // replaces at least "/".
  if (r.rewrite_prefix) rewrite = {r.path_prefix.size(), rewrite_prefix};
}

void Router::addRoute(const conf::RouteConfig& r, int upstream) {
  Route route;
  if (RouteRules::needed(r)) route.rules = std::make_unique<const RouteRules>(r);
  route.wildcard = r.host.size() > 2 && r.host[0] == '*' && r.host[1] == '.';
  route.host = route.wildcard ? r.host.substr(1) : r.host;
  std::transform(route.host.begin(), route.host.end(), route.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  route.prefix = r.path_prefix;
  route.upstream = upstream;
  routes_.push_back(std::move(route));
}

std::string_view Router::hostOnly(std::string_view host) {
  if (!host.empty() && host[0] == '[') {  // [v6]:port
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

std::string_view Router::pathOf(std::string_view target) {
  if (!target.empty() && target[0] != '/') {
    size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      size_t slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  size_t query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

bool Router::hostMatches(const Route& r, std::string_view host) {
  if (r.host.empty()) return true;
  if (!r.wildcard) return equalsIgnoreCase(host, r.host);
  // "*.example.com" matches any name ending in ".example.com", not example.com itself.
  return host.size() > r.host.size() &&
         equalsIgnoreCase(host.substr(host.size() - r.host.size()), r.host);
}

Router::Match Router::match(std::string_view host, std::string_view target) const {
  if (routes_.empty()) return {default_, kNoRoute, nullptr};
  std::string_view h = hostOnly(host);
  std::string_view path = pathOf(target);
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    if (hostMatches(r, h) && path.substr(0, r.prefix.size()) == r.prefix) {
      return {r.upstream, static_cast<int>(i), r.rules.get()};
    }
  }
  return {default_, kNoRoute, nullptr};
}

}  // namespace greenlb::proxy
