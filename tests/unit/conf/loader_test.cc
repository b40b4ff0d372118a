// What a valid config loads to: the documented defaults, the contract's example, file paths
// resolved against the config's directory.
#include "conf/loader.h"

#include <gtest/gtest.h>

#include <type_traits>

#include "tests/unit/conf/conf_test_util.h"

namespace greenlb::conf {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::mustLoad;
using testing::TempDir;
using testing::toml;

// Immutable once built: callers share it and can only read it.
static_assert(std::is_same_v<decltype(LoadResult::config), std::shared_ptr<const Config>>);

// An empty or truncated file (a reload that read a half-written config) must not be
// valid: it would close every listener.
TEST(Loader, EmptyFileIsAnError) {
  for (std::string_view text : {std::string_view(""), std::string_view("[global]\nworkers = 1\n")}) {
    auto result = loadConfigString(text, "/x/greenlb.toml");
    ASSERT_FALSE(result.ok());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].str(),
              "/x/greenlb.toml:1:1: error: no [[listener]] defined: a config needs at least one");
  }
}

TEST(Loader, MinimalConfigHasTheDefaults) {
  auto config = mustLoad(testing::kMinimalConfig);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->global, GlobalConfig{});
  EXPECT_EQ(config->admin, AdminConfig{});
  EXPECT_EQ(config->access_log, AccessLogConfig{});
  EXPECT_EQ(config->listeners.size(), 1u);
  EXPECT_EQ(config->upstreams.size(), 1u);
  EXPECT_EQ(config->source_path, "/nonexistent/greenlb.toml");
}

TEST(Loader, DocumentedDefaults) {
  auto config = mustLoad(testing::kMinimalConfig);
  ASSERT_TRUE(config);
  const auto& g = config->global;
  EXPECT_EQ(g.workers, 0u);
  EXPECT_EQ(g.max_connections, 100000u);
  EXPECT_EQ(g.graceful_timeout, seconds(30));
  EXPECT_EQ(g.drain_delay, seconds(0));
  EXPECT_EQ(g.fiber_stack, 64 * 1024u);
  EXPECT_FALSE(g.pin_workers);
  EXPECT_EQ(g.resolv_conf, "/etc/resolv.conf");
  EXPECT_EQ(g.hosts_file, "/etc/hosts");

  EXPECT_EQ(config->admin.listen, (Address{"127.0.0.1", 9901, true}));
  EXPECT_TRUE(config->admin.per_endpoint_metrics);
  EXPECT_FALSE(config->admin.allow_reload);
  EXPECT_EQ(config->access_log.path, "stdout");
  EXPECT_EQ(config->access_log.format, LogFormat::json);

  ASSERT_EQ(config->listeners.size(), 1u);
  const auto& l = config->listeners[0];
  EXPECT_EQ(l.name, "web");
  EXPECT_EQ(l.listen, (Address{"127.0.0.1", 8080, true}));
  EXPECT_EQ(l.protocol, Protocol::http);
  EXPECT_EQ(l.upstream, "app");
  EXPECT_EQ(l.timeouts.client_header, seconds(10));
  EXPECT_EQ(l.timeouts.client_idle, seconds(60));
  EXPECT_EQ(l.timeouts.tunnel_idle, hours(1));
  EXPECT_EQ(l.limits.max_header_bytes, 32 * 1024u);
  EXPECT_EQ(l.limits.max_body_bytes, 0u);
  EXPECT_EQ(l.limits.max_requests_per_connection, 0u);
  EXPECT_FALSE(l.tls);
  EXPECT_TRUE(l.routes.empty());

  ASSERT_EQ(config->upstreams.size(), 1u);
  const auto& u = config->upstreams[0];
  EXPECT_EQ(u.name, "app");
  EXPECT_TRUE(u.panic);
  EXPECT_EQ(u.balance, Balance::round_robin);
  ASSERT_EQ(u.endpoints.size(), 1u);
  EXPECT_EQ(u.endpoints[0], (EndpointConfig{{"127.0.0.1", 9001, true}, 1}));
  EXPECT_FALSE(u.dns);
  EXPECT_EQ(u.resolve_every, seconds(5));
  EXPECT_EQ(u.hash.key, HashKey::none);
  EXPECT_EQ(u.timeouts.connect, seconds(1));
  EXPECT_EQ(u.timeouts.response, seconds(15));
  EXPECT_EQ(u.timeouts.idle, seconds(60));
  EXPECT_EQ(u.retry.attempts, 2u);
  EXPECT_TRUE(u.retry.on_connect_failure);
  EXPECT_TRUE(u.retry.on_reset);
  EXPECT_FALSE(u.retry.on_timeout);
  EXPECT_EQ(u.retry.on_status, std::vector<uint16_t>{503});
  EXPECT_EQ(u.retry.backoff, milliseconds(25));
  EXPECT_EQ(u.retry.budget_percent, 20u);
  EXPECT_FALSE(u.health);
  EXPECT_EQ(u.outlier.consecutive_failures, 5u);
  EXPECT_EQ(u.outlier.ejection, seconds(30));
  EXPECT_EQ(u.outlier.max_ejected_percent, 50u);
  EXPECT_EQ(u.outlier.slow_start, seconds(0));
  EXPECT_EQ(u.limits.max_connections, 0u);
  EXPECT_EQ(u.limits.max_pending, 0u);
  EXPECT_EQ(u.pool.max_idle_per_endpoint, 64u);
  EXPECT_EQ(u.pool.idle_timeout, seconds(60));
  EXPECT_FALSE(u.tls);
}

