// The fully-typed, validated, immutable configuration of greenlb (docs/configuration.md).
//
// A Config is built once by the loader (conf/loader.h) and then only read; the proxy shares
// it as std::shared_ptr<const Config> so that a reload swaps the whole value atomically.
// Every struct compares with == so a reload can tell which listeners and upstreams changed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace greenlb::conf {

using Duration = std::chrono::milliseconds;
using namespace std::chrono_literals;

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;

// "host:port" or "[v6]:port". `host` is kept verbatim (without brackets); names are
// resolved later (DNS discovery), literal IPs are flagged so nobody resolves them.
struct Address {
  std::string host;
  uint16_t port = 0;
  bool is_ip = false;       // host is a literal IPv4/IPv6 address
  std::string str() const;  // canonical text: "host:port" or "[v6]:port"
  bool operator==(const Address&) const = default;
};

struct GlobalConfig {
  uint32_t workers = 0;  // 0 = one hub per available core
  uint64_t max_connections = 100000;
  Duration graceful_timeout = 30s;
  Duration drain_delay = 0s;
  uint64_t fiber_stack = 64 * kKiB;
  // Additions to the contract (docs/configuration.md marks them *addition*):
  bool pin_workers = false;                      // pin hub N to CPU N
  std::string resolv_conf = "/etc/resolv.conf";  // nameservers for DNS discovery
  std::string hosts_file = "/etc/hosts";
  bool operator==(const GlobalConfig&) const = default;
};

struct AdminConfig {
  Address listen{"127.0.0.1", 9901, true};
  bool per_endpoint_metrics = true;
  bool allow_reload = false;
  bool operator==(const AdminConfig&) const = default;
};

enum class LogFormat { json, combined };
inline constexpr std::string_view kLogFormatNames[] = {"json", "combined"};  // by LogFormat

struct AccessLogConfig {
  std::string path = "stdout";  // "stdout", "off", or an absolute file path
  LogFormat format = LogFormat::json;
  bool operator==(const AccessLogConfig&) const = default;
};

enum class Protocol { http, tcp };
inline constexpr std::string_view kProtocolNames[] = {"http", "tcp"};  // by Protocol
enum class TlsVersion { v1_2, v1_3 };
// What an upstream's endpoints speak (docs/grpc.md): HTTP/1.1, or HTTP/2 (h2 over TLS by
// ALPN with [upstream.tls], else h2c with prior knowledge).
enum class UpstreamProtocol { http1, http2 };
inline constexpr std::string_view kUpstreamProtocolNames[] = {"http1", "http2"};
inline constexpr std::string_view kTlsVersionNames[] = {"1.2", "1.3"};  // by TlsVersion
// The PROXY protocol (docs/proxy-protocol.md): which header a listener requires, which one
// an upstream is sent. `any` is for listeners only: a sender picks one version.
enum class ProxyProtocol : uint8_t { off, v1, v2, any };
inline constexpr std::string_view kProxyProtocolNames[] = {"off", "v1", "v2", "any"};
inline constexpr std::string_view kSendProxyProtocolNames[] = {"off", "v1", "v2"};  // a prefix

struct ListenerTimeouts {
  Duration client_header = 10s;
  Duration client_idle = 60s;
  Duration tunnel_idle = 1h;
  Duration request_body = 0s;  // whole request body; 0 = no limit
  bool operator==(const ListenerTimeouts&) const = default;
};

struct ListenerLimits {
  uint64_t max_header_bytes = 32 * kKiB;
  uint64_t max_body_bytes = 0;               // 0 = unlimited
  uint64_t max_requests_per_connection = 0;  // 0 = unlimited
  uint32_t max_concurrent_streams = 100;     // HTTP/2 streams per client connection
  bool operator==(const ListenerLimits&) const = default;
};

struct CertificateConfig {
  std::string cert;  // absolute path (relative paths resolved against the config's dir)
  std::string key;
  bool operator==(const CertificateConfig&) const = default;
};

struct ListenerTls {
  std::vector<CertificateConfig> certificates;  // first is the default when SNI matches none
  TlsVersion min_version = TlsVersion::v1_2;
  std::vector<std::string> alpn{"http/1.1"};  // with http2 (the default): {"h2", "http/1.1"}
  std::string ciphers;  // addition: OpenSSL TLS 1.2 cipher list; empty = modern AEAD-only default
  bool operator==(const ListenerTls&) const = default;
};

// [listener.rate_limit] and [listener.route.rate_limit] (docs/rate-limits.md): a token
// bucket per key, shared by every hub.
enum class RateLimitKey { client_ip, header, global };
inline constexpr std::string_view kRateLimitKeyNames[] = {"client_ip", "header", "global"};

struct RateLimitConfig {
  uint32_t requests_per_second = 0;  // required
  uint32_t burst = 0;                // when not set: requests_per_second
  RateLimitKey key = RateLimitKey::client_ip;
  std::string header;  // for key = header: the header's name, lower-cased
  bool operator==(const RateLimitConfig&) const = default;
};

// A route's request_headers or response_headers (docs/proxying.md, "Header rules and
// prefix rewrite"): names as written, values as templates ("${client_ip}",
// conf/header_rules.h); in key order, as the file's tables hold them. A name is in at most
// one of the three lists.
struct HeaderRulesConfig {
  std::vector<std::pair<std::string, std::string>> set;  // replaces every instance
  std::vector<std::pair<std::string, std::string>> add;  // appended
  std::vector<std::string> remove;                       // every instance dropped
  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
  bool operator==(const HeaderRulesConfig&) const = default;
};

