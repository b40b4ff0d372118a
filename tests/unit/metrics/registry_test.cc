#include "metrics/registry.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/hub.h"
#include "metrics/catalog.h"
#include "tests/unit/metrics/exposition_parser.h"
#include "tests/unit/metrics/hub_threads.h"

namespace greenlb::metrics {
namespace {

using testing::Exposition;
using testing::parse;

constexpr size_t kHubs = 4;
constexpr uint64_t kAdds = 100'000;

Exposition scrape(const Registry& r) {
  return parse(r.serialize(false));
}

template <class Count>
void countOnHubs(const Registry& r, Count count) {
  testing::countOnHubThreads(kHubs, count, [&r] { (void)r.serialize(false); });
}

TEST(Registry, GetOrCreateReturnsTheSameObjects) {
  Registry r(kHubs, "1.2.3");
  EXPECT_EQ(&r.listener("web"), &r.listener("web"));
  EXPECT_NE(&r.listener("web"), &r.listener("admin"));
  EXPECT_EQ(&r.requests("web", "app"), &r.requests("web", "app"));
  EXPECT_NE(&r.requests("web", "app"), &r.requests("web", ""));
  EXPECT_EQ(&r.upstream("app"), &r.upstream("app"));
  EXPECT_EQ(r.hubs(), kHubs);
}

TEST(Registry, RejectsBadHubCounts) {
  EXPECT_THROW(Registry(0, "x"), std::invalid_argument);
  EXPECT_THROW(Registry(kMaxHubs + 1, "x"), std::invalid_argument);
}

TEST(Registry, ExportsZeroedSeriesOnceAnObjectExists) {
  Registry r(kHubs, "1.2.3");
  Exposition before = scrape(r);
  EXPECT_EQ(before.at(R"(greenlb_build_info{version="1.2.3"})"), 1);
  EXPECT_FALSE(before.hasName("greenlb_connections_accepted_total"));

  r.listener("web");
  r.requests("web", "app");
  r.upstream("app");
  Exposition e = scrape(r);
  EXPECT_EQ(e.at(R"(greenlb_connections_accepted_total{listener="web"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_connections_active{listener="web"})"), 0);
  for (const char* reason : {"bad_request", "header_timeout", "too_large", "reset"}) {
    EXPECT_EQ(e.at(std::string(R"(greenlb_client_errors_total{listener="web",reason=")") + reason +
                   "\"}"),
              0)
        << reason;
  }
  EXPECT_EQ(e.at(R"(greenlb_bytes_received_total{listener="web"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_bytes_sent_total{listener="web"})"), 0);
  // A listener without certificates or handshakes carries no TLS series.
  EXPECT_FALSE(e.hasPrefix("greenlb_tls_"));
  // Request series appear once the listener/upstream pair saw a request: every listener
  // has request metrics for every upstream, most pairs never carry traffic.
  EXPECT_FALSE(e.hasName("greenlb_requests_total"));
  EXPECT_FALSE(e.hasName("greenlb_request_duration_seconds_count"));
  r.requests("web", "app").duration.observe(1, 0.001);
  e = scrape(r);
  EXPECT_FALSE(e.hasName("greenlb_requests_total"));  // no status (client went away)
  EXPECT_EQ(e.at(R"(greenlb_request_duration_seconds_count{listener="web",upstream="app"})"), 1);
  EXPECT_EQ(
      e.at(R"(greenlb_request_duration_seconds_bucket{listener="web",upstream="app",le="+Inf"})"),
      1);
  for (const char* kind : {"connect", "response", "idle"}) {
    EXPECT_EQ(e.at(std::string(R"(greenlb_upstream_timeouts_total{upstream="app",kind=")") + kind +
                   "\"}"),
              0);
  }
  for (const char* reason : {"no_healthy", "limits", "draining"}) {
    EXPECT_EQ(e.at(std::string(R"(greenlb_upstream_unavailable_total{upstream="app",reason=")") +
                   reason + "\"}"),
              0);
  }
  EXPECT_EQ(e.at(R"(greenlb_upstream_retries_total{upstream="app"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_upstream_panic{upstream="app"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_upstream_pool_idle_connections{upstream="app"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_upstream_connect_duration_seconds_count{upstream="app"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_upstream_first_byte_duration_seconds_count{upstream="app"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_config_reloads_total{result="success"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_config_reloads_total{result="failure"})"), 0);
}

TEST(Registry, ExposesExactSumsOfCountsFromEveryHub) {
  Registry r(kHubs, "1.2.3");
  ListenerMetrics& web = r.listener("web");
  RequestMetrics& req = r.requests("web", "app");
  UpstreamMetrics& app = r.upstream("app");
  countOnHubs(r, [&](size_t hub) {
    for (uint64_t i = 0; i < kAdds; ++i) {
      web.connections_accepted.add(hub);
      web.bytes_received.add(hub, 3);
      req.requests.add(hub, i % 10 == 0 ? 502 : 200);
      req.duration.observe(hub, i % 2 == 0 ? 0.0004 : 0.75);
      app.retries.add(hub);
    }
    web.connections_active.add(hub, static_cast<int64_t>(hub));
    web.client_errors[index(ClientError::header_timeout)].add(hub, 2);
    app.timeouts[index(TimeoutKind::idle)].add(hub);
    app.pool_idle.add(hub, 1);
  });
  app.panic = 1;

  Exposition e = scrape(r);
  const double total = kHubs * kAdds;
  EXPECT_EQ(e.at(R"(greenlb_connections_accepted_total{listener="web"})"), total);
  EXPECT_EQ(e.at(R"(greenlb_bytes_received_total{listener="web"})"), 3 * total);
  EXPECT_EQ(e.at(R"(greenlb_connections_active{listener="web"})"), 0 + 1 + 2 + 3);
  EXPECT_EQ(e.at(R"(greenlb_client_errors_total{listener="web",reason="header_timeout"})"),
            2 * kHubs);
  EXPECT_EQ(e.at(R"(greenlb_requests_total{listener="web",upstream="app",code="200"})"),
            total * 9 / 10);
  EXPECT_EQ(e.at(R"(greenlb_requests_total{listener="web",upstream="app",code="502"})"),
            total / 10);
  EXPECT_FALSE(e.has(R"(greenlb_requests_total{listener="web",upstream="app",code="404"})"));
  const std::string by = R"({listener="web",upstream="app")";
  EXPECT_EQ(e.at("greenlb_request_duration_seconds_count" + by + "}"), total);
  EXPECT_EQ(e.at("greenlb_request_duration_seconds_bucket" + by + R"(,le="0.0005"})"), total / 2);
  EXPECT_EQ(e.at("greenlb_request_duration_seconds_bucket" + by + R"(,le="0.5"})"), total / 2);
  EXPECT_EQ(e.at("greenlb_request_duration_seconds_bucket" + by + R"(,le="1"})"), total);
  EXPECT_EQ(e.at("greenlb_request_duration_seconds_bucket" + by + R"(,le="+Inf"})"), total);
  EXPECT_NEAR(e.at("greenlb_request_duration_seconds_sum" + by + "}"), total / 2 * (0.0004 + 0.75),
              1e-6);
  EXPECT_EQ(e.at(R"(greenlb_upstream_retries_total{upstream="app"})"), total);
  EXPECT_EQ(e.at(R"(greenlb_upstream_timeouts_total{upstream="app",kind="idle"})"), kHubs);
  EXPECT_EQ(e.at(R"(greenlb_upstream_pool_idle_connections{upstream="app"})"), kHubs);
  EXPECT_EQ(e.at(R"(greenlb_upstream_panic{upstream="app"})"), 1);
}

TEST(Registry, TlsSeriesAppearWithCertificatesAndFollowReloads) {
  Registry r(1, "v");
  ListenerMetrics& web = r.listener("web");
  web.setCertificateExpiry("web.crt", 1893456000);
  web.tls_handshakes[index(CheckResult::failure)].add(0, 2);
  web.tls_handshake_duration.observe(0, 0.003);
  Exposition e = scrape(r);
  EXPECT_EQ(
      e.at(R"(greenlb_tls_certificate_expiry_timestamp_seconds{listener="web",name="web.crt"})"),
      1893456000);
  EXPECT_EQ(e.at(R"(greenlb_tls_handshakes_total{listener="web",result="success"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_tls_handshakes_total{listener="web",result="failure"})"), 2);
  EXPECT_EQ(e.at(R"(greenlb_tls_handshake_duration_seconds_bucket{listener="web",le="0.005"})"), 1);
  // A reload replaces the certificate list wholesale.
  web.clearCertificates();
  web.setCertificateExpiry("new.crt", 1900000000);
  e = scrape(r);
  EXPECT_FALSE(
      e.has(R"(greenlb_tls_certificate_expiry_timestamp_seconds{listener="web",name="web.crt"})"));
  EXPECT_EQ(
      e.at(R"(greenlb_tls_certificate_expiry_timestamp_seconds{listener="web",name="new.crt"})"),
      1900000000);
}

TEST(Registry, EndpointSeriesLiveWhileTheObjectIsHeld) {
  Registry r(kHubs, "v");
  const std::string up =
      R"(greenlb_upstream_endpoint_up{upstream="app",endpoint="127.0.0.1:9001"})";
  const std::string failures =
      R"(greenlb_upstream_connect_failures_total{upstream="app",endpoint="127.0.0.1:9001"})";
  const std::string code200 =
      R"(greenlb_upstream_requests_total{upstream="app",endpoint="127.0.0.1:9001",code="200"})";

  std::shared_ptr<EndpointMetrics> a = r.endpoint("app", "127.0.0.1:9001");
  std::shared_ptr<EndpointMetrics> b = r.endpoint("app", "127.0.0.1:9001");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), r.endpoint("api", "127.0.0.1:9001").get());
  countOnHubs(r, [&](size_t hub) {
    for (uint64_t i = 0; i < kAdds; ++i) {
      a->requests.add(hub, 200);
      a->in_flight.fetch_add(1);
      a->in_flight.fetch_sub(1);
    }
    a->connect_failures.add(hub);
    a->in_flight.fetch_add(1);
  });
  a->up = 0;
  Exposition e = scrape(r);
  EXPECT_EQ(e.at(up), 0);
  EXPECT_EQ(e.at(failures), kHubs);
  EXPECT_EQ(e.at(code200), kHubs * kAdds);
  EXPECT_EQ(
      e.at(R"(greenlb_upstream_endpoint_in_flight{upstream="app",endpoint="127.0.0.1:9001"})"),
      kHubs);
  EXPECT_EQ(
      e.at(
          R"(greenlb_upstream_health_checks_total{upstream="app",endpoint="127.0.0.1:9001",result="success"})"),
      0);
  EXPECT_EQ(e.at(R"(greenlb_upstream_ejections_total{upstream="app",endpoint="127.0.0.1:9001"})"),
            0);
  // The "api" endpoint asked for above was dropped at once: never exported.
  EXPECT_FALSE(e.hasPrefix(R"(greenlb_upstream_endpoint_up{upstream="api")"));

