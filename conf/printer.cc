// printConfig: the effective config as TOML, every default written out, in the layout of
// the example in docs/configuration.md. Which keys, in which order and where each value
// lives come from the key table (conf/schema.h); this file knows only how each type of
// value is written. Written by hand rather than with toml++ so that toml++ stays in one
// file (conf/loader.cc) and the output keeps the documented key order and indentation.
#include <string>
#include <variant>
#include <vector>

#include "conf/loader.h"
#include "conf/schema.h"
#include "conf/units.h"

namespace greenlb::conf {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped. The loader
// only accepts valid UTF-8, so everything else passes through unchanged.
std::string str(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string boolean(bool b) {
  return b ? "true" : "false";
}
std::string integer(uint64_t n) {
  return std::to_string(n);
}
std::string duration(Duration d) {
  return str(formatDuration(d));
}

// Plain digits stay an integer; "64KiB" becomes a string.
std::string size(uint64_t bytes) {
  auto text = formatSize(bytes);
  return text.back() >= '0' && text.back() <= '9' ? text : str(text);
}

std::string stringList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + str(items[i]);
  return out + "]";
}

// An array of inline tables, one per line (TOML allows no line breaks inside them).
std::string inlineTables(const std::vector<std::string>& tables, std::string_view indent) {
  std::string out = "[\n";
  for (const auto& t : tables) out += std::string(indent) + "  { " + t + " },\n";
  return out + std::string(indent) + "]";
}

// An inline table of header names (quoted: they may hold characters bare keys cannot) to
// value templates.
std::string headerFields(const HeaderFields& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    out += (i ? ", " : " ") + str(fields[i].first) + " = " + str(fields[i].second);
  }
  return out + " }";
}

class Writer {
 public:
  // Starts "[header]" or "[[header]]"; nested tables are indented by two spaces like
  // the example in docs/configuration.md.
  void table(std::string_view header, bool array = false) {
    indent_ = header.find('.') == std::string_view::npos ? "" : "  ";
    if (!out_.empty()) out_ += "\n";
    out_ += indent_ + (array ? "[[" : "[") + std::string(header) + (array ? "]]" : "]") + "\n";
  }
  void key(std::string_view k, const std::string& value) {
    out_ += indent_ + std::string(k) + " = " + value + "\n";
  }
  const std::string& indent() const { return indent_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string indent_;
};

std::string format(const SchemaKey& k, const FieldValue& v, std::string_view indent);

// An inline table per element, its keys those of `table` ("address = ..., weight = 2").
std::string inlineTablesOf(std::string_view table, const Elements& elements,
                           std::string_view indent) {
  std::vector<std::string> tables;
  for (size_t i = 0; i < elements.count; ++i) {
    std::string entry;
    for (const SchemaKey& k : knownKeys()) {
      if (k.table != table || k.kind != KeyKind::value) continue;
      FieldValue v = k.get(elements.at(i));
      if (std::holds_alternative<std::monostate>(v)) continue;
      entry += (entry.empty() ? "" : ", ") + std::string(k.key) + " = " + format(k, v, indent);
    }
    tables.push_back(std::move(entry));
  }
  return inlineTables(tables, indent);
}

// A value key's value as TOML, per its type in conf/schema.h.
std::string format(const SchemaKey& k, const FieldValue& v, std::string_view indent) {
  switch (k.value.type) {
    case ValueType::boolean:
      return boolean(std::get<bool>(v));
    case ValueType::integer:
      return integer(std::get<uint64_t>(v));
    case ValueType::size:
      return size(std::get<uint64_t>(v));
    case ValueType::duration:
      return duration(std::get<Duration>(v));
    case ValueType::strings:
    case ValueType::retry_conditions:
      return stringList(std::get<std::vector<std::string>>(v));
    case ValueType::tables:
    case ValueType::addresses_or_tables:
      return inlineTablesOf(k.path(), std::get<Elements>(v), indent);
    case ValueType::header_fields:
      return headerFields(std::get<HeaderFields>(v));
    default:
      return str(std::get<std::string>(v));  // text, names, paths, addresses, choices
  }
}

// A table's sections: none for an optional table that is not set.
Elements sectionsOf(const FieldValue& v) {
  const auto* e = std::get_if<Elements>(&v);
  return e != nullptr ? *e : Elements{};
}

// The keys of `table` read out of `section` (its struct), then its tables, recursively,
// all in the order of conf/key_table.cc.
void writeTable(Writer& w, std::string_view table, const void* section) {
  for (const SchemaKey& k : knownKeys()) {
    if (k.table != table || k.kind != KeyKind::value) continue;
    FieldValue v = k.get(section);
    if (!std::holds_alternative<std::monostate>(v)) w.key(k.key, format(k, v, w.indent()));
  }
  for (const SchemaKey& k : knownKeys()) {
    if (k.table != table || k.kind == KeyKind::value) continue;
    std::string path = k.path();
    Elements sections = sectionsOf(k.get(section));
    for (size_t i = 0; i < sections.count; ++i) {
      w.table(path, k.kind == KeyKind::array_of_tables);
      writeTable(w, path, sections.at(i));
    }
  }
}

}  // namespace

std::string printConfig(const Config& config) {
  Writer w;
  writeTable(w, "", &config);
  return "# greenlb effective configuration: every default written out.\n" + w.take();
}

}  // namespace greenlb::conf
