// The only file that includes toml++: it reads the TOML tree into a Config, checking each
// value as it goes, and leaves the rules that relate values to conf/validate.cc.
#include "conf/loader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>
#include <stdexcept>

#include "conf/diagnostics.h"
#include "conf/header_rules.h"
#include "conf/paths.h"
#include "conf/schema.h"
#include "conf/source_map.h"
#include "conf/suggest.h"
#include "conf/units.h"
#include "conf/validate.h"
#include "conf/value_syntax.h"

namespace greenlb::conf {
namespace {

constexpr bool kListen = true;    // port 0 allowed: the kernel picks (tests)
constexpr bool kConnect = false;  // a port is needed to connect

SourcePos posOf(const toml::source_region& r) {
  return {r.begin.line, r.begin.column};
}
SourcePos posOf(const toml::node& n) {
  return posOf(n.source());
}

std::string_view describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Built by appending: `"'" + std::string(key)` trips GCC 12's -Wrestrict false positive.
std::string keyName(std::string_view key) {
  std::string out(1, '\'');
  out += key;
  out += '\'';
  return out;
}

constexpr std::string_view kAString = "a string";

// What one load shares: where errors go and where relative paths start.
struct Context {
  Diagnostics& diags;
  std::filesystem::path base_dir;

  void error(const toml::node& at, std::string message) {
    diags.error(posOf(at), std::move(message));
  }
  void typeError(const toml::node& node, std::string_view label, std::string_view expected) {
    std::string message = std::string(label) + " must be " + std::string(expected) + ", not " +
                          std::string(describe(node));
    if (expected == kAString && (node.is_integer() || node.is_floating_point())) {
      message += "; put it in quotes";
    }
    error(node, std::move(message));
  }

  // The string in `node`, or null after reporting that it is something else.
  const std::string* string(const toml::node& node, std::string_view label,
                            std::string_view expected) {
    if (const auto* s = node.as_string()) return &s->get();
    typeError(node, label, expected);
    return nullptr;
  }

  // `node` parsed with `parse` (a Parsed<T>(string_view) function from conf/units.h or
  // conf/value_syntax.h); `what` names the grammar in the message, `expected` says what
  // to write instead of a value that is not a string.
  template <class T, class Parse>
  bool parsed(const toml::node& node, std::string_view label, std::string_view what, Parse parse,
              T& out, std::string_view expected = kAString) {
    const auto* text = string(node, label, expected);
    if (!text) return false;
    auto result = parse(*text);
    if (!result) {
      error(node, std::string(label) + ": " + std::string(what) + " " + quote(*text) + " " +
                      result.error);
      return false;
    }
    out = std::move(*result.value);
    return true;
  }

  bool address(const toml::node& node, std::string_view label, bool listen, Address& out) {
    auto parse = [listen](std::string_view text) { return parseAddress(text, listen); };
    if (parsed(node, label, "address", parse, out, "an address string such as \"10.0.0.1:80\"")) {
      return true;
    }
    out = Address{};  // so that the whole-config checks skip it (conf/source_map.h)
    return false;
  }
};

// One TOML table being read into a struct. Constructing it reports the keys the schema
// does not know. Each getter leaves `out` alone when the key is absent, reports an error
// and leaves `out` alone when the value is wrong, and returns whether it stored a value.
class Table {
 public:
  Table(Context& ctx, const toml::table& table, std::string schema, std::string title)
      : ctx_(ctx), table_(table), schema_(std::move(schema)), title_(std::move(title)) {
    reportUnknownKeys();
    reportMissingKeys();
  }

  SourcePos header() const { return posOf(table_); }
  Context& ctx() const { return ctx_; }
  const toml::node* find(std::string_view key) const { return table_.get(key); }

  // Where `key`'s value is; unset when the key is absent.
  SourcePos at(std::string_view key) const {
    const auto* node = find(key);
    return node ? posOf(*node) : SourcePos{};
  }

  bool flag(std::string_view key, bool& out) const {
    const auto* node = find(key);
    if (!node) return false;
    if (const auto* b = node->as_boolean()) {
      out = b->get();
      return true;
    }
    ctx_.typeError(*node, keyName(key), "true or false");
    return false;
  }