TEST(Loader, EmptyOptionalTablesTakeTheirDefaults) {
  TempDir dir;
  dir.write("ca.pem", "ca");
  auto config = mustLoad(std::string(testing::kListenerForApp) + std::string(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.health]
  [upstream.tls]
  ca = "ca.pem"
)")),
                         dir.write("greenlb.toml", ""));
  ASSERT_TRUE(config);
  const auto& u = config->upstreams[0];
  ASSERT_TRUE(u.health);
  EXPECT_EQ(*u.health, HealthConfig{});
  EXPECT_EQ(u.health->path, "");  // TCP connect check
  ASSERT_TRUE(u.tls);
  EXPECT_TRUE(u.tls->verify);
  EXPECT_EQ(u.tls->ca, (dir.path() / "ca.pem").string());
}

TEST(Loader, FindsListenersAndUpstreamsByName) {
  auto config = mustLoad(testing::kMinimalConfig);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->findListener("web"), &config->listeners[0]);
  EXPECT_EQ(config->findUpstream("app"), &config->upstreams[0]);
  EXPECT_EQ(config->findListener("app"), nullptr);
  EXPECT_EQ(config->findUpstream("nope"), nullptr);
}

TEST(Loader, EnumNames) {
  EXPECT_EQ(toString(Protocol::tcp), "tcp");
  EXPECT_EQ(toString(Balance::least_conn), "least_conn");
  EXPECT_EQ(toString(LogFormat::combined), "combined");
  EXPECT_EQ(toString(TlsVersion::v1_3), "1.3");
  EXPECT_EQ(toString(HashKey::client_ip), "client_ip");
}