struct RouteConfig {
  std::string host;         // empty = any; exact or "*.example.com"
  std::string path_prefix;  // empty = any
  std::string upstream;
  std::optional<RateLimitConfig> rate_limit;
  std::optional<std::string> rewrite_prefix;  // replaces path_prefix in the forwarded target
  HeaderRulesConfig request_headers;
  HeaderRulesConfig response_headers;
  bool operator==(const RouteConfig&) const = default;
};

struct ListenerConfig {
  std::string name;
  Address listen;
  Protocol protocol = Protocol::http;
  std::string upstream;  // default upstream; may be empty for http when routes cover all
  bool http2 = true;     // h2 by ALPN on TLS, h2c by prior knowledge on plain (docs/http2.md)
  ProxyProtocol proxy_protocol = ProxyProtocol::off;  // the header every connection opens with
  ListenerTimeouts timeouts;
  ListenerLimits limits;
  std::optional<ListenerTls> tls;
  std::optional<RateLimitConfig> rate_limit;
  std::vector<RouteConfig> routes;
  bool operator==(const ListenerConfig&) const = default;
};

enum class Balance { round_robin, least_conn, p2c, random, maglev };  // conf/policy_table.h

struct EndpointConfig {
  Address address;
  uint32_t weight = 1;
  bool operator==(const EndpointConfig&) const = default;
};

enum class HashKey { none, client_ip, header, cookie, path };  // conf/policy_table.h

struct HashConfig {
  HashKey key = HashKey::none;
  std::string name;  // header or cookie name (header names lower-cased)
  bool operator==(const HashConfig&) const = default;
};

struct UpstreamTimeouts {
  Duration connect = 1s;
  Duration response = 15s;
  Duration idle = 60s;
  bool operator==(const UpstreamTimeouts&) const = default;
};

struct RetryConfig {
  uint32_t attempts = 2;  // extra tries after the first
  bool on_connect_failure = true;
  bool on_reset = true;
  bool on_timeout = false;
  std::vector<uint16_t> on_status{503};  // response codes that are retried
  Duration backoff = 25ms;
  uint32_t budget_percent = 20;
  bool operator==(const RetryConfig&) const = default;
};

struct HealthConfig {
  std::string path;  // empty = TCP connect check
  Duration interval = 2s;
  Duration timeout = 1s;
  uint32_t rise = 2;
  uint32_t fall = 3;
  // Present: a gRPC check (grpc.health.v1.Health/Check of this service, "" = the server
  // as a whole) instead of the HTTP GET of `path`.
  std::optional<std::string> grpc_service;
  bool operator==(const HealthConfig&) const = default;
};

struct OutlierConfig {
  uint32_t consecutive_failures = 5;  // 0 = off
  Duration ejection = 30s;
  uint32_t max_ejected_percent = 50;
  Duration slow_start = 0s;
  bool operator==(const OutlierConfig&) const = default;
};

struct UpstreamLimits {
  uint64_t max_connections = 0;  // per endpoint, across hubs; 0 = unlimited
  uint64_t max_pending = 0;      // 0 = unlimited
  uint64_t max_requests = 0;     // in-flight requests (HTTP/2 streams) per endpoint; 0 = off
  bool operator==(const UpstreamLimits&) const = default;
};

struct PoolConfig {
  uint32_t max_idle_per_endpoint = 64;  // per hub
  Duration idle_timeout = 60s;
  bool operator==(const PoolConfig&) const = default;
};

struct UpstreamTls {
  bool verify = true;
  std::string ca = "/etc/ssl/certs/ca-certificates.crt";
  std::string sni;   // empty = the endpoint's host when it is a name, else none
  std::string cert;  // client certificate (mTLS); empty = none
  std::string key;
  bool operator==(const UpstreamTls&) const = default;
};

// [upstream.sticky] (docs/balancing.md, "Sticky sessions"): cookie-based affinity.
struct StickyConfig {
  std::string cookie;      // the cookie's name
  Duration max_age = 0s;   // 0 = a session cookie
  bool operator==(const StickyConfig&) const = default;
};

struct UpstreamConfig {
  std::string name;
  bool panic = true;
  Balance balance = Balance::round_robin;
  UpstreamProtocol protocol = UpstreamProtocol::http1;
  // off, v1 or v2: a PROXY header first on each new connection (docs/proxy-protocol.md)
  ProxyProtocol send_proxy_protocol = ProxyProtocol::off;
  std::vector<EndpointConfig> endpoints;
  std::optional<Address> dns;  // discovery instead of endpoints
  Duration resolve_every = 5s;
  HashConfig hash;
  UpstreamTimeouts timeouts;
  RetryConfig retry;
  std::optional<HealthConfig> health;
  OutlierConfig outlier;
  UpstreamLimits limits;
  PoolConfig pool;
  std::optional<UpstreamTls> tls;
  std::optional<StickyConfig> sticky;
  bool operator==(const UpstreamConfig&) const = default;
};

struct Config {
  std::string source_path;  // the file it was loaded from ("" for embedded configs)
  GlobalConfig global;
  AdminConfig admin;
  AccessLogConfig access_log;
  std::vector<ListenerConfig> listeners;
  std::vector<UpstreamConfig> upstreams;

  const UpstreamConfig* findUpstream(std::string_view name) const;
  const ListenerConfig* findListener(std::string_view name) const;
  bool operator==(const Config&) const = default;
};

std::string_view toString(Protocol p);
std::string_view toString(Balance b);
std::string_view toString(LogFormat f);
std::string_view toString(TlsVersion v);
std::string_view toString(UpstreamProtocol p);
std::string_view toString(HashKey k);
std::string_view toString(ProxyProtocol p);
std::string_view toString(RateLimitKey k);

}  // namespace greenlb::conf
