// printConfig: the effective config as TOML, every default written out, in the layout of
// SPEC section 2. Written by hand rather than with toml++ so that toml++ stays in one
// file (conf/loader.cc) and the output keeps the SPEC's key order and indentation.
#include <string>
#include <vector>

#include "conf/loader.h"
#include "conf/units.h"
#include "conf/value_syntax.h"

namespace greenlb::conf {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped. The loader
// only accepts valid UTF-8, so everything else passes through unchanged.
std::string str(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string boolean(bool b) {
  return b ? "true" : "false";
}
std::string integer(uint64_t n) {
  return std::to_string(n);
}
std::string duration(Duration d) {
  return str(formatDuration(d));
}

// Plain digits stay an integer; "64KiB" becomes a string.
std::string size(uint64_t bytes) {
  auto text = formatSize(bytes);
  return text.back() >= '0' && text.back() <= '9' ? text : str(text);
}

std::string stringList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + str(items[i]);
  return out + "]";
}

// An array of inline tables, one per line (TOML allows no line breaks inside them).
std::string inlineTables(const std::vector<std::string>& tables, std::string_view indent) {
  std::string out = "[\n";
  for (const auto& t : tables) out += std::string(indent) + "  { " + t + " },\n";
  return out + std::string(indent) + "]";
}

class Writer {
 public:
  // Starts "[header]" or "[[header]]"; nested tables are indented by two spaces like
  // the example in SPEC section 2.
  void table(std::string_view header, bool array = false) {
    indent_ = header.find('.') == std::string_view::npos ? "" : "  ";
    if (!out_.empty()) out_ += "\n";
    out_ += indent_ + (array ? "[[" : "[") + std::string(header) + (array ? "]]" : "]") + "\n";
  }
  void key(std::string_view k, const std::string& value) {
    out_ += indent_ + std::string(k) + " = " + value + "\n";
  }
  // Writes the key only when it has a value: for optional strings with no default.
  void optional(std::string_view k, const std::string& value) {
    if (!value.empty()) key(k, str(value));
  }
  const std::string& indent() const { return indent_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string indent_;
};

void writeListener(Writer& w, const ListenerConfig& l) {
  w.table("listener", true);
  w.key("name", str(l.name));
  w.key("listen", str(l.listen.str()));
  w.key("protocol", str(toString(l.protocol)));
  w.optional("upstream", l.upstream);

  w.table("listener.timeouts");
  w.key("client_header", duration(l.timeouts.client_header));
  w.key("client_idle", duration(l.timeouts.client_idle));
  w.key("tunnel_idle", duration(l.timeouts.tunnel_idle));
  w.key("request_body", duration(l.timeouts.request_body));

  w.table("listener.limits");
  w.key("max_header_bytes", size(l.limits.max_header_bytes));
  w.key("max_body_bytes", size(l.limits.max_body_bytes));
  w.key("max_requests_per_connection", integer(l.limits.max_requests_per_connection));

  if (l.tls) {
    w.table("listener.tls");
    std::vector<std::string> certs;
    for (const auto& c : l.tls->certificates) {
      certs.push_back("cert = " + str(c.cert) + ", key = " + str(c.key));
    }
    w.key("certificates", inlineTables(certs, w.indent()));
    w.key("min_version", str(toString(l.tls->min_version)));
    w.key("alpn", stringList(l.tls->alpn));
    w.optional("ciphers", l.tls->ciphers);
  }

  for (const auto& r : l.routes) {
    w.table("listener.route", true);
    w.optional("host", r.host);
    w.optional("path_prefix", r.path_prefix);
    w.key("upstream", str(r.upstream));
  }
}

void writeUpstream(Writer& w, const UpstreamConfig& u) {
  w.table("upstream", true);
  w.key("name", str(u.name));
  w.key("panic", boolean(u.panic));
  w.key("balance", str(toString(u.balance)));
  if (u.dns) {
    w.key("dns", str(u.dns->str()));
  } else {
    std::vector<std::string> endpoints;
    for (const auto& e : u.endpoints) {
      endpoints.push_back("address = " + str(e.address.str()) + ", weight = " + integer(e.weight));
    }
    w.key("endpoints", inlineTables(endpoints, w.indent()));
  }
  w.key("resolve_every", duration(u.resolve_every));

  if (u.hash.key != HashKey::none) {
    w.table("upstream.hash");
    w.key("key", str(formatHashKey(u.hash)));
  }

  w.table("upstream.timeouts");
  w.key("connect", duration(u.timeouts.connect));
  w.key("response", duration(u.timeouts.response));
  w.key("idle", duration(u.timeouts.idle));

  w.table("upstream.retry");
  w.key("attempts", integer(u.retry.attempts));
  w.key("on", stringList(formatRetryOn(u.retry)));
  w.key("backoff", duration(u.retry.backoff));
  w.key("budget_percent", integer(u.retry.budget_percent));

  if (u.health) {
    w.table("upstream.health");
    w.optional("path", u.health->path);
    w.key("interval", duration(u.health->interval));
    w.key("timeout", duration(u.health->timeout));
    w.key("rise", integer(u.health->rise));
    w.key("fall", integer(u.health->fall));
  }

  w.table("upstream.outlier");
  w.key("consecutive_failures", integer(u.outlier.consecutive_failures));
  w.key("ejection", duration(u.outlier.ejection));
  w.key("max_ejected_percent", integer(u.outlier.max_ejected_percent));
  w.key("slow_start", duration(u.outlier.slow_start));

  w.table("upstream.limits");
  w.key("max_connections", integer(u.limits.max_connections));
  w.key("max_pending", integer(u.limits.max_pending));

  w.table("upstream.pool");
  w.key("max_idle_per_endpoint", integer(u.pool.max_idle_per_endpoint));
  w.key("idle_timeout", duration(u.pool.idle_timeout));

  if (u.tls) {
    w.table("upstream.tls");
    w.key("verify", boolean(u.tls->verify));
    w.key("ca", str(u.tls->ca));
    w.optional("sni", u.tls->sni);
    w.optional("cert", u.tls->cert);
    w.optional("key", u.tls->key);
  }
}

}  // namespace

std::string printConfig(const Config& config) {
  Writer w;
  w.table("global");
  w.key("workers", integer(config.global.workers));
  w.key("max_connections", integer(config.global.max_connections));
  w.key("graceful_timeout", duration(config.global.graceful_timeout));
  w.key("drain_delay", duration(config.global.drain_delay));
  w.key("fiber_stack", size(config.global.fiber_stack));
  w.key("pin_workers", boolean(config.global.pin_workers));
  w.key("resolv_conf", str(config.global.resolv_conf));
  w.key("hosts_file", str(config.global.hosts_file));

  w.table("admin");
  w.key("listen", str(config.admin.listen.str()));
  w.key("per_endpoint_metrics", boolean(config.admin.per_endpoint_metrics));
  w.key("allow_reload", boolean(config.admin.allow_reload));

  w.table("access_log");
  w.key("path", str(config.access_log.path));
  w.key("format", str(toString(config.access_log.format)));

  for (const auto& l : config.listeners) writeListener(w, l);
  for (const auto& u : config.upstreams) writeUpstream(w, u);
  return "# greenlb effective configuration: every default written out.\n" + w.take();
}

}  // namespace greenlb::conf
