// One test per validation rule of the loader: the exact message and its position (line
// and column), so that `greenlb --check` points at the offending value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/loader.h"
#include "tests/unit/conf/conf_test_util.h"

namespace greenlb::conf {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::TempDir;
using testing::toml;

// --- TOML itself -----------------------------------------------------------------------

TEST(Validation, SyntaxErrorHasItsPosition) {
  auto result = loadConfigString(toml(R"(
[global]
workers = = 4
)"),
                                 "/x/greenlb.toml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 2u);
  EXPECT_EQ(result.errors[0].column, 11u);
  EXPECT_THAT(result.errors[0].str(), ::testing::StartsWith("/x/greenlb.toml:2:11: error: "));
}

TEST(Validation, RedefinedKeyIsASyntaxError) {
  auto errors = errorsOf(toml(R"(
[global]
workers = 1
workers = 2
)"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "3:11: Error while parsing key-value pair: cannot redefine existing integer 'workers'");
}

TEST(Validation, DiagnosticPrintsFileLineColumn) {
  EXPECT_EQ((Diagnostic{"a.toml", 3, 7, "boom"}.str()), "a.toml:3:7: error: boom");
  EXPECT_EQ((Diagnostic{"a.toml", 0, 0, "cannot read"}.str()), "a.toml: error: cannot read");
}

TEST(Validation, MissingFileIsOneErrorWithoutPosition) {
  auto result = loadConfigFile("/nonexistent/greenlb.toml");
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].str(),
            "/nonexistent/greenlb.toml: error: cannot read the config file: No such file or "
            "directory");
}

TEST(Validation, ConfigThatIsADirectory) {
  TempDir dir;
  auto result = loadConfigFile(dir.path().string());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "cannot read the config file: is a directory");
}

// --- unknown keys -------------------------------------------------------------------------

TEST(Validation, UnknownKeySuggestsTheClosest) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
workres = 4
)")),
              ElementsAre("2:1: unknown key 'workres' in [global]; did you mean 'workers'?"));
}

TEST(Validation, UnknownKeyWithoutACloseMatch) {
  EXPECT_THAT(errorsOf(toml(R"(
[admin]
threads = 4
)")),
              ElementsAre("2:1: unknown key 'threads' in [admin]"));
}

TEST(Validation, UnknownTopLevelTable) {
  EXPECT_THAT(errorsOf(toml(R"(
[globl]
workers = 4
)")),
              ElementsAre("1:2: unknown key 'globl' at the top level; did you mean 'global'?"));
}

TEST(Validation, KeyInTheWrongTableSaysWhereItBelongs) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
connect = "1s"
)")),
              ElementsAre("4:1: unknown key 'connect' in [[upstream]]; it belongs in "
                          "[upstream.timeouts]"));
  EXPECT_THAT(errorsOf(toml(R"(
workers = 4
)")),
              ElementsAre("1:1: unknown key 'workers' at the top level; it belongs in [global]"));
}

TEST(Validation, KeyOfTheEnclosingArrayOfTables) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
  [listener.timeouts]
  upstream = "app"
)")),
              ElementsAre("1:1: http listener needs 'upstream' or at least one [[listener.route]]",
                          "5:3: unknown key 'upstream' in [listener.timeouts]; it belongs in "
                          "[[listener]]"));
}

TEST(Validation, UnknownKeyInsideAnInlineEntry) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = [{ address = "127.0.0.1:9001", wieght = 2 }]
)")),
              ElementsAre("3:44: unknown key 'wieght' in an 'endpoints' entry; did you mean "
                          "'weight'?"));
}

// --- types and ranges ---------------------------------------------------------------------

TEST(Validation, WrongType) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
workers = "4"
pin_workers = "yes"
max_connections = 1.5
)")),
              ElementsAre("2:11: 'workers' must be an integer, not a string",
                          "3:15: 'pin_workers' must be true or false, not a string",
                          "4:19: 'max_connections' must be an integer, not a float"));
}

TEST(Validation, NumberWhereAStringBelongsHintsAtQuotes) {
  EXPECT_THAT(errorsOf(toml(R"(
[access_log]
format = 1
)")),
              ElementsAre("2:10: 'format' must be a string, not an integer; put it in quotes"));
}

TEST(Validation, DurationOrAddressOfTheWrongType) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
drain_delay = 1.5

[admin]
listen = 9901
)")),
              ElementsAre("2:15: 'drain_delay' must be a duration string such as \"5s\", not a "
                          "float",
                          "5:10: 'listen' must be an address string such as \"10.0.0.1:80\", not "
                          "an integer"));
}