  // A string that must not be empty.
  // `may_be_empty`: "" means something (a gRPC check of the whole server).
  bool text(std::string_view key, std::string& out, bool may_be_empty = false) const {
    const auto* node = find(key);
    if (!node) return false;
    const auto* s = ctx_.string(*node, keyName(key), kAString);
    if (!s) return false;
    if (s->empty() && !may_be_empty) {
      ctx_.error(*node, keyName(key) + " must not be empty");
      return false;
    }
    // C APIs (open, OpenSSL) would silently cut the value at the NUL.
    if (s->find('\0') != std::string::npos) {
      ctx_.error(*node, keyName(key) + " must not contain NUL characters");
      return false;
    }
    out = *s;
    return true;
  }

  // A listener or upstream name.
  bool name(std::string_view key, std::string& out) const {
    std::string value;
    if (!text(key, value)) return false;
    if (auto problem = nameProblem(value); !problem.empty()) {
      ctx_.error(*find(key), keyName(key) + " " + quote(value) + " " + problem);
      return false;
    }
    out = std::move(value);
    return true;
  }

  // Within the key's range (conf/key_table.cc).
  template <class Int>
  bool integer(std::string_view key, Int& out) const {
    const auto* node = find(key);
    if (!node) return false;
    const int64_t min = spec(key).value.min, max = spec(key).value.max;
    const auto* i = node->as_integer();
    if (!i) {
      ctx_.typeError(*node, keyName(key), "an integer");
      return false;
    }
    int64_t v = i->get();
    if (v < min || v > max) {
      ctx_.error(*node, keyName(key) +
                            rangeText(std::to_string(min), std::to_string(max), max == kUnlimited) +
                            ", got " + std::to_string(v));
      return false;
    }
    out = static_cast<Int>(v);
    return true;
  }

  // Longer than 0s unless the key's row allows 0.
  bool duration(std::string_view key, Duration& out) const {
    const auto* node = find(key);
    if (!node) return false;
    const bool may_be_zero = spec(key).value.min == 0;
    if (const auto* i = node->as_integer()) {
      auto n = i->get() >= 0 ? std::to_string(i->get()) : std::string("5");  // a valid hint
      ctx_.error(*node, keyName(key) + " must be a duration string with a unit, such as \"" + n +
                            "s\" or \"" + n + "ms\"");
      return false;
    }
    Duration d{};
    if (!ctx_.parsed(*node, keyName(key), "duration", parseDuration, d,
                     "a duration string such as \"5s\"")) {
      return false;
    }
    if (!may_be_zero && d.count() == 0) {
      ctx_.error(*node, keyName(key) + " must be longer than 0s");
      return false;
    }
    out = d;
    return true;
  }

  // Within the key's range (conf/key_table.cc).
  bool size(std::string_view key, uint64_t& out) const {
    const auto* node = find(key);
    if (!node) return false;
    const auto min = static_cast<uint64_t>(spec(key).value.min);
    const auto max = static_cast<uint64_t>(spec(key).value.max);
    uint64_t bytes = 0;
    if (const auto* i = node->as_integer()) {
      if (i->get() < 0) {
        ctx_.error(*node, keyName(key) + " must not be negative");
        return false;
      }
      bytes = static_cast<uint64_t>(i->get());
    } else if (node->is_string()) {
      if (!ctx_.parsed(*node, keyName(key), "size", parseSize, bytes)) return false;
    } else {
      ctx_.typeError(*node, keyName(key),
                     "a size (an integer number of bytes or a string such as \"16KiB\")");
      return false;
    }
    if (bytes < min || bytes > max) {
      ctx_.error(*node, keyName(key) +
                            rangeText(formatSize(min), formatSize(max),
                                      max == static_cast<uint64_t>(kUnlimited)) +
                            ", got " + formatSize(bytes));
      return false;
    }
    out = bytes;
    return true;
  }

  bool address(std::string_view key, Address& out, bool listen) const {
    const auto* node = find(key);
    return node && ctx_.address(*node, keyName(key), listen, out);
  }

