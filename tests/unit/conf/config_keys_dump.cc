// Prints the key table (conf/schema.h) as JSON, one object per key, for
// tests/chart/config_schema.py, which generates the chart's values.schema.json part from it
// (tests/unit/conf/CMakeLists.txt runs the check).
//
//   config_keys_dump
#include <cstdio>
#include <string>
#include <string_view>

#include "conf/schema.h"

using namespace greenlb::conf;

namespace {

// A JSON string: the table holds no control characters, only quotes and backslashes to
// escape.
std::string json(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string number(int64_t n) {
  return n == kUnlimited ? "null" : std::to_string(n);
}

}  // namespace

int main() {
  std::printf("[\n");
  bool first = true;
  for (const SchemaKey& k : knownKeys()) {
    std::string choices;
    for (std::string_view c : k.value.choices) choices += (choices.empty() ? "" : ", ") + json(c);
    std::printf(
        "%s  {\"table\": %s, \"key\": %s, \"kind\": %s, \"type\": %s, \"min\": %s, "
        "\"max\": %s, \"choices\": [%s], \"pattern\": %s, \"required\": %s, \"addition\": %s}",
        first ? "" : ",\n", json(k.table).c_str(), json(k.key).c_str(),
        json(kKeyKindNames[static_cast<size_t>(k.kind)]).c_str(),
        json(kValueTypeNames[static_cast<size_t>(k.value.type)]).c_str(),
        number(k.value.min).c_str(), number(k.value.max).c_str(), choices.c_str(),
        json(k.value.pattern).c_str(), k.required ? "true" : "false",
        k.addition ? "true" : "false");
    first = false;
  }
  std::printf("\n]\n");
  return 0;
}