TEST(Validation, TableWhereAValueBelongs) {
  EXPECT_THAT(errorsOf(toml(R"(
global = 3
)")),
              ElementsAre("1:10: 'global' must be a table, not an integer"));
}

TEST(Validation, OutOfRange) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
workers = 5000
max_connections = 0
)")),
              ElementsAre("2:11: 'workers' must be between 0 and 1024, got 5000",
                          "3:19: 'max_connections' must be between 1 and 100000000, got 0"));
}

TEST(Validation, NegativeWhereOnlyAMinimumApplies) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.limits]
  max_pending = -1
)")),
              ElementsAre("5:17: 'max_pending' must be at least 0, got -1"));
}

TEST(Validation, WeightBetween1And1000) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = [{ address = "127.0.0.1:9001", weight = 0 },
             { address = "127.0.0.1:9002", weight = 1001 }]
)")),
              ElementsAre("3:53: 'weight' must be between 1 and 1000, got 0",
                          "4:53: 'weight' must be between 1 and 1000, got 1001"));
}

TEST(Validation, PercentagesUpTo100) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.outlier]
  max_ejected_percent = 101
  [upstream.retry]
  budget_percent = 200
)")),
              ElementsAre("5:25: 'max_ejected_percent' must be between 0 and 100, got 101",
                          "7:20: 'budget_percent' must be between 0 and 100, got 200"));
}

// --- durations, sizes, addresses, enums ---------------------------------------------------

TEST(Validation, DurationAsBareIntegerGetsAHint) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
graceful_timeout = 30
)")),
              ElementsAre("2:20: 'graceful_timeout' must be a duration string with a unit, such "
                          "as \"30s\" or \"30ms\""));
}

TEST(Validation, NegativeDurationAsBareInteger) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
drain_delay = -3
)")),
              ElementsAre("2:15: 'drain_delay' must be a duration string with a unit, such as "
                          "\"5s\" or \"5ms\""));
}

TEST(Validation, BadDuration) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
drain_delay = "5sec"
)")),
              ElementsAre("2:15: 'drain_delay': duration \"5sec\" has an unknown unit \"sec\" "
                          "(use ms, s, m or h, e.g. \"250ms\", \"5s\", \"1m30s\")"));
}

TEST(Validation, ZeroTimeoutWhereZeroMakesNoSense) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"
  [listener.timeouts]
  client_header = "0s"
  tunnel_idle = "0"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.timeouts]
  connect = "0ms"
)")),
              ElementsAre("6:19: 'client_header' must be longer than 0s",
                          "7:17: 'tunnel_idle' must be longer than 0s",
                          "13:13: 'connect' must be longer than 0s"));
}

