#include "proxy/demo.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "conf/loader.h"
#include "proxy/demo_upstream.h"
#include "proxy/server.h"

namespace greenlb::proxy {
namespace {

constexpr const char* kDemoConfig = R"TOML(
[global]
workers = 2
graceful_timeout = "5s"

[admin]
listen = "127.0.0.1:9901"

[access_log]
path = "stdout"
format = "combined"

[[listener]]
name = "web"
listen = "127.0.0.1:8080"
upstream = "demo"

[[upstream]]
name = "demo"
balance = "round_robin"
endpoints = ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"]
  [upstream.retry]
  attempts = 2
  on = ["connect_failure", "reset", "503"]
)TOML";

constexpr const char* kHelp = R"(
greenlb demo is running: the proxy on http://127.0.0.1:8080 in front of three demo
upstreams (127.0.0.1:9001-9003), the admin listener on http://127.0.0.1:9901.

Try:
  curl -s http://127.0.0.1:8080/                     # round robin over the three upstreams
  curl -s http://127.0.0.1:8080/slow?ms=300          # a slow response
  curl -si http://127.0.0.1:8080/status/503          # a 503: retried on the other upstreams
  curl -s -d 'hello greenlb' http://127.0.0.1:8080/echo   # a request body, echoed back
  curl -si http://127.0.0.1:8080/ -H 'X-Request-Id: my-id-1'   # the id comes back
  curl -s http://127.0.0.1:9901/metrics | grep greenlb_requests_total
  curl -s http://127.0.0.1:9901/status
  and open http://127.0.0.1:9901/ in a browser for the live status page.

Ctrl-C drains and exits.
)";

}  // namespace

int runDemo(const std::string& version) {
  conf::LoadResult loaded = conf::loadConfigString(kDemoConfig, "<demo>");
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<DemoUpstream>> upstreams;
  bool upstreams_ok = true;
  ServerOptions options;
  options.version = version;
  options.on_start = [&] {
    for (int i = 0; i < 3; ++i) {
      std::string error;
      auto up = DemoUpstream::start(i + 1, static_cast<uint16_t>(9001 + i), &error);
      if (up == nullptr) {
        std::fprintf(stderr, "greenlb: %s\n", error.c_str());
        upstreams_ok = false;
      }
      upstreams.push_back(std::move(up));
    }
  };
  options.on_ready = [] {
    std::fputs(kHelp, stdout);
    std::fflush(stdout);
  };
  Server server(loaded.config, std::move(options));
  int rc = server.run();
  upstreams.clear();
  return upstreams_ok ? rc : 1;
}

}  // namespace greenlb::proxy
