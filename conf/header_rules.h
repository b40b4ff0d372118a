// The grammar of a route's header rules (docs/proxying.md, "Header rules and prefix
// rewrite"): which header names a rule may touch, and value templates with ${variables}.
// The loader checks rules with it; proxy/http/header_rules.h compiles them with it, so
// the two read a template the same way.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

namespace greenlb::conf {

// The variables a header value may use, in the order of kHeaderVariableNames.
enum class HeaderVariable : uint8_t { client_ip, request_id, listener, upstream };
inline constexpr std::string_view kHeaderVariableNames[] = {"client_ip", "request_id", "listener",
                                                            "upstream"};
inline constexpr size_t kHeaderVariableCount = std::size(kHeaderVariableNames);

// The most bytes a variable's value takes: an address's text (the proxy formats it into 64
// bytes), a request id (proxy/http/request_id.h, 128), a listener or upstream name (64,
// conf/value_syntax.h nameProblem).
inline constexpr size_t kHeaderVariableMaxBytes[] = {64, 128, 64, 64};
static_assert(std::size(kHeaderVariableMaxBytes) == kHeaderVariableCount);

// The most fields one rule table may set and add together, and the most bytes they may
// take written out ("Name: value\r\n", variables at their longest): the head writers size
// their field arrays and buffers for them, so a rule never makes a head not fit.
inline constexpr size_t kMaxHeaderRuleFields = 32;
inline constexpr size_t kMaxHeaderRuleBytes = 8 * 1024;

// Empty when `name` may be set, added or removed by a rule, else why not: it must be a
// token (RFC 9110 section 5.1), and hop-by-hop and framing fields (Connection,
// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Content-Length,
// HTTP2-Settings), Host and HTTP/2 pseudo-headers (":path") belong to the proxy.
std::string headerRuleNameProblem(std::string_view name);

// Splits a value template into literal text and variables: `literal(text)` and
// `variable(HeaderVariable)` are called in order. "${name}" is a variable, "$$" a literal
// "$", any other "$" is literal. Returns empty when the template is fine, else why not
// (an unknown or unterminated variable, a byte not allowed in a field value, whitespace
// at either end); the callbacks may have been called for a prefix then.
template <class Literal, class Variable>
std::string splitHeaderTemplate(std::string_view text, Literal literal, Variable variable);

// The same check without the pieces.
std::string headerTemplateProblem(std::string_view text);

// The most bytes a valid template expands to (kHeaderVariableMaxBytes per variable).
size_t headerTemplateMaxBytes(std::string_view text);

// --- implementation ---

namespace detail {
std::string templateByteProblem(std::string_view text);
}  // namespace detail

template <class Literal, class Variable>
std::string splitHeaderTemplate(std::string_view text, Literal literal, Variable variable) {
  if (std::string problem = detail::templateByteProblem(text); !problem.empty()) return problem;
  size_t start = 0;  // of the literal run not yet passed on
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 == text.size()) {
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {  // "$$": one literal '$'
      literal(text.substr(start, i + 1 - start));
      start = i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      ++i;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return "has an unterminated variable \"" + std::string(text.substr(i, 20)) +
             "\" (write \"$$\" for a literal \"$\")";
    }
    std::string_view name = text.substr(i + 2, close - i - 2);
    size_t v = 0;
    while (v < kHeaderVariableCount && kHeaderVariableNames[v] != name) ++v;
    if (v == kHeaderVariableCount) {
      std::string known;
      for (size_t k = 0; k < kHeaderVariableCount; ++k) {
        known += k == 0 ? "" : k + 1 == kHeaderVariableCount ? " or " : ", ";
        known += "${" + std::string(kHeaderVariableNames[k]) + "}";
      }
      return "uses unknown variable \"${" + std::string(name) + "}\"; known: " + known;
    }
    if (i > start) literal(text.substr(start, i - start));
    variable(static_cast<HeaderVariable>(v));
    start = i = close + 1;
  }
  if (start < text.size()) literal(text.substr(start));
  return {};
}

}  // namespace greenlb::conf
