// A route's header rules compiled for the hot path (docs/proxying.md, "Header rules and
// prefix rewrite"): built once when a configuration generation is made, then only read.
// Names are kept as written (for HTTP/1.1) and lower-cased (for matching and HTTP/2);
// value templates are split into literal pieces and variables, so applying a rule copies
// bytes into the head being written and allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/header_rules.h"
#include "proxy/http/header_names.h"
#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {

// The values of a template's variables for one request, by conf::HeaderVariable. Views
// into the exchange's own memory.
struct RuleVars {
  std::array<std::string_view, conf::kHeaderVariableCount> values{};
  std::string_view& operator[](conf::HeaderVariable v) { return values[static_cast<size_t>(v)]; }
  std::string_view operator[](conf::HeaderVariable v) const {
    return values[static_cast<size_t>(v)];
  }
};

class HeaderRules {
 public:
  HeaderRules() = default;
  // `config` was checked by the loader (conf/header_rules.h).
  explicit HeaderRules(const conf::HeaderRulesConfig& config);

  bool empty() const { return dropped_.empty() && fields_.empty(); }

  // A received field with this name is left out: it is removed, or set anew.
  bool drops(std::string_view name) const {
    for (const Span& d : dropped_) {
      if (equalsIgnoreCase(name, text(d))) return true;
    }
    return false;
  }
  // The same for a field the proxy writes itself (X-Forwarded-*, X-Request-Id).
  bool drops(HeaderId id) const { return (dropped_ids_ >> static_cast<unsigned>(id)) & 1u; }

  // One field a rule writes: every `set`, then every `add`.
  struct Field {
    std::string_view name;   // as written in the configuration
    std::string_view lower;  // lower-cased, for HTTP/2
    uint32_t first_piece;
    uint32_t pieces;
  };
  size_t fieldCount() const { return fields_.size(); }
  Field field(size_t i) const;

  // Calls put(bytes) for each piece of field `f`'s value, variables expanded.
  template <class Put>
  void expand(const Field& f, const RuleVars& vars, Put put) const {
    for (uint32_t i = f.first_piece; i < f.first_piece + f.pieces; ++i) {
      const Piece& p = pieces_[i];
      put(p.variable == kLiteral ? text(p.literal)
                                 : vars[static_cast<conf::HeaderVariable>(p.variable)]);
    }
  }
  // Bytes field `f`'s value takes with `vars`.
  size_t valueSize(const Field& f, const RuleVars& vars) const;

 private:
  static constexpr uint8_t kLiteral = 0xff;
  struct Span {
    uint32_t offset = 0, size = 0;
  };
  struct FieldSpans {
    Span name, lower;
    uint32_t first_piece, pieces;
  };
  struct Piece {
    Span literal;
    uint8_t variable;  // a conf::HeaderVariable, or kLiteral
  };

  std::string_view text(Span s) const { return std::string_view(text_).substr(s.offset, s.size); }
  Span keep(std::string_view s);
  void addField(const std::string& name, const std::string& value);

  std::string text_;  // every name and literal, once; the Spans index into it
  std::vector<Span> dropped_;
  uint32_t dropped_ids_ = 0;  // bits by HeaderId
  std::vector<FieldSpans> fields_;
  std::vector<Piece> pieces_;
};

// A request target with its path's first `prefix_len` bytes (the route's path_prefix)
// replaced by `with` (rewrite_prefix); the query and an absolute-form's scheme and
// authority are kept. Inactive when `prefix_len` is 0.
struct PrefixRewrite {
  size_t prefix_len = 0;
  std::string_view with;
  bool active() const { return prefix_len != 0; }
};

// Where the path of a request target starts: 0 for origin-form, after the authority for
// absolute-form ("http://h/p" -> 8), the target's size when it has no path.
size_t pathOffset(std::string_view target);

}  // namespace greenlb::proxy::http
