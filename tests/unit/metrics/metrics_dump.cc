// Prints an example /metrics exposition with every greenlb family populated, for the
// promtool checks and the dashboard/alert name checks (tests/unit/metrics/CMakeLists.txt).
//
//   metrics_dump [--openmetrics]
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/hub.h"
#include "metrics/registry.h"

using namespace greenlb;
using namespace greenlb::metrics;

int main(int argc, char** argv) {
  bool openmetrics = argc > 1 && std::strcmp(argv[1], "--openmetrics") == 0;
  constexpr size_t kHubs = 2;
  Registry registry(kHubs, "0.1.0-example");

  ListenerMetrics& web = registry.listener("web");
  web.connections_accepted.add(0, 10);
  web.connections_active.add(1, 3);
  web.client_errors[index(ClientError::too_large)].add(0);
  web.bytes_received.add(0, 12345);
  web.bytes_sent.add(1, 67890);
  web.tls_handshakes[index(CheckResult::success)].add(0, 9);
  web.tls_handshake_duration.observe(0, 0.002);
  web.setCertificateExpiry("tls/web.crt", 1893456000);

  RequestMetrics& web_app = registry.requests("web", "app");
  web_app.requests.add(0, 200);
  web_app.requests.add(1, 503);
  web_app.duration.observe(0, 0.012);
  registry.requests("web", "").requests.add(0, 431);

  UpstreamMetrics& app = registry.upstream("app");
  app.connect_duration.observe(0, 0.0004);
  app.first_byte_duration.observe(1, 0.03);
  app.timeouts[index(TimeoutKind::response)].add(0);
  app.retries.add(1);
  app.unavailable[index(Unavailable::no_healthy)].add(0);
  app.pool_idle.add(0, 4);

  std::shared_ptr<EndpointMetrics> e1 = registry.endpoint("app", "127.0.0.1:9001");
  std::shared_ptr<EndpointMetrics> e2 = registry.endpoint("app", "127.0.0.1:9002");
  e1->requests.add(0, 200);
  e1->connect_failures.add(1);
  e1->health_checks[index(CheckResult::success)].add(0, 5);
  e2->up = 0;
  e2->ejections.add(0);
  e2->in_flight = 2;

  // Hubs that never run: their fiber counts are 0 and their lag histograms empty.
  std::vector<std::unique_ptr<core::Hub>> hubs;
  std::vector<core::Hub*> attached;
  for (int i = 0; i < static_cast<int>(kHubs); ++i) {
    hubs.push_back(std::make_unique<core::Hub>(core::HubOptions{.id = i}));
    attached.push_back(hubs.back().get());
  }
  registry.attachHubs(attached);
  registry.configReloaded(true);
  registry.configReloaded(false);

  std::string text = registry.serialize(openmetrics);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