  // A value parsed by one of the grammars of conf/value_syntax.h.
  template <class T, class Parse>
  bool syntax(std::string_view key, std::string_view what, Parse parse, T& out) const {
    const auto* node = find(key);
    return node && ctx_.parsed(*node, keyName(key), what, parse, out);
  }

  // A file path, resolved against the config file's directory.
  bool path(std::string_view key, std::string& out) const {
    std::string value;
    if (!text(key, value)) return false;
    out = resolvePath(ctx_.base_dir, value);
    return true;
  }

  // A file path that must name a readable file now (certificates, keys, CAs).
  bool file(std::string_view key, std::string& out) const {
    std::string resolved;
    if (!path(key, resolved)) return false;
    if (auto why = unreadableReason(resolved); !why.empty()) {
      ctx_.error(*find(key), keyName(key) + ": cannot read " + quote(resolved) + ": " + why);
      return false;
    }
    out = std::move(resolved);
    return true;
  }

  // One of the key's names (conf/key_table.cc), which are in the order of Enum.
  template <class Enum>
  bool choice(std::string_view key, Enum& out) const {
    const auto* node = find(key);
    if (!node) return false;
    const auto* s = ctx_.string(*node, keyName(key), kAString);
    if (!s) return false;
    std::span<const std::string_view> choices = spec(key).value.choices;
    std::vector<std::string_view> names(choices.begin(), choices.end());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == *s) {
        out = static_cast<Enum>(i);
        return true;
      }
    }
    std::string message = keyName(key) + " must be one of ";
    for (size_t i = 0; i < names.size(); ++i) {
      message += (i == 0 ? "\"" : i + 1 == names.size() ? " or \"" : ", \"");
      message += std::string(names[i]) + "\"";
    }
    message += ", not " + quote(*s);
    if (auto guess = closestMatch(*s, names); !guess.empty()) {
      message += "; did you mean \"" + std::string(guess) + "\"?";
    }
    ctx_.error(*node, std::move(message));
    return false;
  }

  // Calls `fn(node, text)` for each string of the array at `key`; false when the key is
  // absent or not an array (elements that are not strings are reported and skipped).
  template <class Fn>
  bool eachString(std::string_view key, Fn fn) const {
    const auto* node = find(key);
    if (!node) return false;
    const auto* array = node->as_array();
    if (!array) {
      ctx_.typeError(*node, keyName(key), "an array of strings");
      return false;
    }
    for (const auto& element : *array) {
      if (const auto* s = ctx_.string(element, "each entry of " + keyName(key), kAString)) {
        fn(element, *s);
      }
    }
    return true;
  }

  // A sub-table such as [listener.timeouts]; nullopt when absent or not a table.
  std::optional<Table> table(std::string_view key) const {
    const auto* node = find(key);
    if (!node) return std::nullopt;
    const auto* t = node->as_table();
    if (!t) {
      ctx_.typeError(*node, keyName(key), "a table");
      return std::nullopt;
    }
    auto path = childPath(key);
    return Table(ctx_, *t, path, headerOf(path));
  }

  // Calls `fn(Table)` for each table of the array at `key`: [[listener.route]] sections or
  // an array of inline tables. `title` names one element in messages.
  template <class Fn>
  void eachTable(std::string_view key, const std::string& title, Fn fn) const {
    const auto* node = find(key);
    if (!node) return;
    const auto* array = node->as_array();
    if (!array) {
      if (node->is_table()) {
        ctx_.error(*node, keyName(key) + " must be an array of tables: write [[" + childPath(key) +
                              "]] (or wrap the table in [ ])");
      } else {
        ctx_.typeError(*node, keyName(key), "an array of tables");
      }
      return;
    }
    for (const auto& element : *array) {
      if (const auto* t = element.as_table()) {
        fn(Table(ctx_, *t, childPath(key), title));
      } else {
        ctx_.typeError(element, "each entry of " + keyName(key), "a table");
      }
    }
  }

 private:
  // The row of `key` in this table: every key a reader asks for has one.
  const SchemaKey& spec(std::string_view key) const {
    const SchemaKey* k = findKey(schema_, key);
    if (k == nullptr) throw std::logic_error("no row for " + schema_ + "." + std::string(key));
    return *k;
  }

  std::string childPath(std::string_view key) const {
    return schema_.empty() ? std::string(key) : schema_ + "." + std::string(key);
  }