  a.reset();
  EXPECT_TRUE(scrape(r).has(up)) << "still held by b";
  b.reset();
  e = scrape(r);
  EXPECT_FALSE(e.hasPrefix("greenlb_upstream_endpoint_"));
  EXPECT_FALSE(e.hasPrefix("greenlb_upstream_requests_total"));
  EXPECT_FALSE(e.hasPrefix("greenlb_upstream_connect_failures_total"));

  // Coming back (DNS answered it again): a fresh object, counters from zero.
  std::shared_ptr<EndpointMetrics> again = r.endpoint("app", "127.0.0.1:9001");
  again->connect_failures.add(0);
  e = scrape(r);
  EXPECT_EQ(e.at(up), 1);
  EXPECT_EQ(e.at(failures), 1);
  EXPECT_FALSE(e.has(code200));
}

TEST(Registry, PerEndpointMetricsOffDropsEndpointFamilies) {
  Registry r(2, "v");
  r.upstream("app");
  std::shared_ptr<EndpointMetrics> e = r.endpoint("app", "10.0.0.1:80");
  e->requests.add(0, 200);
  r.setPerEndpointMetrics(false);
  EXPECT_FALSE(r.perEndpointMetrics());
  e->in_flight.fetch_add(3);  // counting goes on
  e->requests.add(1, 200);
  Exposition off = scrape(r);
  for (const FamilyInfo& f : kFamilies) {
    if (f.per_endpoint) {
      EXPECT_FALSE(off.hasPrefix(std::string(f.name))) << f.name;
    }
  }
  EXPECT_TRUE(off.has(R"(greenlb_upstream_retries_total{upstream="app"})"));
  r.setPerEndpointMetrics(true);
  Exposition on = scrape(r);
  EXPECT_EQ(on.at(R"(greenlb_upstream_endpoint_in_flight{upstream="app",endpoint="10.0.0.1:80"})"),
            3);
  EXPECT_EQ(
      on.at(R"(greenlb_upstream_requests_total{upstream="app",endpoint="10.0.0.1:80",code="200"})"),
      2);
}