TEST(Loader, SpecExampleLoadsAsWritten) {
  TempDir dir;
  dir.write("tls/web.crt", "cert");
  dir.write("tls/web.key", "key");
  dir.write("ca.crt", "ca");
  auto config = mustLoad(toml(R"(
[global]
workers = 4
max_connections = 5000
graceful_timeout = "1m30s"
drain_delay = "5s"
fiber_stack = "128KiB"
pin_workers = true

[admin]
listen = "0.0.0.0:9901"
per_endpoint_metrics = false
allow_reload = true

[access_log]
path = "logs/access.log"
format = "combined"

[[listener]]
name = "web"
listen = "0.0.0.0:8443"
upstream = "app"
  [listener.tls]
  certificates = [{ cert = "tls/web.crt", key = "tls/web.key" }]
  min_version = "1.3"
  alpn = ["http/1.1", "http/1.0"]
  ciphers = "ECDHE+AESGCM"
  [[listener.route]]
  host = "api.example.com"
  path_prefix = "/api/"
  upstream = "api"

[[listener]]
name = "pg"
listen = "[::]:5432"
protocol = "tcp"
upstream = "api"

[[upstream]]
name = "app"
balance = "maglev"
endpoints = ["127.0.0.1:9001", { address = "127.0.0.1:9002", weight = 3 }]
  [upstream.hash]
  key = "header:X-User-Id"
  [upstream.retry]
  on = ["connect_failure", "reset", "503"]
  [upstream.health]
  path = "/healthz"
  interval = "2s"
  timeout = "1s"
  rise = 2
  fall = 3

[[upstream]]
name = "api"
panic = false
dns = "api.default.svc.cluster.local:8080"
resolve_every = "10s"
  [upstream.tls]
  verify = true
  ca = "ca.crt"
  sni = "api.internal"
)"),
                         dir.write("etc/../greenlb.toml", ""));
  ASSERT_TRUE(config);
  auto d = dir.path().string();
  EXPECT_EQ(config->global.workers, 4u);
  EXPECT_EQ(config->global.graceful_timeout, seconds(90));
  EXPECT_EQ(config->global.fiber_stack, 128 * 1024u);
  EXPECT_TRUE(config->global.pin_workers);
  EXPECT_EQ(config->admin.listen, (Address{"0.0.0.0", 9901, true}));
  EXPECT_EQ(config->access_log.path, d + "/logs/access.log");
  EXPECT_EQ(config->access_log.format, LogFormat::combined);

  const auto& web = config->listeners[0];
  ASSERT_TRUE(web.tls);
  ASSERT_EQ(web.tls->certificates.size(), 1u);
  EXPECT_EQ(web.tls->certificates[0], (CertificateConfig{d + "/tls/web.crt", d + "/tls/web.key"}));
  EXPECT_EQ(web.tls->min_version, TlsVersion::v1_3);
  EXPECT_EQ(web.tls->alpn, (std::vector<std::string>{"http/1.1", "http/1.0"}));
  EXPECT_EQ(web.tls->ciphers, "ECDHE+AESGCM");
  EXPECT_EQ(web.routes.at(0), (RouteConfig{"api.example.com", "/api/", "api", {}, {}, {}, {}}));
  EXPECT_EQ(config->listeners[1].protocol, Protocol::tcp);
  EXPECT_EQ(config->listeners[1].listen, (Address{"::", 5432, true}));

  const auto& app = config->upstreams[0];
  EXPECT_EQ(app.balance, Balance::maglev);
  EXPECT_EQ(app.hash, (HashConfig{HashKey::header, "x-user-id"}));
  EXPECT_EQ(app.endpoints.at(1), (EndpointConfig{{"127.0.0.1", 9002, true}, 3}));
  ASSERT_TRUE(app.health);
  EXPECT_EQ(app.health->path, "/healthz");

  const auto& api = config->upstreams[1];
  EXPECT_FALSE(api.panic);
  ASSERT_TRUE(api.dns);
  EXPECT_EQ(*api.dns, (Address{"api.default.svc.cluster.local", 8080, false}));
  EXPECT_EQ(api.resolve_every, seconds(10));
  EXPECT_TRUE(api.endpoints.empty());
  ASSERT_TRUE(api.tls);
  EXPECT_EQ(api.tls->ca, d + "/ca.crt");
  EXPECT_EQ(api.tls->sni, "api.internal");
}