TEST(Validation, ZeroIsFineWhereItMeansNone) {
  testing::mustLoad(std::string(testing::kListenerForApp) + std::string(toml(R"(
[global]
graceful_timeout = "0s"
drain_delay = "0s"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.retry]
  backoff = "0s"
  attempts = 0
  [upstream.outlier]
  slow_start = "0s"
  consecutive_failures = 0
)")));
}

TEST(Validation, BadSize) {
  EXPECT_THAT(
      errorsOf(toml(R"(
[global]
fiber_stack = "64KB"

[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"
  [listener.limits]
  max_header_bytes = 100
  max_body_bytes = -5
  max_requests_per_connection = "5"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
      ElementsAre("2:15: 'fiber_stack': size \"64KB\" has an unknown unit \"KB\" (use B, KiB, MiB "
                  "or GiB, e.g. \"16KiB\", or an integer)",
                  "9:22: 'max_header_bytes' must be between 1KiB and 1MiB, got 100",
                  "10:20: 'max_body_bytes' must not be negative",
                  "11:33: 'max_requests_per_connection' must be an integer, not a string"));
}

TEST(Validation, SizeOfTheWrongType) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
fiber_stack = 1.5
)")),
              ElementsAre("2:15: 'fiber_stack' must be a size (an integer number of bytes or a "
                          "string such as \"16KiB\"), not a float"));
}

TEST(Validation, BadAddresses) {
  EXPECT_THAT(errorsOf(toml(R"(
[admin]
listen = "9901"

[[upstream]]
name = "app"
endpoints = ["::1:80", "10.0.0.1:0", 80]
)")),
              ElementsAre("2:10: 'listen': address \"9901\" has no port (expected \"host:port\" "
                          "or \"[v6]:port\")",
                          "6:14: 'endpoints': address \"::1:80\" looks like an IPv6 address: put "
                          "it in brackets, e.g. \"[::1]:8080\"",
                          "6:24: 'endpoints': address \"10.0.0.1:0\" has port 0",
                          "6:38: each entry of 'endpoints' must be an address or a table such as "
                          "{ address = \"10.0.0.1:80\", weight = 2 }, not an integer"));
}

TEST(Validation, ListenOnPortZeroIsAllowed) {
  auto config = testing::mustLoad(toml(R"(
[admin]
listen = "127.0.0.1:0"

[[listener]]
name = "web"
listen = "127.0.0.1:0"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["[::1]:9001"]
)"));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->listeners[0].listen, (Address{"127.0.0.1", 0, true}));
  EXPECT_EQ(config->upstreams[0].endpoints[0].address, (Address{"::1", 9001, true}));
}

TEST(Validation, UnknownEnumValueSuggestsTheClosest) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
balance = "leastconn"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("3:11: 'balance' must be one of \"round_robin\", \"least_conn\", "
                          "\"p2c\", \"random\" or \"maglev\", not \"leastconn\"; did you mean "
                          "\"least_conn\"?"));
  EXPECT_THAT(errorsOf(toml(R"(
[access_log]
format = "apache"
)")),
              ElementsAre("2:10: 'format' must be one of \"json\" or \"combined\", not "
                          "\"apache\""));
}

TEST(Validation, ProxyProtocolVersions) {
  // "any" is for listeners: a sender picks one version (docs/proxy-protocol.md).
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"
proxy_protocol = "v3"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
send_proxy_protocol = "any"
)")),
              ElementsAre("5:18: 'proxy_protocol' must be one of \"off\", \"v1\", \"v2\" or "
                          "\"any\", not \"v3\"; did you mean \"v1\"?",
                          "10:23: 'send_proxy_protocol' must be one of \"off\", \"v1\" or "
                          "\"v2\", not \"any\""));
}

TEST(Validation, SendProxyProtocolNeedsHttp1Upstreams) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
protocol = "http2"
endpoints = ["127.0.0.1:9001"]
send_proxy_protocol = "v1"
)")),
              ElementsAre("5:23: send_proxy_protocol needs protocol = \"http1\": an HTTP/2 "
                          "upstream connection carries the requests of many clients, a PROXY "
                          "header speaks for one"));
}

TEST(Validation, TlsMinVersionAsAFloat) {
  TempDir dir;
  dir.write("a.crt", "x");
  dir.write("a.key", "x");
  auto path = dir.write("greenlb.toml", "");
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8443"
upstream = "app"
  [listener.tls]
  certificates = [{ cert = "a.crt", key = "a.key" }]
  min_version = 1.3

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)"),
                       path),
              ElementsAre("7:17: 'min_version' must be a string, not a float; put it in quotes"));
}

// --- names --------------------------------------------------------------------------------

TEST(Validation, MissingRequiredKeysAtTheTableHeader) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
protocol = "http"
upstream = "app"

[[upstream]]
endpoints = ["127.0.0.1:9001"]

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9002"]
)")),
              ElementsAre("1:1: [[listener]] is missing required key 'name'",
                          "1:1: [[listener]] is missing required key 'listen'",
                          "5:1: [[upstream]] is missing required key 'name'"));
}

TEST(Validation, RouteWithoutUpstream) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"
  [[listener.route]]
  path_prefix = "/api/"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("5:3: [[listener.route]] is missing required key 'upstream'"));
}

TEST(Validation, BadNames) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "my web"
listen = "127.0.0.1:8080"
upstream = ""

[[upstream]]
name = ""
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("2:8: 'name' \"my web\" may contain only letters, digits, '_', '-' and "
                          "'.'",
                          "4:12: 'upstream' must not be empty", "7:8: 'name' must not be empty"));
}