  static std::string rangeText(const std::string& min, const std::string& max, bool unbounded) {
    if (unbounded) return " must be at least " + min;
    return " must be between " + min + " and " + max;
  }

  void reportUnknownKeys() const {
    auto known = keysOf(schema_);
    for (auto&& [key, value] : table_) {
      auto k = key.str();
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      std::string message = "unknown key " + keyName(k) +
                            (schema_.empty() ? std::string(" at the top level") : " in " + title_);
      if (auto home = relatedTableWith(schema_, k); !home.empty()) {
        message += "; it belongs in " + headerOf(home);
      } else if (auto guess = closestMatch(k, known); !guess.empty()) {
        message += "; did you mean " + keyName(guess) + "?";
      }
      ctx_.diags.error(posOf(key.source()), std::move(message));
    }
  }

  // A missing required key, at this table's header.
  void reportMissingKeys() const {
    for (const SchemaKey& k : knownKeys()) {
      if (k.required && k.table == schema_ && !find(k.key)) {
        ctx_.diags.error(header(), title_ + " is missing required key " + keyName(k.key));
      }
    }
  }

  Context& ctx_;
  const toml::table& table_;
  std::string schema_;  // dotted path in conf/schema.h ("listener.timeouts")
  std::string title_;   // how messages name it ("[listener.timeouts]")
};

void readGlobal(const Table& t, GlobalConfig& g) {
  t.integer("workers", g.workers);
  t.integer("max_connections", g.max_connections);
  t.duration("graceful_timeout", g.graceful_timeout);
  t.duration("drain_delay", g.drain_delay);
  t.size("fiber_stack", g.fiber_stack);
  t.flag("pin_workers", g.pin_workers);
  t.path("resolv_conf", g.resolv_conf);
  t.path("hosts_file", g.hosts_file);
}

void readAdmin(const Table& t, AdminConfig& a) {
  t.address("listen", a.listen, kListen);
  t.flag("per_endpoint_metrics", a.per_endpoint_metrics);
  t.flag("allow_reload", a.allow_reload);
}

void readAccessLog(const Table& t, AccessLogConfig& log) {
  std::string path;
  if (t.text("path", path)) {
    log.path = path == "stdout" || path == "off" ? path : resolvePath(t.ctx().base_dir, path);
  }
  t.choice("format", log.format);
}

// "/api/": what a path (route prefix, health check) must look like.
Parsed<std::string> parseUrlPath(std::string_view text) {
  if (!text.starts_with('/')) return {std::nullopt, "must start with \"/\""};
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    return {std::nullopt, "must not contain spaces or control characters"};
  }
  return {std::string(text), {}};
}

void readListenerTls(const Table& t, Protocol protocol, bool http2, ListenerTls& tls) {
  if (t.find("certificates")) {
    const auto* node = t.find("certificates");
    if (const auto* array = node->as_array(); array && array->empty()) {
      t.ctx().error(*node, "'certificates' must not be empty");
    }
    t.eachTable("certificates", "a 'certificates' entry", [&](const Table& c) {
      CertificateConfig cert;
      c.file("cert", cert.cert);
      c.file("key", cert.key);
      tls.certificates.push_back(std::move(cert));
    });
  }
  t.choice("min_version", tls.min_version);
  std::vector<std::string> alpn;
  bool alpn_ok = true;
  bool has_alpn = t.eachString("alpn", [&](const toml::node& node, const std::string& name) {
    if (name.empty() || name.size() > 255) {
      t.ctx().error(node, "an ALPN protocol name must be 1 to 255 bytes long");
      alpn_ok = false;
    } else if (protocol == Protocol::http && name != "http/1.1" && name != "http/1.0" &&
               !(http2 && name == "h2")) {
      t.ctx().error(node, std::string(http2 ? "an http listener speaks HTTP/1.x and HTTP/2: "
                                              "'alpn' may offer only \"h2\", \"http/1.1\" and "
                                              "\"http/1.0\", not "
                                            : "an http listener with http2 = false speaks "
                                              "HTTP/1.x: 'alpn' may offer only \"http/1.1\" and "
                                              "\"http/1.0\", not ") +
                              quote(name));
      alpn_ok = false;
    }
    alpn.push_back(name);
  });
  if (has_alpn && alpn_ok) {
    tls.alpn = std::move(alpn);
  } else if (!has_alpn && http2 && protocol == Protocol::http) {
    tls.alpn = {"h2", "http/1.1"};  // HTTP/2 by ALPN, preferred (docs/http2.md)
  }
  t.text("ciphers", tls.ciphers);
}

