#include "conf/validate.h"

#include <algorithm>
#include <map>

#include "conf/policy_table.h"
#include "conf/suggest.h"
#include "conf/value_syntax.h"

namespace greenlb::conf {
namespace {

std::string lineOf(SourcePos p) {
  return "line " + std::to_string(p.line);
}

template <class Item, class Source>
void checkUniqueNames(std::string_view what, const std::vector<Item>& items,
                      const std::vector<Source>& sources, Diagnostics& diags) {
  std::map<std::string_view, SourcePos> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].name.empty()) continue;  // missing or invalid: reported by the loader
    auto [it, inserted] = seen.emplace(items[i].name, sources[i].name);
    if (!inserted) {
      diags.error(sources[i].name, "duplicate " + std::string(what) + " name '" + items[i].name +
                                       "' (first defined at " + lineOf(it->second) + ")");
    }
  }
}

// Something that binds a listen address, for the overlap check.
struct Binding {
  Address address;
  SourcePos pos;  // unset for the admin listener's default
  std::string owner;
};

bool isIpv6(const Address& a) {
  return a.host.find(':') != std::string::npos;
}

// Whether two listening sockets would fight over connections. A wildcard takes every
// address of its port ("::" both families, since sockets are dual-stack by default);
// a host name may resolve to any address, so it meets both wildcards.
bool overlaps(const Address& a, const Address& b) {
  if (a.port != b.port || a.port == 0) return false;  // port 0: the kernel picks
  if (a.host == b.host) return true;
  if (a.host == "::" || b.host == "::") return true;
  if (a.host == "0.0.0.0") return !isIpv6(b);
  if (b.host == "0.0.0.0") return !isIpv6(a);
  return false;
}

void checkListenAddresses(const Config& config, const SourceMap& sources, Diagnostics& diags) {
  std::vector<Binding> bindings;
  if (!config.admin.listen.host.empty()) {
    bindings.push_back({config.admin.listen, sources.admin_listen,
                        sources.admin_listen.known()
                            ? "[admin] (" + lineOf(sources.admin_listen) + ")"
                            : std::string("[admin] (its default)")});
  }
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const auto& l = config.listeners[i];
    if (l.listen.host.empty()) continue;
    std::string owner = l.name.empty() ? "a listener" : "listener '" + l.name + "'";
    bindings.push_back({l.listen, sources.listeners[i].listen,
                        owner + " (" + lineOf(sources.listeners[i].listen) + ")"});
  }
  // Report at the later of each pair; the default admin address counts as first.
  std::stable_sort(bindings.begin(), bindings.end(),
                   [](const Binding& a, const Binding& b) { return a.pos < b.pos; });
  for (size_t i = 0; i < bindings.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const auto& first = bindings[j];
      const auto& second = bindings[i];
      if (!overlaps(first.address, second.address)) continue;
      if (first.address == second.address) {
        diags.error(second.pos, "duplicate listen address '" + second.address.str() +
                                    "' (already used by " + first.owner + ")");
      } else {
        diags.error(second.pos, "listen address '" + second.address.str() + "' overlaps '" +
                                    first.address.str() + "' of " + first.owner);
      }
      break;
    }
  }
}

void checkUpstreamReference(const std::string& name, SourcePos pos,
                            const std::vector<std::string_view>& upstreams, Diagnostics& diags) {
  if (name.empty()) return;
  if (std::find(upstreams.begin(), upstreams.end(), name) != upstreams.end()) return;
  std::string message = "unknown upstream '" + name + "'";
  auto guess = closestMatch(name, upstreams);
  if (!guess.empty()) message += "; did you mean '" + std::string(guess) + "'?";
  diags.error(pos, std::move(message));
}