TEST(Validation, DuplicateListenerNameAtTheSecond) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"

[[listener]]
name = "web"
listen = "127.0.0.1:8081"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("7:8: duplicate listener name 'web' (first defined at line 2)"));
}

TEST(Validation, DuplicateUpstreamNameAtTheSecond) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]

[[upstream]]
  name = "app"
  endpoints = ["127.0.0.1:9002"]
)")),
              ElementsAre("6:10: duplicate upstream name 'app' (first defined at line 2)"));
}

// --- listen addresses -------------------------------------------------------------------

TEST(Validation, DuplicateListenAddressAtTheSecond) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "a"
listen = "127.0.0.1:8080"
upstream = "app"

[[listener]]
name = "b"
listen = "127.0.0.1:8080"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("8:10: duplicate listen address '127.0.0.1:8080' (already used by "
                          "listener 'a' (line 3))"));
}

TEST(Validation, ListenerOnTheDefaultAdminAddress) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "a"
listen = "127.0.0.1:9901"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("3:10: duplicate listen address '127.0.0.1:9901' (already used by "
                          "[admin] (its default))"));
}

TEST(Validation, AdminAfterAListenerOnTheSameAddress) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "a"
listen = "0.0.0.0:8080"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]

[admin]
listen = "127.0.0.1:8080"
)")),
              ElementsAre("11:10: listen address '127.0.0.1:8080' overlaps '0.0.0.0:8080' of "
                          "listener 'a' (line 3)"));
}

TEST(Validation, Ipv6WildcardOverlapsEverythingOnItsPort) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "a"
listen = "10.0.0.1:8080"
upstream = "app"

[[listener]]
name = "b"
listen = "[::]:8080"
upstream = "app"

[[listener]]
name = "c"
listen = "[::1]:8081"
upstream = "app"

[[listener]]
name = "d"
listen = "0.0.0.0:8081"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("8:10: listen address '[::]:8080' overlaps '10.0.0.1:8080' of "
                          "listener 'a' (line 3)"));
}

// --- references and combinations ----------------------------------------------------------

TEST(Validation, UnknownUpstreamFromListenerAndRoute) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "ap"
  [[listener.route]]
  path_prefix = "/api/"
  upstream = "billing"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("4:12: unknown upstream 'ap'; did you mean 'app'?",
                          "7:14: unknown upstream 'billing'"));
}

TEST(Validation, TcpListenerNeedsAnUpstream) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "pg"
listen = "127.0.0.1:5432"
protocol = "tcp"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("1:1: tcp listener is missing required key 'upstream'"));
}

TEST(Validation, TcpListenerCannotHaveRoutes) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "pg"
listen = "127.0.0.1:5432"
protocol = "tcp"
upstream = "app"
  [[listener.route]]
  upstream = "app"
  [[listener.route]]
  upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("6:3: a tcp listener cannot have routes (they match HTTP requests); it "
                          "forwards every connection to its 'upstream'"));
}

TEST(Validation, HttpListenerNeedsAnUpstreamOrRoutes) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]

[[listener]]
name = "web"
listen = "127.0.0.1:8080"
)")),
              ElementsAre("5:1: http listener needs 'upstream' or at least one "
                          "[[listener.route]]"));
}

TEST(Validation, RoutesAloneAreEnoughForHttp) {
  auto config = testing::mustLoad(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
  [[listener.route]]
  host = "API.example.com"
  upstream = "app"
  [[listener.route]]
  host = "*.example.com"
  path_prefix = "/v1/"
  upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)"));
  ASSERT_TRUE(config);
  const auto& routes = config->listeners[0].routes;
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], (RouteConfig{"api.example.com", "", "app", {}, {}, {}, {}}));
  EXPECT_EQ(routes[1], (RouteConfig{"*.example.com", "/v1/", "app", {}, {}, {}, {}}));
}

TEST(Validation, SingleTableWhereAnArrayOfTablesBelongs) {
  EXPECT_THAT(errorsOf(toml(R"(
[listener]
name = "web"
)")),
              ElementsAre("1:1: 'listener' must be an array of tables: write [[listener]] (or "
                          "wrap the table in [ ])"));
}

TEST(Validation, MaglevNeedsAHashKey) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
balance = "maglev"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("3:11: balance \"maglev\" needs a hash key: add [upstream.hash] key = "
                          "..."));
}