// [listener.rate_limit] or [listener.route.rate_limit] (docs/rate-limits.md).
void readRateLimit(const Table& t, Protocol protocol, RateLimitConfig& limit) {
  t.syntax("key", "rate limit key", parseRateLimitKey, limit);
  t.integer("requests_per_second", limit.requests_per_second);
  if (!t.integer("burst", limit.burst)) limit.burst = limit.requests_per_second;
  if (protocol == Protocol::tcp) {
    t.ctx().diags.error(t.header(), "a rate limit counts HTTP requests; a tcp listener has none");
  }
}

// A header name of a rule (conf/header_rules.h), lower-cased into `seen` so that a name in
// two lists (or twice in one, differing in case) is reported where it comes again.
bool ruleName(Context& ctx, SourcePos at, std::string_view list, std::string_view name,
              std::vector<std::string>& seen) {
  std::string where = "header " + quote(name) + " in '" + std::string(list) + "'";
  if (auto problem = headerRuleNameProblem(name); !problem.empty()) {
    ctx.diags.error(at, where + " " + problem);
    return false;
  }
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (std::find(seen.begin(), seen.end(), lower) != seen.end()) {
    ctx.diags.error(at, where +
                            " is already named by another rule of this table; a header "
                            "may be in one of 'set', 'add' and 'remove', once");
    return false;
  }
  seen.push_back(std::move(lower));
  return true;
}

// `set` or `add`: a table of header names to value templates.
void readHeaderFields(const Table& t, std::string_view key,
                      std::vector<std::pair<std::string, std::string>>& out,
                      std::vector<std::string>& seen) {
  const auto* node = t.find(key);
  if (!node) return;
  const auto* table = node->as_table();
  if (!table) {
    t.ctx().typeError(*node, keyName(key),
                      "a table of header names to values, such as { \"X-Env\" = \"prod\" }");
    return;
  }
  for (auto&& [name, value] : *table) {
    if (!ruleName(t.ctx(), posOf(name.source()), key, name.str(), seen)) continue;
    std::string label = "the value of header " + quote(name.str());
    const auto* text = t.ctx().string(value, label, kAString);
    if (!text) continue;
    if (auto problem = headerTemplateProblem(*text); !problem.empty()) {
      t.ctx().error(value, label + " " + problem);
      continue;
    }
    out.emplace_back(std::string(name.str()), *text);
  }
}

// [listener.route.request_headers] or [listener.route.response_headers].
void readHeaderRules(const Table& t, HeaderRulesConfig& rules) {
  std::vector<std::string> seen;
  readHeaderFields(t, "set", rules.set, seen);
  readHeaderFields(t, "add", rules.add, seen);
  t.eachString("remove", [&](const toml::node& node, const std::string& name) {
    if (ruleName(t.ctx(), posOf(node), "remove", name, seen)) rules.remove.push_back(name);
  });
  size_t bytes = 0;
  for (const auto* list : {&rules.set, &rules.add}) {
    for (const auto& [name, value] : *list)
      bytes += name.size() + 4 + headerTemplateMaxBytes(value);
  }
  if (rules.set.size() + rules.add.size() > kMaxHeaderRuleFields) {
    t.ctx().diags.error(t.header(), "'set' and 'add' write at most " +
                                        std::to_string(kMaxHeaderRuleFields) + " headers together");
  } else if (bytes > kMaxHeaderRuleBytes) {
    t.ctx().diags.error(t.header(), "the headers 'set' and 'add' write take up to " +
                                        std::to_string(bytes) +
                                        " bytes (variables at their "
                                        "longest); at most " +
                                        std::to_string(kMaxHeaderRuleBytes) + " are allowed");
  }
}