void checkListener(const ListenerConfig& l, const ListenerSource& s,
                   const std::vector<std::string_view>& upstreams, Diagnostics& diags) {
  checkUpstreamReference(l.upstream, s.upstream, upstreams, diags);
  for (size_t r = 0; r < l.routes.size(); ++r) {
    checkUpstreamReference(l.routes[r].upstream, s.routes[r].upstream, upstreams, diags);
  }
  if (l.protocol == Protocol::tcp) {
    if (!s.upstream.known()) {
      diags.error(s.header, "tcp listener is missing required key 'upstream'");
    }
    if (!s.routes.empty()) {
      diags.error(s.routes.front().header,
                  "a tcp listener cannot have routes (they match HTTP requests); it forwards "
                  "every connection to its 'upstream'");
    }
  } else if (!s.upstream.known() && s.routes.empty()) {
    diags.error(s.header, "http listener needs 'upstream' or at least one [[listener.route]]");
  }
}

void checkUpstream(const UpstreamConfig& u, const UpstreamSource& s, Diagnostics& diags) {
  if (policyOf(u.balance).hashes_key && !s.hash_key.known()) {
    diags.error(s.balance, "balance \"" + std::string(toString(u.balance)) +
                               "\" needs a hash key: add [upstream.hash] key = ...");
  }
  if (s.dns.known() && s.endpoints.known()) {
    diags.error(std::max(s.dns, s.endpoints),
                "'dns' and 'endpoints' exclude each other: use one of them");
  } else if (!s.dns.known() && !s.endpoints.known()) {
    diags.error(s.header, "upstream is missing required key 'endpoints' (or 'dns')");
  }
  std::map<std::string, SourcePos> seen;
  for (size_t e = 0; e < u.endpoints.size(); ++e) {
    auto text = u.endpoints[e].address.str();
    auto [it, inserted] = seen.emplace(text, s.endpoint_items[e]);
    if (!inserted) {
      diags.error(s.endpoint_items[e],
                  "duplicate endpoint '" + text + "' (first at " + lineOf(it->second) + ")");
    }
  }
}

// A listener's requests must offer what its upstream's policy reads (conf/policy_table.h):
// a tcp listener forwards connections, so an upstream it uses cannot hash a header, a
// cookie or a path. Reported once per upstream, at its hash key.
void checkRequestNeeds(const Config& config, const SourceMap& sources, Diagnostics& diags) {
  std::vector<bool> reported(config.upstreams.size());
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& l = config.listeners[i];
    for (size_t u = 0; u < config.upstreams.size(); ++u) {
      const UpstreamConfig& up = config.upstreams[u];
      if (reported[u] || up.name.empty() || up.name != l.upstream) continue;
      RequestNeeds needs = needsOf(up);
      if (needs <= offeredBy(l.protocol)) continue;
      reported[u] = true;
      std::string listener =
          l.name.empty() ? std::string("a ") + std::string(toString(l.protocol)) + " listener"
                         : std::string(toString(l.protocol)) + " listener '" + l.name + "'";
      diags.error(sources.upstreams[u].hash_key,
                  "hash key \"" + formatHashKey(up.hash) + "\" needs " +
                      std::string(describe(needs)) + ", but upstream '" + up.name + "' serves " +
                      listener + " (" + lineOf(sources.listeners[i].upstream) +
                      "), whose connections offer only " +
                      std::string(describe(offeredBy(l.protocol))) + " (key \"client_ip\")");
    }
  }
}

}  // namespace

void validateConfig(const Config& config, const SourceMap& sources, Diagnostics& diags) {
  // An empty or truncated file (a reload that reads a half-written config) would otherwise
  // be valid and close every listener.
  if (config.listeners.empty()) {
    diags.error(SourcePos{1, 1}, "no [[listener]] defined: a config needs at least one");
  }
  checkUniqueNames("listener", config.listeners, sources.listeners, diags);
  checkUniqueNames("upstream", config.upstreams, sources.upstreams, diags);
  checkListenAddresses(config, sources, diags);

  std::vector<std::string_view> upstream_names;
  for (const auto& u : config.upstreams) {
    if (!u.name.empty()) upstream_names.push_back(u.name);
  }
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    checkListener(config.listeners[i], sources.listeners[i], upstream_names, diags);
  }
  for (size_t i = 0; i < config.upstreams.size(); ++i) {
    checkUpstream(config.upstreams[i], sources.upstreams[i], diags);
  }
  checkRequestNeeds(config, sources, diags);
}

}  // namespace greenlb::conf