TEST(Loader, RelativePathsResolveAgainstTheConfigDirectory) {
  TempDir dir;
  dir.write("conf/tls/a.crt", "cert");
  dir.write("shared/a.key", "key");
  auto config_path = dir.write("conf/greenlb.toml", "");
  auto config = mustLoad(toml(R"(
[global]
resolv_conf = "dns/resolv.conf"
hosts_file = "/etc//hosts"

[access_log]
path = "../logs/./access.log"

[[listener]]
name = "web"
listen = "127.0.0.1:8443"
upstream = "app"
  [listener.tls]
  certificates = [{ cert = "./tls/a.crt", key = "../shared/a.key" }]

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)"),
                         config_path);
  ASSERT_TRUE(config);
  auto d = dir.path().string();
  EXPECT_EQ(config->global.resolv_conf, d + "/conf/dns/resolv.conf");
  EXPECT_EQ(config->global.hosts_file, "/etc//hosts");  // absolute: kept as written
  EXPECT_EQ(config->access_log.path, d + "/logs/access.log");
  EXPECT_EQ(config->listeners[0].tls->certificates[0],
            (CertificateConfig{d + "/conf/tls/a.crt", d + "/shared/a.key"}));
}

TEST(Loader, StdoutAndOffAreNotPaths) {
  for (std::string_view path : {"stdout", "off"}) {
    auto config = mustLoad("[access_log]\npath = \"" + std::string(path) + "\"\n" +
                           std::string(testing::kMinimalConfig));
    ASSERT_TRUE(config);
    EXPECT_EQ(config->access_log.path, path);
  }
}

TEST(Loader, RelativeConfigPathUsesTheWorkingDirectory) {
  auto config = mustLoad("[global]\nhosts_file = \"hosts\"\n" + std::string(testing::kMinimalConfig),
                         "greenlb.toml");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->global.hosts_file, (std::filesystem::current_path() / "hosts").string());
}

TEST(Loader, LoadsAFileFromDisk) {
  TempDir dir;
  auto path = dir.write("greenlb.toml", testing::kMinimalConfig);
  auto result = loadConfigFile(path);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->source_path, path);
  EXPECT_EQ(result.config->listeners.size(), 1u);
}

TEST(Loader, RateLimits) {
  auto config = testing::mustLoad(testing::toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"
  [listener.rate_limit]
  requests_per_second = 100
  [[listener.route]]
  path_prefix = "/login"
  upstream = "app"
    [listener.route.rate_limit]
    requests_per_second = 2
    burst = 5
    key = "header:X-Api-Key"
  [[listener.route]]
  upstream = "app"
  rate_limit = { requests_per_second = 1000, key = "global" }

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)"));
  ASSERT_TRUE(config);
  const ListenerConfig& l = config->listeners.at(0);
  ASSERT_TRUE(l.rate_limit);
  // burst defaults to the rate; the key to the client's address.
  EXPECT_EQ(*l.rate_limit, (RateLimitConfig{100, 100, RateLimitKey::client_ip, ""}));
  ASSERT_TRUE(l.routes.at(0).rate_limit);
  EXPECT_EQ(*l.routes[0].rate_limit, (RateLimitConfig{2, 5, RateLimitKey::header, "x-api-key"}));
  ASSERT_TRUE(l.routes.at(1).rate_limit);
  EXPECT_EQ(*l.routes[1].rate_limit, (RateLimitConfig{1000, 1000, RateLimitKey::global, ""}));
  EXPECT_FALSE(testing::mustLoad(testing::kMinimalConfig)->listeners.at(0).rate_limit);
}

TEST(Loader, InlineTablesAndDottedKeysWork) {
  auto config = mustLoad(toml(R"(
listener = [{ name = "web", listen = "127.0.0.1:8080", upstream = "app", timeouts = { client_idle = "5s" } }]

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
timeouts.connect = "250ms"
)"));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->listeners[0].timeouts.client_idle, seconds(5));
  EXPECT_EQ(config->upstreams[0].timeouts.connect, milliseconds(250));
}

}  // namespace
}  // namespace greenlb::conf
