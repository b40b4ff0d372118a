// greenlb's command line (docs/operations.md, "Command line"): the composition root.
#include <openssl/crypto.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <csignal>

#include "conf/loader.h"
#include "core/version.h"
#include "proxy/demo.h"
#include "proxy/server.h"
#include "proxy/tls_context.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/greenlb/greenlb.toml";

void usage(FILE* out) {
  std::fprintf(out,
               "usage: greenlb [-c FILE]            run (default FILE %s)\n"
               "       greenlb --check -c FILE      validate FILE and exit\n"
               "       greenlb --print-config -c FILE\n"
               "                                    print the effective config\n"
               "       greenlb demo                 run the built-in demo\n"
               "       greenlb --version\n",
               kDefaultConfig);
}

int printVersion() {
  std::printf("greenlb %s (%s build)\nlibevent %s\n%s\n", GREENLB_VERSION, GREENLB_BUILD_TYPE,
              greenlb::core::libeventVersion().c_str(), OpenSSL_version(OPENSSL_VERSION));
  return 0;
}

int serve(const std::string& path) {
  auto loaded = greenlb::conf::loadConfigFile(path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return 1;
  }
  greenlb::proxy::ServerOptions options;
  options.version = GREENLB_VERSION;
  options.config_path = path;
  greenlb::proxy::Server server(loaded.config, std::move(options));
  return server.run();
}

int checkConfig(const std::string& path, bool print) {
  auto result = greenlb::conf::loadConfigFile(path);
  if (!result.ok()) {
    for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return 1;
  }
  greenlb::proxy::TlsContexts tls;
  std::string tls_error;
  if (!greenlb::proxy::loadTlsContexts(*result.config, &tls, &tls_error)) {
    std::fprintf(stderr, "%s: error: %s\n", path.c_str(), tls_error.c_str());
    return 1;
  }
  if (print) {
    std::fputs(greenlb::conf::printConfig(*result.config).c_str(), stdout);
  } else {
    std::printf("%s: ok\n", path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closed its end must fail a write (EPIPE), not kill the process; splice(2)
  // has no MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  std::string config_path = kDefaultConfig;
  bool check = false, print = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "greenlb: %s needs a file argument\n", argv[i]);
        return 2;
      }
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = std::string(arg.substr(9));
    } else if (arg == "--check") {
      check = true;
    } else if (arg == "--print-config") {
      print = true;
    } else if (arg == "--version" || arg == "-V") {
      return printVersion();
    } else if (arg == "demo" && i == 1) {
      return greenlb::proxy::runDemo(GREENLB_VERSION);
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "greenlb: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (check || print) return checkConfig(config_path, print);
  return serve(config_path);
}