void readRoute(const Table& t, ListenerConfig& listener, ListenerSource& source) {
  RouteConfig route;
  RouteSource where{t.header(), t.at("upstream")};
  t.syntax("host", "host", parseHostPattern, route.host);
  t.syntax("path_prefix", "path", parseUrlPath, route.path_prefix);
  t.text("upstream", route.upstream);
  if (t.find("rewrite_prefix")) {
    std::string rewrite;
    if (t.syntax("rewrite_prefix", "path", parseUrlPath, rewrite)) {
      if (!t.find("path_prefix")) {
        t.ctx().error(*t.find("rewrite_prefix"),
                      "'rewrite_prefix' replaces the route's 'path_prefix': set 'path_prefix' too");
      } else {
        route.rewrite_prefix = std::move(rewrite);
      }
    }
  }
  if (auto sub = t.table("request_headers")) readHeaderRules(*sub, route.request_headers);
  if (auto sub = t.table("response_headers")) readHeaderRules(*sub, route.response_headers);
  if (auto sub = t.table("rate_limit")) {
    readRateLimit(*sub, listener.protocol, route.rate_limit.emplace());
  }
  listener.routes.push_back(std::move(route));
  source.routes.push_back(where);
}

void readListener(const Table& t, Config& config, SourceMap& sources) {
  ListenerConfig l;
  ListenerSource s{t.header(), t.at("name"), t.at("listen"), t.at("upstream"), {}};
  t.name("name", l.name);
  t.address("listen", l.listen, kListen);
  t.choice("protocol", l.protocol);
  t.text("upstream", l.upstream);
  t.flag("http2", l.http2);
  t.choice("proxy_protocol", l.proxy_protocol);
  if (auto sub = t.table("timeouts")) {
    sub->duration("client_header", l.timeouts.client_header);
    sub->duration("client_idle", l.timeouts.client_idle);
    sub->duration("tunnel_idle", l.timeouts.tunnel_idle);
    sub->duration("request_body", l.timeouts.request_body);
  }
  if (auto sub = t.table("limits")) {
    sub->size("max_header_bytes", l.limits.max_header_bytes);
    sub->size("max_body_bytes", l.limits.max_body_bytes);
    sub->integer("max_requests_per_connection", l.limits.max_requests_per_connection);
    sub->integer("max_concurrent_streams", l.limits.max_concurrent_streams);
  }
  if (auto sub = t.table("tls")) readListenerTls(*sub, l.protocol, l.http2, l.tls.emplace());
  if (auto sub = t.table("rate_limit")) readRateLimit(*sub, l.protocol, l.rate_limit.emplace());
  t.eachTable("route", "[[listener.route]]", [&](const Table& r) { readRoute(r, l, s); });
  config.listeners.push_back(std::move(l));
  sources.listeners.push_back(std::move(s));
}

// `endpoints`: addresses, or tables { address = ..., weight = ... }, mixed freely.
void readEndpoints(const Table& t, UpstreamConfig& u, UpstreamSource& s) {
  const auto* node = t.find("endpoints");
  if (!node) return;
  const auto* array = node->as_array();
  if (!array) {
    t.ctx().typeError(*node, "'endpoints'", "an array of addresses");
    return;
  }
  if (array->empty()) {
    t.ctx().error(*node, "'endpoints' must not be empty (list at least one address, or use 'dns')");
    return;
  }
  for (const auto& element : *array) {
    EndpointConfig endpoint;
    bool ok = false;
    if (element.is_string()) {
      ok = t.ctx().address(element, "'endpoints'", kConnect, endpoint.address);
    } else if (const auto* table = element.as_table()) {
      Table entry(t.ctx(), *table, "upstream.endpoints", "an 'endpoints' entry");
      ok = entry.address("address", endpoint.address, kConnect);
      bool weight_ok = !entry.find("weight") || entry.integer("weight", endpoint.weight);
      ok = ok && weight_ok;
    } else {
      t.ctx().typeError(element, "each entry of 'endpoints'",
                        "an address or a table such as { address = \"10.0.0.1:80\", weight = 2 }");
    }
    if (ok) {
      u.endpoints.push_back(std::move(endpoint));
      s.endpoint_items.push_back(posOf(element));
    }
  }
}

