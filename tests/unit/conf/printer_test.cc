// printConfig: valid TOML that loads back to an equal Config, naming exactly the keys
// the schema knows.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <set>

#include "conf/loader.h"
#include "conf/schema.h"
#include "tests/unit/conf/conf_test_util.h"

namespace greenlb::conf {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// A config in which every field differs from its default and every optional part is
// present, so that a field the printer or the loader forgets cannot go unnoticed.
Config everythingSet(const TempDir& dir) {
  auto d = dir.path().string();
  for (auto file :
       {"web.crt", "web.key", "api.crt", "api.key", "ca.pem", "client.crt", "client.key"}) {
    dir.write(file, "pem");
  }
  Config c;
  c.source_path = d + "/greenlb.toml";
  c.global = {8, 5000, 45s, 3s, 256 * kKiB, true, d + "/resolv.conf", d + "/hosts"};
  c.admin = {{"::1", 9902, true}, false, true};
  c.access_log = {d + "/access.log", LogFormat::combined};

  ListenerConfig web;
  web.name = "web";
  web.listen = {"0.0.0.0", 8443, true};
  web.upstream = "app";
  web.proxy_protocol = ProxyProtocol::any;
  web.timeouts = {5s, 30s, 2h};
  web.limits = {64 * kKiB, 10 * kMiB, 100};
  web.tls = ListenerTls{{{d + "/web.crt", d + "/web.key"}, {d + "/api.crt", d + "/api.key"}},
                        TlsVersion::v1_3,
                        {"http/1.1", "http/1.0"},
                        "ECDHE+AESGCM:\"odd\\chars\""};
  auto route = [](std::string host, std::string prefix, std::string upstream) {
    RouteConfig r;
    r.host = std::move(host);
    r.path_prefix = std::move(prefix);
    r.upstream = std::move(upstream);
    return r;
  };
  web.routes = {route("api.example.com", "/api/", "api"), route("*.example.com", "", "app"),
                route("", "/static/", "app")};
  web.routes[0].rewrite_prefix = "/v1/";
  // Keys in the order the loader reads them back (a TOML table's keys, sorted).
  web.routes[0].request_headers = {
      {{"X-Client", "${client_ip} via ${listener}"}, {"X-Env", "prod"}},
      {{"Via", "greenlb $$1"}},
      {"X-Debug", "x-forwarded-proto"}};
  web.routes[2].response_headers = {
      {{"Cache-Control", "no-store"}}, {{"X-Upstream", "${upstream}"}}, {"Server"}};
  web.rate_limit = RateLimitConfig{100, 200, RateLimitKey::client_ip, ""};
  web.routes[0].rate_limit = RateLimitConfig{5, 10, RateLimitKey::header, "x-api-key"};
  web.routes[1].rate_limit = RateLimitConfig{1000, 1000, RateLimitKey::global, ""};
  c.listeners.push_back(web);

  ListenerConfig pg;
  pg.name = "pg";
  pg.listen = {"pg.local", 5432, false};
  pg.protocol = Protocol::tcp;
  pg.upstream = "api";
  c.listeners.push_back(pg);

  UpstreamConfig app;
  app.name = "app";
  app.panic = false;
  app.balance = Balance::maglev;
  app.endpoints = {{{"10.0.0.1", 80, true}, 1},
                   {{"fd00::1", 8080, true}, 1000},
                   {{"backend.local", 81, false}, 7}};
  app.hash = {HashKey::cookie, "Session"};
  app.timeouts = {250ms, 20s, 90s};
  app.retry = {5, false, false, true, {502, 504}, 100ms, 50};
  app.health = HealthConfig{"/ready", 3s, 500ms, 4, 5, std::nullopt};
  app.outlier = {0, 1min, 30, 10s};
  app.limits = {100, 1000, 0};
  app.pool = {8, 15s};
  app.send_proxy_protocol = ProxyProtocol::v2;
  app.tls = UpstreamTls{true, d + "/ca.pem", "app.internal", d + "/client.crt", d + "/client.key"};
  app.sticky = StickyConfig{"GLB", 1h};
  c.upstreams.push_back(app);

  UpstreamConfig api;
  api.name = "api";
  api.balance = Balance::least_conn;
  api.dns = Address{"api.default.svc.cluster.local", 8080, false};
  api.resolve_every = 1s;
  api.hash = {HashKey::client_ip, ""};
  api.protocol = UpstreamProtocol::http2;
  api.health = HealthConfig{};  // a gRPC check: no path
  api.health->grpc_service = "app.v1.Foo";
  api.limits = {0, 0, 50};
  api.tls = UpstreamTls{false, "/nonexistent/ca.pem", "", "", ""};
  c.upstreams.push_back(api);
  return c;
}

LoadResult reload(const std::string& text, const Config& like) {
  return loadConfigString(text, like.source_path);
}

TEST(Printer, RoundTripsAConfigWithEverythingSet) {
  TempDir dir;
  auto config = everythingSet(dir);
  auto text = printConfig(config);
  auto again = reload(text, config);
  for (const auto& e : again.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(again.ok()) << text;
  EXPECT_EQ(*again.config, config) << text;
  EXPECT_EQ(printConfig(*again.config), text);
}

TEST(Printer, RoundTripsDefaults) {
  auto config = testing::mustLoad(testing::kMinimalConfig);
  ASSERT_TRUE(config);
  auto text = printConfig(*config);
  auto again = reload(text, *config);
  ASSERT_TRUE(again.ok()) << text;
  EXPECT_EQ(*again.config, *config);
}

TEST(Printer, WritesEveryDefault) {
  auto text = printConfig(Config{});
  EXPECT_EQ(text,
            "# greenlb effective configuration: every default written out.\n"
            "[global]\n"
            "workers = 0\n"
            "max_connections = 100000\n"
            "graceful_timeout = \"30s\"\n"
            "drain_delay = \"0s\"\n"
            "fiber_stack = \"64KiB\"\n"
            "pin_workers = false\n"
            "resolv_conf = \"/etc/resolv.conf\"\n"
            "hosts_file = \"/etc/hosts\"\n"
            "\n"
            "[admin]\n"
            "listen = \"127.0.0.1:9901\"\n"
            "per_endpoint_metrics = true\n"
            "allow_reload = false\n"
            "\n"
            "[access_log]\n"
            "path = \"stdout\"\n"
            "format = \"json\"\n");
}

TEST(Printer, EscapesStrings) {
  Config c = *testing::mustLoad(testing::kMinimalConfig);
  c.access_log.path = "/logs/a \"quoted\"\\\tname\x01";
  auto text = printConfig(c);
  EXPECT_NE(text.find(R"(path = "/logs/a \"quoted\"\\\tname\u0001")"), std::string::npos) << text;
  auto again = loadConfigString(text, "/x/greenlb.toml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.config->access_log.path, c.access_log.path);
}

// Collects "table.key" for every key in `table`, elements of arrays sharing their
// array's path as in conf/schema.h.
void collectKeys(const toml::table& table, const std::string& path, std::set<std::string>& out) {
  for (auto&& [key, node] : table) {
    std::string full = path.empty() ? std::string(key.str()) : path + "." + std::string(key.str());
    out.insert(full);
    // The keys of a header rule's `set` and `add` are header names, not keys of the schema.
    const SchemaKey* row = findKey(path, key.str());
    if (row != nullptr && row->value.type == ValueType::header_fields) continue;
    if (const auto* sub = node.as_table()) collectKeys(*sub, full, out);
    if (const auto* array = node.as_array()) {
      for (const auto& element : *array) {
        if (const auto* t = element.as_table()) collectKeys(*t, full, out);
      }
    }
  }
}

TEST(Printer, WritesExactlyTheKeysOfTheSchema) {
  TempDir dir;
  auto text = printConfig(everythingSet(dir));
  std::set<std::string> printed;
  collectKeys(toml::parse(text), "", printed);
  std::set<std::string> known;
  for (const auto& k : knownKeys()) known.insert(k.path());
  EXPECT_EQ(printed, known);
}

TEST(Schema, KeysOfATable) {
  EXPECT_EQ(keysOf("upstream.timeouts"),
            (std::vector<std::string_view>{"connect", "response", "idle"}));
  EXPECT_TRUE(keysOf("nope").empty());
  EXPECT_EQ(relatedTableWith("upstream", "connect"), "upstream.timeouts");
  EXPECT_EQ(relatedTableWith("upstream.timeouts", "name"), "upstream");
  EXPECT_EQ(relatedTableWith("", "workers"), "global");
  EXPECT_EQ(relatedTableWith("upstream", "weight"), "");  // endpoints are inline tables
  EXPECT_EQ(headerOf("listener"), "[[listener]]");
  EXPECT_EQ(headerOf("listener.route"), "[[listener.route]]");
  EXPECT_EQ(headerOf("upstream.tls"), "[upstream.tls]");
}

// Each row of conf/key_table.cc is complete: the printer, the loader and the chart schema
// generator rely on it.
TEST(Schema, EveryRowSaysWhatItHoldsAndWhereItLives) {
  for (const SchemaKey& k : knownKeys()) {
    EXPECT_EQ(findKey(k.table, k.key), &k) << k.path() << " has two rows";
    EXPECT_NE(k.get, nullptr) << k.path();
    EXPECT_EQ(k.kind == KeyKind::value, k.value.type != ValueType::none) << k.path();
    if (k.value.type == ValueType::choice) {
      EXPECT_FALSE(k.value.choices.empty()) << k.path();
    }
    if (k.value.type == ValueType::integer || k.value.type == ValueType::size) {
      EXPECT_LE(k.value.min, k.value.max) << k.path();
    }
    if (k.value.type == ValueType::hash_key || k.value.type == ValueType::retry_conditions ||
        k.value.type == ValueType::rate_limit_key) {
      EXPECT_FALSE(k.value.pattern.empty()) << k.path();
    }
    if (k.table.empty()) continue;
    // The enclosing table is itself a row: a [table], a [[table]] or inline tables.
    auto dot = k.table.rfind('.');
    const SchemaKey* parent = dot == std::string_view::npos
                                  ? findKey("", k.table)
                                  : findKey(k.table.substr(0, dot), k.table.substr(dot + 1));
    ASSERT_NE(parent, nullptr) << k.path();
    EXPECT_TRUE(parent->kind != KeyKind::value || parent->value.type == ValueType::tables ||
                parent->value.type == ValueType::addresses_or_tables)
        << k.path();
  }
}

TEST(Schema, TheLoaderTakesRangesAndNamesFromTheTable) {
  const SchemaKey* workers = findKey("global", "workers");
  ASSERT_NE(workers, nullptr);
  auto result = loadConfigString("[global]\nworkers = " + std::to_string(workers->value.max + 1) +
                                     "\n" + std::string(testing::kMinimalConfig),
                                 "/x/greenlb.toml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "'workers' must be between 0 and " +
                                          std::to_string(workers->value.max) + ", got " +
                                          std::to_string(workers->value.max + 1));
  const SchemaKey* balance = findKey("upstream", "balance");
  ASSERT_NE(balance, nullptr);
  for (std::string_view name : balance->value.choices) {
    auto ok = loadConfigString(
        "[[listener]]\nname = \"l\"\nlisten = \"127.0.0.1:1\"\nupstream = \"a\"\n"
        "[[upstream]]\nname = \"a\"\nendpoints = [\"127.0.0.1:1\"]\n"
        "balance = \"" +
            std::string(name) + "\"\n[upstream.hash]\nkey = \"path\"\n",
        "/x/greenlb.toml");
    EXPECT_TRUE(ok.ok()) << name;
  }
}

}  // namespace
}  // namespace greenlb::conf
