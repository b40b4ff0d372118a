#include "conf/schema.h"

#include <string>

namespace greenlb::conf {
namespace {

// "a.b" is directly below "a".
bool isChildOf(std::string_view child, std::string_view parent) {
  if (parent.empty()) return !child.empty() && child.find('.') == std::string_view::npos;
  return child.size() > parent.size() + 1 && child.starts_with(parent) &&
         child[parent.size()] == '.' &&
         child.find('.', parent.size() + 1) == std::string_view::npos;
}

// Whether `path` is written as a [table] or [[table]] (not as the inline tables of a
// value such as 'endpoints', where a "belongs in" hint would not say how to write it).
bool isTable(std::string_view path) {
  for (const auto& k : knownKeys()) {
    if (k.kind != KeyKind::value && k.path() == path) return true;
  }
  return false;
}

}  // namespace

std::string SchemaKey::path() const {
  if (table.empty()) return std::string(key);
  return std::string(table) + "." + std::string(key);
}

const SchemaKey* findKey(std::string_view table, std::string_view key) {
  for (const auto& k : knownKeys()) {
    if (k.table == table && k.key == key) return &k;
  }
  return nullptr;
}

std::vector<std::string_view> keysOf(std::string_view table) {
  std::vector<std::string_view> keys;
  for (const auto& k : knownKeys()) {
    if (k.table == table) keys.push_back(k.key);
  }
  return keys;
}

std::string_view relatedTableWith(std::string_view table, std::string_view key) {
  for (const auto& k : knownKeys()) {
    if (k.key == key && k.kind == KeyKind::value && isTable(k.table) &&
        (isChildOf(k.table, table) || isChildOf(table, k.table))) {
      return k.table;
    }
  }
  return {};
}

std::string headerOf(std::string_view table) {
  bool array = false;
  for (const auto& k : knownKeys()) {
    if (k.kind == KeyKind::array_of_tables && k.path() == table) array = true;
  }
  std::string out(array ? "[[" : "[");
  out += table;
  out += array ? "]]" : "]";
  return out;
}

}  // namespace greenlb::conf