// A tcp listener "pg" (line 5: its upstream) whose upstream "db" hashes `key` (line 12).
std::string tcpListenerHashing(const std::string& key) {
  return std::string(toml(R"(
[[listener]]
name = "pg"
listen = "127.0.0.1:5432"
protocol = "tcp"
upstream = "db"

[[upstream]]
name = "db"
balance = "maglev"
endpoints = ["127.0.0.1:9001"]
  [upstream.hash]
  key = ")" + key + "\"\n"));
}

// A tcp listener forwards connections: its upstream cannot hash what only an HTTP request
// has (conf/policy_table.h). Reported at the hash key, naming the listener's line.
TEST(Validation, HttpOnlyHashKeyBehindATcpListener) {
  EXPECT_THAT(errorsOf(tcpListenerHashing("header:x-user")),
              ElementsAre("12:9: hash key \"header:x-user\" needs an HTTP request, but upstream "
                          "'db' serves tcp listener 'pg' (line 5), whose connections offer only "
                          "the client's address (key \"client_ip\")"));
  for (const char* key : {"cookie:session", "path"}) {
    auto errors = errorsOf(tcpListenerHashing(key));
    ASSERT_EQ(errors.size(), 1u) << key;
    EXPECT_THAT(errors[0], ::testing::StartsWith("12:9: hash key")) << key;
  }
  EXPECT_THAT(errorsOf(tcpListenerHashing("client_ip")), ElementsAre());
}

TEST(Validation, AnUnusedHashKeyBehindATcpListener) {
  // A policy that does not hash never reads its key. (An http listener in front of an
  // HTTP-only key is in loader_test's full config.)
  std::string text = tcpListenerHashing("path");
  text.replace(text.find("maglev"), 6, "p2c");
  EXPECT_THAT(errorsOf(text), ElementsAre());
}

TEST(Validation, HashTableNeedsAValidKey) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.hash]

[[upstream]]
name = "api"
balance = "maglev"
endpoints = ["127.0.0.1:9002"]
  [upstream.hash]
  key = "header:"
)")),
              ElementsAre("4:3: [upstream.hash] is missing required key 'key'",
                          "11:9: 'key': hash key \"header:\" needs a valid header name after the "
                          "colon"));
}

// --- rate limits (docs/rate-limits.md) ---------------------------------------------------

TEST(Validation, RateLimitsNeedARateAndAValidKey) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "app"
  [listener.rate_limit]
  burst = 0
  key = "cookie:sid"
  [[listener.route]]
  path_prefix = "/login"
  upstream = "app"
    [listener.route.rate_limit]
    requests_per_second = 2
    key = "header:"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("5:3: [listener.rate_limit] is missing required key "
                          "'requests_per_second'",
                          "6:11: 'burst' must be between 1 and 100000000, got 0",
                          "7:9: 'key': rate limit key \"cookie:sid\" is not a rate limit key "
                          "(expected \"client_ip\", \"header:NAME\" or \"global\")",
                          "13:11: 'key': rate limit key \"header:\" needs a valid header name "
                          "after the colon"));
}

TEST(Validation, ATcpListenerHasNoRequestsToLimit) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "pg"
listen = "127.0.0.1:5432"
protocol = "tcp"
upstream = "db"
  [listener.rate_limit]
  requests_per_second = 10

[[upstream]]
name = "db"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("6:3: a rate limit counts HTTP requests; a tcp listener has none"));
}

TEST(Validation, DnsTogetherWithEndpoints) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
dns = "app.default.svc.cluster.local:8080"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("4:13: 'dns' and 'endpoints' exclude each other: use one of them"));
}

TEST(Validation, NeitherDnsNorEndpoints) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
)")),
              ElementsAre("1:1: upstream is missing required key 'endpoints' (or 'dns')"));
}

TEST(Validation, EmptyEndpointList) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = []
)")),
              ElementsAre("3:13: 'endpoints' must not be empty (list at least one address, or "
                          "use 'dns')"));
}

TEST(Validation, DnsNeedsAName) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
dns = "10.0.0.1:80"
)")),
              ElementsAre("3:7: 'dns' needs a host name to resolve, not an IP address; list "
                          "\"10.0.0.1:80\" in 'endpoints' instead"));
}