void readDns(const Table& t, UpstreamConfig& u) {
  Address dns;
  if (!t.address("dns", dns, kConnect)) return;
  if (dns.is_ip) {
    t.ctx().error(*t.find("dns"), "'dns' needs a host name to resolve, not an IP address; list " +
                                      quote(dns.str()) + " in 'endpoints' instead");
    return;
  }
  u.dns = std::move(dns);
}

void readRetry(const Table& t, RetryConfig& retry) {
  t.integer("attempts", retry.attempts);
  RetryConfig on{};  // what `on` lists, replacing the default list
  on.on_connect_failure = on.on_reset = false;
  on.on_status.clear();
  bool on_ok = true;
  bool has_on = t.eachString("on", [&](const toml::node& node, const std::string& text) {
    RetryCondition c;
    if (!t.ctx().parsed(node, "'on'", "retry condition", parseRetryCondition, c)) {
      on_ok = false;
      return;
    }
    switch (c.kind) {
      case RetryCondition::connect_failure:
        on.on_connect_failure = true;
        break;
      case RetryCondition::reset:
        on.on_reset = true;
        break;
      case RetryCondition::timeout:
        on.on_timeout = true;
        break;
      case RetryCondition::status:
        if (std::find(on.on_status.begin(), on.on_status.end(), c.code) == on.on_status.end()) {
          on.on_status.push_back(c.code);
        }
        break;
    }
  });
  if (has_on && on_ok) {
    retry.on_connect_failure = on.on_connect_failure;
    retry.on_reset = on.on_reset;
    retry.on_timeout = on.on_timeout;
    retry.on_status = std::move(on.on_status);
  }
  t.duration("backoff", retry.backoff);
  t.integer("budget_percent", retry.budget_percent);
}

void readHealth(const Table& t, HealthConfig& h) {
  t.syntax("path", "path", parseUrlPath, h.path);
  t.duration("interval", h.interval);
  t.duration("timeout", h.timeout);
  t.integer("rise", h.rise);
  t.integer("fall", h.fall);
  if (t.find("grpc_service")) {
    t.text("grpc_service", h.grpc_service.emplace(), /*may_be_empty=*/true);
    if (t.find("path")) {
      t.ctx().error(*t.find("grpc_service"),
                    "'grpc_service' and 'path' are two kinds of check: set one of them");
    }
  }
}

void readUpstreamTls(const Table& t, UpstreamTls& tls) {
  t.flag("verify", tls.verify);
  if (t.find("ca")) {
    // Without verification the CA is never opened, so it need not exist here.
    tls.verify ? t.file("ca", tls.ca) : t.path("ca", tls.ca);
  } else if (tls.verify) {
    if (auto why = unreadableReason(tls.ca); !why.empty()) {
      t.ctx().diags.error(t.header(), "[upstream.tls] verifies against the default CA file " +
                                          quote(tls.ca) + ", which cannot be read (" + why +
                                          "); set 'ca' or verify = false");
    }
  }
  t.text("sni", tls.sni);
  t.file("cert", tls.cert);
  t.file("key", tls.key);
  // A client certificate is useless without its key and the other way round.
  if (t.find("cert") && !t.find("key")) {
    t.ctx().error(*t.find("cert"), "'cert' needs 'key' (the client certificate's private key)");
  } else if (t.find("key") && !t.find("cert")) {
    t.ctx().error(*t.find("key"), "'key' needs 'cert' (the client certificate)");
  }
}

