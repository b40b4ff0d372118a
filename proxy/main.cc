// greenlb's command line (SPEC section 1): the composition root.
#include <openssl/crypto.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "conf/loader.h"
#include "core/version.h"

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

int checkConfig(const std::string& path, bool print) {
  auto result = greenlb::conf::loadConfigFile(path);
  if (!result.ok()) {
    for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
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
  std::fprintf(stderr, "greenlb: serving is not built yet\n");
  return 1;
}
