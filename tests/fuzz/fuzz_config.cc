// Fuzzes the config loader with arbitrary bytes: every input yields either a Config or a
// list of positioned errors, never a crash, a hang or an escaping exception; and a Config
// prints (printConfig) to TOML that loads back to an equal Config.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/loader.h"

// A failed invariant traps; libFuzzer reports the line and keeps the input.
#define FUZZ_CHECK(cond) ((cond) ? void() : __builtin_trap())

namespace {

// Relative paths in the input resolve below a directory that does not exist, so the
// readability checks of TLS files stay cheap and deterministic.
const std::string kPath = "/nonexistent/greenlb-fuzz/greenlb.toml";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace greenlb::conf;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = loadConfigString(text, kPath);

  FUZZ_CHECK(result.ok() == result.errors.empty());
  uint32_t last_line = 0, last_column = 0;
  for (const auto& e : result.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.file == kPath);
    // Source order (file-level errors, line 0, first).
    FUZZ_CHECK(e.line > last_line || (e.line == last_line && e.column >= last_column));
    last_line = e.line;
    last_column = e.column;
    FUZZ_CHECK(!e.str().empty());
  }

  if (result.ok()) {
    auto printed = printConfig(*result.config);
    auto again = loadConfigString(printed, kPath);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again.config == *result.config);
    FUZZ_CHECK(printConfig(*again.config) == printed);
  }
  return 0;
}