TEST(Validation, DuplicateEndpoint) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001",
             { address = "127.0.0.1:9001", weight = 2 }]
)")),
              ElementsAre("4:14: duplicate endpoint '127.0.0.1:9001' (first at line 3)"));
}

TEST(Validation, EndpointTableNeedsAnAddress) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = [{ weight = 2 }]
)")),
              ElementsAre("3:14: an 'endpoints' entry is missing required key 'address'"));
}

TEST(Validation, UnknownRetryConditions) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.retry]
  on = ["connect_failures", "404", "502", 503]
)")),
              ElementsAre("5:9: 'on': retry condition \"connect_failures\" is not a retry "
                          "condition (expected \"connect_failure\", \"reset\", \"timeout\" or a "
                          "5xx status such as \"503\"); did you mean \"connect_failure\"?",
                          "5:29: 'on': retry condition \"404\" is not a 5xx status; only 5xx "
                          "responses are retried",
                          "5:43: each entry of 'on' must be a string, not an integer; put it in "
                          "quotes"));
}

TEST(Validation, RetryOnReplacesTheDefaultList) {
  auto config = testing::mustLoad(std::string(testing::kListenerForApp) + std::string(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.retry]
  on = ["timeout", "502", "504", "502"]
)")));
  ASSERT_TRUE(config);
  const auto& retry = config->upstreams[0].retry;
  EXPECT_FALSE(retry.on_connect_failure);
  EXPECT_FALSE(retry.on_reset);
  EXPECT_TRUE(retry.on_timeout);
  EXPECT_EQ(retry.on_status, (std::vector<uint16_t>{502, 504}));
}

TEST(Validation, HealthRiseAndFallAtLeastOne) {
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.health]
  path = "healthz"
  interval = "0s"
  rise = 0
  fall = 0
)")),
              ElementsAre("5:10: 'path': path \"healthz\" must start with \"/\"",
                          "6:14: 'interval' must be longer than 0s",
                          "7:10: 'rise' must be between 1 and 100, got 0",
                          "8:10: 'fall' must be between 1 and 100, got 0"));
}

TEST(Validation, RouteHostAndPathSyntax) {
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8080"
  [[listener.route]]
  host = "api.example.com:443"
  path_prefix = "api"
  upstream = "app"
  [[listener.route]]
  host = "a.*.com"
  upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)")),
              ElementsAre("5:10: 'host': host \"api.example.com:443\" must be a host name without "
                          "a port",
                          "6:17: 'path_prefix': path \"api\" must start with \"/\"",
                          "9:10: 'host': host \"a.*.com\" is not a host name or a wildcard such as "
                          "\"*.example.com\" ('*' only as the whole first label)"));
}

// --- TLS files ----------------------------------------------------------------------------

TEST(Validation, TlsFilesMustExist) {
  TempDir dir;
  dir.write("tls/web.crt", "cert");
  auto path = dir.write("greenlb.toml", "");
  auto errors = errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8443"
upstream = "app"
  [listener.tls]
  certificates = [{ cert = "tls/web.crt", key = "tls/web.key" },
                  { cert = "tls", key = "/nonexistent/x.key" }]

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)"),
                         path);
  auto d = dir.path().string();
  EXPECT_THAT(
      errors,
      ElementsAre("6:49: 'key': cannot read \"" + d + "/tls/web.key\": No such file or directory",
                  "7:28: 'cert': cannot read \"" + d + "/tls\": is a directory",
                  "7:41: 'key': cannot read \"/nonexistent/x.key\": No such file or "
                  "directory"));
}

TEST(Validation, TlsFileThatCannotBeOpened) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  TempDir dir;
  auto key = dir.write("web.key", "secret");
  dir.write("web.crt", "cert");
  ASSERT_EQ(::chmod(key.c_str(), 0), 0);
  auto path = dir.write("greenlb.toml", "");
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8443"
upstream = "app"
  [listener.tls]
  certificates = [{ cert = "web.crt", key = "web.key" }]

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)"),
                       path),
              ElementsAre("6:45: 'key': cannot read \"" + key + "\": Permission denied"));
}

