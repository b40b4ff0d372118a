#include "conf/schema.h"

#include <array>
#include <string>

namespace greenlb::conf {
namespace {

constexpr KeyKind V = KeyKind::value;
constexpr KeyKind T = KeyKind::table;
constexpr KeyKind A = KeyKind::array_of_tables;

constexpr SchemaKey kKeys[] = {
    {"", "global", T},
    {"", "admin", T},
    {"", "access_log", T},
    {"", "listener", A},
    {"", "upstream", A},

    {"global", "workers", V},
    {"global", "max_connections", V},
    {"global", "graceful_timeout", V},
    {"global", "drain_delay", V},
    {"global", "fiber_stack", V},
    {"global", "pin_workers", V, true},
    {"global", "resolv_conf", V, true},
    {"global", "hosts_file", V, true},

    {"admin", "listen", V},
    {"admin", "per_endpoint_metrics", V},
    {"admin", "allow_reload", V},

    {"access_log", "path", V},
    {"access_log", "format", V},

    {"listener", "name", V},
    {"listener", "listen", V},
    {"listener", "protocol", V},
    {"listener", "upstream", V},
    {"listener", "timeouts", T},
    {"listener", "limits", T},
    {"listener", "tls", T},
    {"listener", "route", A},

    {"listener.timeouts", "client_header", V},
    {"listener.timeouts", "client_idle", V},
    {"listener.timeouts", "tunnel_idle", V},
    {"listener.timeouts", "request_body", V},

    {"listener.limits", "max_header_bytes", V},
    {"listener.limits", "max_body_bytes", V},
    {"listener.limits", "max_requests_per_connection", V},

    {"listener.tls", "certificates", V},
    {"listener.tls", "min_version", V},
    {"listener.tls", "alpn", V},
    {"listener.tls", "ciphers", V, true},

    {"listener.tls.certificates", "cert", V},
    {"listener.tls.certificates", "key", V},

    {"listener.route", "host", V},
    {"listener.route", "path_prefix", V},
    {"listener.route", "upstream", V},

    {"upstream", "name", V},
    {"upstream", "panic", V},
    {"upstream", "balance", V},
    {"upstream", "endpoints", V},
    {"upstream", "dns", V},
    {"upstream", "resolve_every", V},
    {"upstream", "hash", T},
    {"upstream", "timeouts", T},
    {"upstream", "retry", T},
    {"upstream", "health", T},
    {"upstream", "outlier", T},
    {"upstream", "limits", T},
    {"upstream", "pool", T},
    {"upstream", "tls", T},

    {"upstream.endpoints", "address", V},
    {"upstream.endpoints", "weight", V},

    {"upstream.hash", "key", V},

    {"upstream.timeouts", "connect", V},
    {"upstream.timeouts", "response", V},
    {"upstream.timeouts", "idle", V},

    {"upstream.retry", "attempts", V},
    {"upstream.retry", "on", V},
    {"upstream.retry", "backoff", V},
    {"upstream.retry", "budget_percent", V},

    {"upstream.health", "path", V},
    {"upstream.health", "interval", V},
    {"upstream.health", "timeout", V},
    {"upstream.health", "rise", V},
    {"upstream.health", "fall", V},

    {"upstream.outlier", "consecutive_failures", V},
    {"upstream.outlier", "ejection", V},
    {"upstream.outlier", "max_ejected_percent", V},
    {"upstream.outlier", "slow_start", V},

    {"upstream.limits", "max_connections", V},
    {"upstream.limits", "max_pending", V},

    {"upstream.pool", "max_idle_per_endpoint", V},
    {"upstream.pool", "idle_timeout", V},

    {"upstream.tls", "verify", V},
    {"upstream.tls", "ca", V},
    {"upstream.tls", "sni", V},
    {"upstream.tls", "cert", V},
    {"upstream.tls", "key", V},
};

// "a.b" is directly below "a".
bool isChildOf(std::string_view child, std::string_view parent) {
  if (parent.empty()) return !child.empty() && child.find('.') == std::string_view::npos;
  return child.size() > parent.size() + 1 && child.starts_with(parent) &&
         child[parent.size()] == '.' &&
         child.find('.', parent.size() + 1) == std::string_view::npos;
}

// Whether `path` is written as a [table] or [[table]] (not as the inline tables of a
// value such as 'endpoints', where a "belongs in" hint would not say how to write it).
bool isTable(std::string_view path) {
  for (const auto& k : kKeys) {
    if (k.kind != KeyKind::value && k.path() == path) return true;
  }
  return false;
}

}  // namespace

std::string SchemaKey::path() const {
  if (table.empty()) return std::string(key);
  return std::string(table) + "." + std::string(key);
}

std::span<const SchemaKey> knownKeys() {
  return kKeys;
}

std::vector<std::string_view> keysOf(std::string_view table) {
  std::vector<std::string_view> keys;
  for (const auto& k : kKeys) {
    if (k.table == table) keys.push_back(k.key);
  }
  return keys;
}

std::string_view relatedTableWith(std::string_view table, std::string_view key) {
  for (const auto& k : kKeys) {
    if (k.key == key && k.kind == KeyKind::value && isTable(k.table) &&
        (isChildOf(k.table, table) || isChildOf(table, k.table))) {
      return k.table;
    }
  }
  return {};
}

std::string headerOf(std::string_view table) {
  bool array = false;
  for (const auto& k : kKeys) {
    if (k.kind == KeyKind::array_of_tables && k.path() == table) array = true;
  }
  std::string out(array ? "[[" : "[");
  out += table;
  out += array ? "]]" : "]";
  return out;
}

}  // namespace greenlb::conf
