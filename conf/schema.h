// Every table and key the loader knows (SPEC section 2 plus our documented additions).
// The loader rejects keys not listed here and suggests the closest listed one; the docs
// test checks that docs/configuration.md describes each of them.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greenlb::conf {

enum class KeyKind {
  value,            // a scalar or an array of values (which may be inline tables)
  table,            // [table.key]
  array_of_tables,  // [[table.key]]
};

struct SchemaKey {
  std::string_view table;  // dotted path of the enclosing table, "" for the root
  std::string_view key;
  KeyKind kind = KeyKind::value;
  bool addition = false;  // not in SPEC section 2; docs/configuration.md marks it so

  // "table.key", or "key" at the root.
  std::string path() const;
};

// All known keys, grouped by table in the order the printer writes them.
std::span<const SchemaKey> knownKeys();

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