TEST(Validation, ListenerTlsNeedsCertificates) {
  TempDir dir;
  dir.write("web.crt", "cert");
  auto path = dir.write("greenlb.toml", "");
  EXPECT_THAT(errorsOf(toml(R"(
[[listener]]
name = "web"
listen = "127.0.0.1:8443"
upstream = "app"
  [listener.tls]
  alpn = ["spdy/3", "http/1.1"]

[[listener]]
name = "web2"
listen = "127.0.0.1:8444"
upstream = "app"
  [listener.tls]
  certificates = [{ cert = "web.crt" }]

[[listener]]
name = "web3"
listen = "127.0.0.1:8445"
upstream = "app"
  [listener.tls]
  certificates = []

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
)"),
                       path),
              ElementsAre("5:3: [listener.tls] is missing required key 'certificates'",
                          "6:11: an http listener speaks HTTP/1.x and HTTP/2: 'alpn' may offer "
                          "only \"h2\", \"http/1.1\" and \"http/1.0\", not \"spdy/3\"",
                          "13:19: a 'certificates' entry is missing required key 'key'",
                          "20:18: 'certificates' must not be empty"));
}

TEST(Validation, UpstreamTlsClientCertNeedsItsKey) {
  TempDir dir;
  dir.write("client.crt", "cert");
  dir.write("ca.pem", "ca");
  auto path = dir.write("greenlb.toml", "");
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.tls]
  ca = "ca.pem"
  cert = "client.crt"
)"),
                       path),
              ElementsAre("6:10: 'cert' needs 'key' (the client certificate's private key)"));
}

TEST(Validation, UpstreamTlsCaIsCheckedOnlyWhenVerifying) {
  TempDir dir;
  auto path = dir.write("greenlb.toml", "");
  EXPECT_THAT(errorsOf(toml(R"(
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:9001"]
  [upstream.tls]
  ca = "missing.pem"

[[upstream]]
name = "insecure"
endpoints = ["127.0.0.1:9002"]
  [upstream.tls]
  verify = false
  ca = "missing.pem"
)"),
                       path),
              ElementsAre("5:8: 'ca': cannot read \"" + (dir.path() / "missing.pem").string() +
                          "\": No such file or directory"));
}

// --- all at once ----------------------------------------------------------------------------

TEST(Validation, EveryErrorIsReportedInSourceOrder) {
  EXPECT_THAT(
      errorsOf(toml(R"(
[global]
workers = -1
graceful_timeout = 5

[[upstream]]
name = "app"
balance = "maglev"
endpoints = ["127.0.0.1:9001"]
  [upstream.health]
  rise = 0

[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "ap"
lisen = "x"

[[listener]]
name = "web"
listen = "127.0.0.1:8080"
protocol = "tcp"

[admin]
listen = "localhost"
)")),
      ElementsAre(
          "2:11: 'workers' must be between 0 and 1024, got -1",
          "3:20: 'graceful_timeout' must be a duration string with a unit, such as \"5s\" or "
          "\"5ms\"",
          "7:11: balance \"maglev\" needs a hash key: add [upstream.hash] key = ...",
          "10:10: 'rise' must be between 1 and 100, got 0",
          "15:12: unknown upstream 'ap'; did you mean 'app'?",
          "16:1: unknown key 'lisen' in [[listener]]; did you mean 'listen'?",
          "18:1: tcp listener is missing required key 'upstream'",
          "19:8: duplicate listener name 'web' (first defined at line 13)",
          "20:10: duplicate listen address '127.0.0.1:8080' (already used by listener 'web' "
          "(line 14))",
          "24:10: 'listen': address \"localhost\" has no port (expected \"host:port\" or "
          "\"[v6]:port\")"));
}

TEST(Validation, NulCharactersInStrings) {
  EXPECT_THAT(errorsOf(toml(R"(
[global]
hosts_file = "/etc/hosts\u0000.bak"
)")),
              ElementsAre("2:14: 'hosts_file' must not contain NUL characters"));
}

TEST(Validation, ControlCharactersInValuesAreEscapedInMessages) {
  EXPECT_THAT(errorsOf(toml(R"(
[access_log]
format = "js\non"
)")),
              ElementsAre("2:10: 'format' must be one of \"json\" or \"combined\", not "
                          "\"js\\x0aon\"; did you mean \"json\"?"));
}

}  // namespace
}  // namespace greenlb::conf
