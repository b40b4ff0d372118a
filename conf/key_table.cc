// The rows of conf/schema.h: every key of greenlb.toml, in the order the printer writes
// them (the order of the example in docs/configuration.md). Adding a key is a field in
// conf/config.h, a row here, its reading in conf/loader.cc and its row in
// docs/configuration.md; the printer and the chart schema follow from the row.
#include <optional>
#include <type_traits>

#include "conf/policy_table.h"
#include "conf/schema.h"
#include "conf/value_syntax.h"

namespace greenlb::conf {
namespace {

// --- what a key holds ------------------------------------------------------------------

constexpr ValueSpec boolean() {
  return {.type = ValueType::boolean};
}
constexpr ValueSpec integer(int64_t min, int64_t max) {
  return {.type = ValueType::integer, .min = min, .max = max};
}
constexpr ValueSpec duration(bool may_be_zero) {
  return {.type = ValueType::duration, .min = may_be_zero ? 0 : 1};
}
constexpr bool kMayBeZero = true;
constexpr bool kPositive = false;
constexpr ValueSpec size(int64_t min, int64_t max) {
  return {.type = ValueType::size, .min = min, .max = max};
}
constexpr ValueSpec of(ValueType type) {
  return {.type = type};
}
constexpr ValueSpec choice(std::span<const std::string_view> names) {
  return {.type = ValueType::choice, .choices = names};
}
constexpr ValueSpec grammar(ValueType type, std::string_view pattern) {
  return {.type = type, .pattern = pattern};
}
constexpr ValueSpec atLeast(ValueType type, int64_t min) {
  return {.type = type, .min = min};
}

constexpr auto kKiBs = static_cast<int64_t>(kKiB);
constexpr auto kMiBs = static_cast<int64_t>(kMiB);

// --- where its value lives -------------------------------------------------------------

template <class>
struct MemberOf;
template <class C, class T>
struct MemberOf<T C::*> {
  using Class = C;
};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <class T>
Elements one(const T& section) {
  return {&section, 1, sizeof(T)};
}

template <class T>
FieldValue fieldOf(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v;
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<uint64_t>(v);
  } else if constexpr (std::is_enum_v<T>) {
    return std::string(toString(v));
  } else if constexpr (std::is_same_v<T, Duration> || std::is_same_v<T, std::string> ||
                       std::is_same_v<T, std::vector<std::string>> ||
                       std::is_same_v<T, HeaderFields>) {
    return v;
  } else if constexpr (std::is_same_v<T, Address>) {
    return v.str();
  } else if constexpr (IsOptional<T>::value) {
    if (!v) return std::monostate{};
    return fieldOf(*v);
  } else if constexpr (IsVector<T>::value) {
    return Elements{v.data(), v.size(), sizeof(typename T::value_type)};
  } else {
    return one(v);  // a struct: a table's section
  }
}

template <class T>
const T& as(const void* section) {
  return *static_cast<const T*>(section);
}

// The value of member M of its table's struct.
template <auto M>
FieldValue get(const void* section) {
  return fieldOf(as<typename MemberOf<decltype(M)>::Class>(section).*M);
}

// The same, left out when empty: a string without a default ("no host" is no key).
template <auto M>
FieldValue getUnlessEmpty(const void* section) {
  const auto& text = as<typename MemberOf<decltype(M)>::Class>(section).*M;
  if (text.empty()) return std::monostate{};
  return text;
}

// A route's header rules: a section only when there are some.
template <auto M>
FieldValue getRules(const void* section) {
  const HeaderRulesConfig& rules = as<RouteConfig>(section).*M;
  if (rules.empty()) return Elements{};
  return one(rules);
}

// --- rows ------------------------------------------------------------------------------

constexpr SchemaKey value(std::string_view table, std::string_view key, ValueSpec spec,
                          Getter get) {
  return {table, key, KeyKind::value, spec, false, false, get};
}
constexpr SchemaKey section(std::string_view table, std::string_view key, Getter get) {
  return {table, key, KeyKind::table, {}, false, false, get};
}
constexpr SchemaKey sections(std::string_view table, std::string_view key, Getter get) {
  return {table, key, KeyKind::array_of_tables, {}, false, false, get};
}
constexpr SchemaKey required(SchemaKey k) {
  k.required = true;
  return k;
}
constexpr SchemaKey addition(SchemaKey k) {
  k.addition = true;
  return k;
}

using VT = ValueType;

// [listener.rate_limit] and [listener.route.rate_limit] hold the same keys.
#define GREENLB_RATE_LIMIT_ROWS(table)                                                       \
  required(value(table, "requests_per_second", integer(1, 10'000'000),                      \
                 get<&RateLimitConfig::requests_per_second>)),                              \
      value(table, "burst", integer(1, 100'000'000), get<&RateLimitConfig::burst>),         \
      value(table, "key", grammar(VT::rate_limit_key, kRateLimitKeyPattern),                \
            [](const void* s) -> FieldValue {                                               \
              return formatRateLimitKey(as<RateLimitConfig>(s));                            \
            })

constexpr SchemaKey kKeys[] = {
    section("", "global", get<&Config::global>),
    section("", "admin", get<&Config::admin>),
    section("", "access_log", get<&Config::access_log>),
    sections("", "listener", get<&Config::listeners>),
    sections("", "upstream", get<&Config::upstreams>),

    value("global", "workers", integer(0, 1024), get<&GlobalConfig::workers>),
    value("global", "max_connections", integer(1, 100'000'000),
          get<&GlobalConfig::max_connections>),
    value("global", "graceful_timeout", duration(kMayBeZero), get<&GlobalConfig::graceful_timeout>),
    value("global", "drain_delay", duration(kMayBeZero), get<&GlobalConfig::drain_delay>),
    value("global", "fiber_stack", size(16 * kKiBs, 16 * kMiBs), get<&GlobalConfig::fiber_stack>),
    addition(value("global", "pin_workers", boolean(), get<&GlobalConfig::pin_workers>)),
    addition(value("global", "resolv_conf", of(VT::path), get<&GlobalConfig::resolv_conf>)),
    addition(value("global", "hosts_file", of(VT::path), get<&GlobalConfig::hosts_file>)),

    value("admin", "listen", of(VT::listen_address), get<&AdminConfig::listen>),
    value("admin", "per_endpoint_metrics", boolean(), get<&AdminConfig::per_endpoint_metrics>),
    value("admin", "allow_reload", boolean(), get<&AdminConfig::allow_reload>),

    value("access_log", "path", of(VT::path), get<&AccessLogConfig::path>),
    value("access_log", "format", choice(kLogFormatNames), get<&AccessLogConfig::format>),

    required(value("listener", "name", of(VT::name), get<&ListenerConfig::name>)),
    required(value("listener", "listen", of(VT::listen_address), get<&ListenerConfig::listen>)),
    value("listener", "protocol", choice(kProtocolNames), get<&ListenerConfig::protocol>),
    value("listener", "upstream", of(VT::text), getUnlessEmpty<&ListenerConfig::upstream>),
    value("listener", "http2", boolean(), get<&ListenerConfig::http2>),
    value("listener", "proxy_protocol", choice(kProxyProtocolNames),
          get<&ListenerConfig::proxy_protocol>),
    section("listener", "timeouts", get<&ListenerConfig::timeouts>),
    section("listener", "limits", get<&ListenerConfig::limits>),
    section("listener", "tls", get<&ListenerConfig::tls>),
    section("listener", "rate_limit", get<&ListenerConfig::rate_limit>),
    sections("listener", "route", get<&ListenerConfig::routes>),

    value("listener.timeouts", "client_header", duration(kPositive),
          get<&ListenerTimeouts::client_header>),
    value("listener.timeouts", "client_idle", duration(kPositive),
          get<&ListenerTimeouts::client_idle>),
    value("listener.timeouts", "tunnel_idle", duration(kPositive),
          get<&ListenerTimeouts::tunnel_idle>),
    value("listener.timeouts", "request_body", duration(kMayBeZero),
          get<&ListenerTimeouts::request_body>),

    value("listener.limits", "max_header_bytes", size(kKiBs, kMiBs),
          get<&ListenerLimits::max_header_bytes>),
    value("listener.limits", "max_body_bytes", size(0, kUnlimited),
          get<&ListenerLimits::max_body_bytes>),
    value("listener.limits", "max_requests_per_connection", integer(0, kUnlimited),
          get<&ListenerLimits::max_requests_per_connection>),
    value("listener.limits", "max_concurrent_streams", integer(1, 1 << 20),
          get<&ListenerLimits::max_concurrent_streams>),

    required(value("listener.tls", "certificates", atLeast(VT::tables, 1),
                   get<&ListenerTls::certificates>)),
    value("listener.tls", "min_version", choice(kTlsVersionNames), get<&ListenerTls::min_version>),
    value("listener.tls", "alpn", of(VT::strings), get<&ListenerTls::alpn>),
    addition(value("listener.tls", "ciphers", of(VT::text), getUnlessEmpty<&ListenerTls::ciphers>)),

    required(
        value("listener.tls.certificates", "cert", of(VT::path), get<&CertificateConfig::cert>)),
    required(value("listener.tls.certificates", "key", of(VT::path), get<&CertificateConfig::key>)),

    GREENLB_RATE_LIMIT_ROWS("listener.rate_limit"),

    value("listener.route", "host", of(VT::host_pattern), getUnlessEmpty<&RouteConfig::host>),
    value("listener.route", "path_prefix", of(VT::url_path),
          getUnlessEmpty<&RouteConfig::path_prefix>),
    required(value("listener.route", "upstream", of(VT::text), get<&RouteConfig::upstream>)),
    value("listener.route", "rewrite_prefix", of(VT::url_path), get<&RouteConfig::rewrite_prefix>),
    section("listener.route", "request_headers", getRules<&RouteConfig::request_headers>),
    section("listener.route", "response_headers", getRules<&RouteConfig::response_headers>),

    value("listener.route.request_headers", "set", of(VT::header_fields),
          getUnlessEmpty<&HeaderRulesConfig::set>),
    value("listener.route.request_headers", "add", of(VT::header_fields),
          getUnlessEmpty<&HeaderRulesConfig::add>),
    value("listener.route.request_headers", "remove", of(VT::strings),
          getUnlessEmpty<&HeaderRulesConfig::remove>),

    value("listener.route.response_headers", "set", of(VT::header_fields),
          getUnlessEmpty<&HeaderRulesConfig::set>),
    value("listener.route.response_headers", "add", of(VT::header_fields),
          getUnlessEmpty<&HeaderRulesConfig::add>),
    value("listener.route.response_headers", "remove", of(VT::strings),
          getUnlessEmpty<&HeaderRulesConfig::remove>),

    section("listener.route", "rate_limit", get<&RouteConfig::rate_limit>),

    GREENLB_RATE_LIMIT_ROWS("listener.route.rate_limit"),

    required(value("upstream", "name", of(VT::name), get<&UpstreamConfig::name>)),
    value("upstream", "panic", boolean(), get<&UpstreamConfig::panic>),
    value("upstream", "balance", choice(kBalanceNames), get<&UpstreamConfig::balance>),
    value("upstream", "protocol", choice(kUpstreamProtocolNames), get<&UpstreamConfig::protocol>),
    value("upstream", "send_proxy_protocol", choice(kSendProxyProtocolNames),
          get<&UpstreamConfig::send_proxy_protocol>),
    value("upstream", "endpoints", atLeast(VT::addresses_or_tables, 1),
          [](const void* s) -> FieldValue {
            const auto& u = as<UpstreamConfig>(s);
            if (u.dns) return std::monostate{};  // one or the other
            return fieldOf(u.endpoints);
          }),
    value("upstream", "dns", of(VT::address), get<&UpstreamConfig::dns>),
    value("upstream", "resolve_every", duration(kPositive), get<&UpstreamConfig::resolve_every>),
    section("upstream", "hash",
            [](const void* s) -> FieldValue {
              const auto& u = as<UpstreamConfig>(s);
              if (u.hash.key == HashKey::none) return Elements{};
              return one(u.hash);
            }),
    section("upstream", "timeouts", get<&UpstreamConfig::timeouts>),
    section("upstream", "retry", get<&UpstreamConfig::retry>),
    section("upstream", "health", get<&UpstreamConfig::health>),
    section("upstream", "outlier", get<&UpstreamConfig::outlier>),
    section("upstream", "limits", get<&UpstreamConfig::limits>),
    section("upstream", "pool", get<&UpstreamConfig::pool>),
    section("upstream", "tls", get<&UpstreamConfig::tls>),
    section("upstream", "sticky", get<&UpstreamConfig::sticky>),

    required(
        value("upstream.endpoints", "address", of(VT::address), get<&EndpointConfig::address>)),
    value("upstream.endpoints", "weight", integer(1, 1000), get<&EndpointConfig::weight>),

    required(value("upstream.hash", "key", grammar(VT::hash_key, kHashKeyPattern),
                   [](const void* s) -> FieldValue { return formatHashKey(as<HashConfig>(s)); })),

    value("upstream.timeouts", "connect", duration(kPositive), get<&UpstreamTimeouts::connect>),
    value("upstream.timeouts", "response", duration(kPositive), get<&UpstreamTimeouts::response>),
    value("upstream.timeouts", "idle", duration(kPositive), get<&UpstreamTimeouts::idle>),

    value("upstream.retry", "attempts", integer(0, 10), get<&RetryConfig::attempts>),
    value("upstream.retry", "on", grammar(VT::retry_conditions, kRetryConditionPattern),
          [](const void* s) -> FieldValue { return formatRetryOn(as<RetryConfig>(s)); }),
    value("upstream.retry", "backoff", duration(kMayBeZero), get<&RetryConfig::backoff>),
    value("upstream.retry", "budget_percent", integer(0, 100), get<&RetryConfig::budget_percent>),

    value("upstream.health", "path", of(VT::url_path), getUnlessEmpty<&HealthConfig::path>),
    value("upstream.health", "interval", duration(kPositive), get<&HealthConfig::interval>),
    value("upstream.health", "timeout", duration(kPositive), get<&HealthConfig::timeout>),
    value("upstream.health", "rise", integer(1, 100), get<&HealthConfig::rise>),
    value("upstream.health", "fall", integer(1, 100), get<&HealthConfig::fall>),
    value("upstream.health", "grpc_service", of(VT::text), get<&HealthConfig::grpc_service>),

    value("upstream.outlier", "consecutive_failures", integer(0, 1'000'000),
          get<&OutlierConfig::consecutive_failures>),
    value("upstream.outlier", "ejection", duration(kPositive), get<&OutlierConfig::ejection>),
    value("upstream.outlier", "max_ejected_percent", integer(0, 100),
          get<&OutlierConfig::max_ejected_percent>),
    value("upstream.outlier", "slow_start", duration(kMayBeZero), get<&OutlierConfig::slow_start>),

    value("upstream.limits", "max_connections", integer(0, kUnlimited),
          get<&UpstreamLimits::max_connections>),
    value("upstream.limits", "max_pending", integer(0, kUnlimited),
          get<&UpstreamLimits::max_pending>),
    value("upstream.limits", "max_requests", integer(0, kUnlimited),
          get<&UpstreamLimits::max_requests>),

    value("upstream.pool", "max_idle_per_endpoint", integer(0, 1'000'000),
          get<&PoolConfig::max_idle_per_endpoint>),
    value("upstream.pool", "idle_timeout", duration(kPositive), get<&PoolConfig::idle_timeout>),

    value("upstream.tls", "verify", boolean(), get<&UpstreamTls::verify>),
    value("upstream.tls", "ca", of(VT::path), get<&UpstreamTls::ca>),
    value("upstream.tls", "sni", of(VT::text), getUnlessEmpty<&UpstreamTls::sni>),
    value("upstream.tls", "cert", of(VT::path), getUnlessEmpty<&UpstreamTls::cert>),
    value("upstream.tls", "key", of(VT::path), getUnlessEmpty<&UpstreamTls::key>),

    required(value("upstream.sticky", "cookie", of(VT::text), get<&StickyConfig::cookie>)),
    value("upstream.sticky", "max_age", duration(kMayBeZero), get<&StickyConfig::max_age>),
};
#undef GREENLB_RATE_LIMIT_ROWS

}  // namespace

std::span<const SchemaKey> knownKeys() {
  return kKeys;
}

}  // namespace greenlb::conf
