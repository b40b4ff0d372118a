// Every table and key of greenlb.toml, and what each key holds: the one place a key is
// declared (the rows are in conf/key_table.cc; docs/configuration.md describes them).
//
// From a key's row the loader takes its range, its allowed values and whether it is
// required, and rejects keys that have no row (suggesting the closest one); the printer
// takes the order of the keys and where each value lives in a Config; the docs test checks
// that docs/configuration.md describes every key; tests/chart/config_schema.py generates
// the greenlb part of the Helm chart's values.schema.json from a dump of the rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "conf/config.h"

namespace greenlb::conf {

enum class KeyKind {
  value,            // a scalar or an array of values (which may be inline tables)
  table,            // [table.key]
  array_of_tables,  // [[table.key]]
};

// What a value key holds. The loader reads it, the printer writes it and the chart schema
// validates it accordingly.
enum class ValueType : uint8_t {
  none,                 // a table or an array of tables
  boolean,              // true | false
  integer,              // within [min, max]
  duration,             // "5s"; min 1 (ms): must be longer than 0s
  size,                 // bytes or "16KiB", within [min, max]
  listen_address,       // "host:port" to listen on (port 0: the kernel picks)
  address,              // "host:port" to connect to
  text,                 // a non-empty string
  name,                 // a listener or upstream name (conf/value_syntax.h nameProblem)
  path,                 // a file path, relative to the config file's directory
  url_path,             // "/api/"
  host_pattern,         // "api.example.com" or "*.example.com"
  choice,               // one of `choices`
  hash_key,             // "client_ip" | "header:NAME" | "cookie:NAME" | "path"
  retry_conditions,     // ["connect_failure", "reset", "timeout", "503"]
  strings,              // an array of non-empty strings
  tables,               // an array of at least `min` inline tables; their keys are rows too
  addresses_or_tables,  // `endpoints`: at least `min` addresses or inline tables
  rate_limit_key,       // "client_ip" | "header:NAME" | "global"
  header_fields,        // { "X-Env" = "prod" }: header names to value templates
};

// The names of the kinds and types, by enum value (tests/chart/config_schema.py reads them).
inline constexpr std::string_view kKeyKindNames[] = {"value", "table", "array_of_tables"};
inline constexpr std::string_view kValueTypeNames[] = {
    "none",     "boolean",  "integer",
    "duration", "size",     "listen_address",
    "address",  "text",     "name",
    "path",     "url_path", "host_pattern",
    "choice",   "hash_key", "retry_conditions",
    "strings",  "tables",   "addresses_or_tables",
    "rate_limit_key", "header_fields"};
static_assert(std::size(kValueTypeNames) == static_cast<size_t>(ValueType::header_fields) + 1,
              "a name per ValueType");

inline constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();

struct ValueSpec {
  ValueType type = ValueType::none;
  int64_t min = 0;  // integer, size: the range; tables: the fewest entries
  int64_t max = 0;
  std::span<const std::string_view> choices = {};  // choice: the names, in enum order
  std::string_view pattern = {};  // the grammar as a regular expression, where the chart checks it
};

// Consecutive elements of a struct type in a Config (a vector's, one struct's, or none).
struct Elements {
  const void* first = nullptr;
  size_t count = 0;
  size_t stride = 0;
  const void* at(size_t i) const { return static_cast<const char*>(first) + i * stride; }
};

// A key's value read out of a Config for printing: monostate when the key is left out
// (an optional value that is not set), Elements for tables and inline tables.
using HeaderFields = std::vector<std::pair<std::string, std::string>>;
using FieldValue = std::variant<std::monostate, bool, uint64_t, Duration, std::string,
                                std::vector<std::string>, Elements, HeaderFields>;

// Reads a key out of the struct of its table (GlobalConfig for "global", Config for "").
using Getter = FieldValue (*)(const void* section);

struct SchemaKey {
  std::string_view table;  // dotted path of the enclosing table, "" for the root
  std::string_view key;
  KeyKind kind = KeyKind::value;
  ValueSpec value;
  bool required = false;
  bool addition = false;  // ours, beyond the product contract: docs/configuration.md says so
  Getter get = nullptr;

  // "table.key", or "key" at the root.
  std::string path() const;
};

// All known keys, grouped by table in the order the printer writes them.
std::span<const SchemaKey> knownKeys();

// The row of `key` in `table`, or null.
const SchemaKey* findKey(std::string_view table, std::string_view key);

// The keys of one table ("listener.timeouts"; array elements share their array's path,
// so every [[listener]] is "listener" and every endpoint table is "upstream.endpoints").
std::vector<std::string_view> keysOf(std::string_view table);

// Where else `key` is known, for "'connect' belongs in [upstream.timeouts]" hints: a table
// directly below or above `table` that has it. Empty when there is none.
std::string_view relatedTableWith(std::string_view table, std::string_view key);

// How a table's section header is written: "[[listener]]" for arrays of tables,
// "[listener.timeouts]" otherwise.
std::string headerOf(std::string_view table);

}  // namespace greenlb::conf