double unixNow() {
  return static_cast<double>(std::time(nullptr));
}

TEST(Registry, CountsConfigReloads) {
  double before = unixNow();
  Registry r(1, "v");
  // The initial load is not a reload, but it is the last successful load.
  Exposition e = scrape(r);
  EXPECT_GE(e.at("greenlb_config_last_reload_success_timestamp_seconds"), before - 1);
  EXPECT_LE(e.at("greenlb_config_last_reload_success_timestamp_seconds"), unixNow() + 1);
  r.configReloaded(false);
  r.configReloaded(false);
  r.configReloaded(true);
  e = scrape(r);
  EXPECT_EQ(e.at(R"(greenlb_config_reloads_total{result="success"})"), 1);
  EXPECT_EQ(e.at(R"(greenlb_config_reloads_total{result="failure"})"), 2);
  EXPECT_GE(e.at("greenlb_config_last_reload_success_timestamp_seconds"), before - 1);
}

TEST(Registry, ReadsFibersAndLoopLagFromAttachedHubs) {
  Registry r(2, "v");
  core::Hub hub0(core::HubOptions{.id = 0});
  core::Hub hub1(core::HubOptions{.id = 1});
  r.attachHubs({&hub0, &hub1});
  // Two parked fibers on hub 1, then run both hubs past a few lag probes.
  std::atomic<bool> release{false};
  for (int i = 0; i < 2; ++i) {
    hub1.post([&hub1, &release] {
      hub1.spawnDetached("parked", [&release] {
        while (!release.load()) {
          if (!core::sleep(std::chrono::milliseconds(5)).ok()) break;
        }
      });
    });
  }
  std::thread t0([&] { hub0.run(); });
  std::thread t1([&] { hub1.run(); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Exposition e;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    e = scrape(r);
  } while ((e.at(R"(greenlb_hub_loop_lag_seconds_count{hub="0"})") < 2 ||
            e.at(R"(greenlb_hub_loop_lag_seconds_count{hub="1"})") < 2 ||
            e.at(R"(greenlb_hub_fibers{hub="1"})") != 2) &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(e.at(R"(greenlb_hub_fibers{hub="0"})"), 0);
  EXPECT_EQ(e.at(R"(greenlb_hub_fibers{hub="1"})"), 2);
  EXPECT_GE(e.at(R"(greenlb_hub_loop_lag_seconds_count{hub="0"})"), 2);
  EXPECT_GE(e.at(R"(greenlb_hub_loop_lag_seconds_count{hub="1"})"), 2);
  EXPECT_EQ(e.at(R"(greenlb_hub_loop_lag_seconds_bucket{hub="1",le="+Inf"})"),
            e.at(R"(greenlb_hub_loop_lag_seconds_count{hub="1"})"));
  release = true;
  hub0.stop();
  hub1.stop();
  t0.join();
  t1.join();
}

TEST(Registry, AppendsPrometheusCppMetricsAndProcessMetrics) {
  Registry r(1, "v");
  auto& family = prometheus::BuildCounter()
                     .Name("greenlb_example_total")
                     .Help("An extra counter.")
                     .Register(*r.prometheus());
  family.Add({{"k", "v"}}).Increment(5);
  Exposition e = scrape(r);
  EXPECT_EQ(e.at(R"(greenlb_example_total{k="v"})"), 5);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_TRUE(e.has(name)) << name;
  }
}

// Every family of the contract (docs/observability.md, "Metric families", with the TLS ones
// greenlb added) is exported by a
// fully populated registry, under its name and type, with HELP text.
TEST(Registry, ExportsEveryFamilyOfTheSpecWithHelpAndType) {
  const std::map<std::string, std::string> spec = {
      {"greenlb_build_info", "gauge"},
      {"greenlb_connections_accepted_total", "counter"},
      {"greenlb_connections_active", "gauge"},
      {"greenlb_requests_total", "counter"},
      {"greenlb_request_duration_seconds", "histogram"},
      {"greenlb_grpc_requests_total", "counter"},
      {"greenlb_client_errors_total", "counter"},
      {"greenlb_bytes_received_total", "counter"},
      {"greenlb_bytes_sent_total", "counter"},
      {"greenlb_http2_connections_active", "gauge"},
      {"greenlb_http2_streams_active", "gauge"},
      {"greenlb_rate_limited_total", "counter"},
      {"greenlb_upstream_requests_total", "counter"},
      {"greenlb_upstream_connect_duration_seconds", "histogram"},
      {"greenlb_upstream_first_byte_duration_seconds", "histogram"},
      {"greenlb_upstream_endpoint_up", "gauge"},
      {"greenlb_upstream_endpoint_in_flight", "gauge"},
      {"greenlb_upstream_connect_failures_total", "counter"},
      {"greenlb_upstream_timeouts_total", "counter"},
      {"greenlb_upstream_retries_total", "counter"},
      {"greenlb_upstream_protocol_errors_total", "counter"},
      {"greenlb_upstream_ejections_total", "counter"},
      {"greenlb_upstream_health_checks_total", "counter"},
      {"greenlb_upstream_unavailable_total", "counter"},
      {"greenlb_upstream_panic", "gauge"},
      {"greenlb_upstream_pool_idle_connections", "gauge"},
      {"greenlb_hub_fibers", "gauge"},
      {"greenlb_hub_loop_lag_seconds", "histogram"},
      {"greenlb_config_reloads_total", "counter"},
      {"greenlb_config_last_reload_success_timestamp_seconds", "gauge"},
      {"greenlb_tls_handshakes_total", "counter"},
      {"greenlb_tls_handshake_duration_seconds", "histogram"},
      {"greenlb_tls_certificate_expiry_timestamp_seconds", "gauge"},
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_virtual_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_max_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
  };
  EXPECT_EQ(kFamilyCount + 6, spec.size()) << "the catalog and this list differ";

  Registry r(1, "v");
  r.listener("web").setCertificateExpiry("c", 1);
  r.listener("web").rateLimited("*");
  r.requests("web", "app").requests.add(0, 200);
  r.requests("web", "app").grpc_requests[14].add(0);
  r.upstream("app");
  auto endpoint = r.endpoint("app", "127.0.0.1:1");
  endpoint->requests.add(0, 200);
  core::Hub hub(core::HubOptions{.id = 0});
  r.attachHubs({&hub});
  Exposition e = scrape(r);
  std::set<std::string> help, type;
  for (const std::string& c : e.comments) {
    std::istringstream in(c);
    std::string hash, kind, name, rest;
    in >> hash >> kind >> name >> rest;
    if (kind == "HELP" && !rest.empty()) help.insert(name);
    if (kind == "TYPE") type.insert(name + " " + rest);
  }
  for (const auto& [name, kind] : spec) {
    EXPECT_TRUE(help.count(name)) << "no HELP for " << name;
    EXPECT_TRUE(type.count(name + " " + kind)) << "no TYPE " << kind << " for " << name;
  }
}

}  // namespace
}  // namespace greenlb::metrics