void readUpstream(const Table& t, Config& config, SourceMap& sources) {
  UpstreamConfig u;
  UpstreamSource s;
  s.header = t.header();
  s.name = t.at("name");
  s.endpoints = t.at("endpoints");
  s.dns = t.at("dns");
  t.name("name", u.name);
  t.flag("panic", u.panic);
  if (t.choice("balance", u.balance)) s.balance = t.at("balance");
  t.choice("protocol", u.protocol);
  if (t.choice("send_proxy_protocol", u.send_proxy_protocol) &&
      u.send_proxy_protocol != ProxyProtocol::off && u.protocol == UpstreamProtocol::http2) {
    // docs/proxy-protocol.md, "HTTP/2 upstreams": a header speaks for one client, an HTTP/2
    // connection for many.
    t.ctx().error(*t.find("send_proxy_protocol"),
                  "send_proxy_protocol needs protocol = \"http1\": an HTTP/2 upstream connection "
                  "carries the requests of many clients, a PROXY header speaks for one");
  }
  readEndpoints(t, u, s);
  readDns(t, u);
  t.duration("resolve_every", u.resolve_every);
  if (auto sub = t.table("hash")) {
    s.hash_key = sub->at("key");
    sub->syntax("key", "hash key", parseHashKey, u.hash);
  }
  if (auto sub = t.table("timeouts")) {
    sub->duration("connect", u.timeouts.connect);
    sub->duration("response", u.timeouts.response);
    sub->duration("idle", u.timeouts.idle);
  }
  if (auto sub = t.table("retry")) readRetry(*sub, u.retry);
  if (auto sub = t.table("health")) {
    readHealth(*sub, u.health.emplace());
    if (u.health->grpc_service && u.protocol != UpstreamProtocol::http2) {
      t.ctx().error(*sub->find("grpc_service"),
                    "a gRPC health check speaks HTTP/2: it needs protocol = \"http2\"");
    }
  }
  if (auto sub = t.table("outlier")) {
    sub->integer("consecutive_failures", u.outlier.consecutive_failures);
    sub->duration("ejection", u.outlier.ejection);
    sub->integer("max_ejected_percent", u.outlier.max_ejected_percent);
    sub->duration("slow_start", u.outlier.slow_start);
  }
  if (auto sub = t.table("limits")) {
    sub->integer("max_connections", u.limits.max_connections);
    sub->integer("max_pending", u.limits.max_pending);
    sub->integer("max_requests", u.limits.max_requests);
  }
  if (auto sub = t.table("pool")) {
    sub->integer("max_idle_per_endpoint", u.pool.max_idle_per_endpoint);
    sub->duration("idle_timeout", u.pool.idle_timeout);
  }
  if (auto sub = t.table("tls")) readUpstreamTls(*sub, u.tls.emplace());
  if (auto sub = t.table("sticky")) {
    StickyConfig& sticky = u.sticky.emplace();
    sub->syntax("cookie", "cookie name", parseCookieName, sticky.cookie);
    sub->duration("max_age", sticky.max_age);
  }
  config.upstreams.push_back(std::move(u));
  sources.upstreams.push_back(std::move(s));
}

void readConfig(Context& ctx, const toml::table& root, Config& config, SourceMap& sources) {
  Table top(ctx, root, "", "the top level");
  if (auto t = top.table("global")) readGlobal(*t, config.global);
  if (auto t = top.table("admin")) {
    sources.admin_listen = t->at("listen");
    readAdmin(*t, config.admin);
  }
  if (auto t = top.table("access_log")) readAccessLog(*t, config.access_log);
  top.eachTable("listener", "[[listener]]",
                [&](const Table& t) { readListener(t, config, sources); });
  top.eachTable("upstream", "[[upstream]]",
                [&](const Table& t) { readUpstream(t, config, sources); });
}

}  // namespace

LoadResult loadConfigString(std::string_view text, const std::string& path) {
  Diagnostics diags(path);
  auto config = std::make_shared<Config>();
  config->source_path = path;
  try {
    toml::table root = toml::parse(text, path);
    Context ctx{diags, configDir(path)};
    SourceMap sources;
    readConfig(ctx, root, *config, sources);
    validateConfig(*config, sources, diags);
  } catch (const toml::parse_error& e) {
    diags.error(posOf(e.source()), std::string(e.description()));
  } catch (const std::exception& e) {
    // Not expected (allocation failure); reported rather than thrown at the caller.
    diags.error({}, std::string("internal error while loading: ") + e.what());
  }
  if (!diags.empty()) return LoadResult{nullptr, std::move(diags).sorted()};
  return LoadResult{std::move(config), {}};
}

LoadResult loadConfigFile(const std::string& path) {
  std::string text, error;
  if (!readWholeFile(path, text, error)) {
    return LoadResult{nullptr, {Diagnostic{path, 0, 0, "cannot read the config file: " + error}}};
  }
  return loadConfigString(text, path);
}

}  // namespace greenlb::conf
