#include "conf/header_rules.h"

#include <algorithm>

namespace greenlb::conf {
namespace {

bool tokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool equalsIgnoreCase(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() &&
         std::equal(a.begin(), a.end(), lower.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? static_cast<char>(x + 32) : x) == y;
         });
}

// The fields whose meaning is the connection's or the message's framing, which the proxy
// writes itself (docs/proxying.md, "Headers"); Host is the routed authority.
constexpr std::string_view kProxyOwned[] = {
    "connection",        "keep-alive", "proxy-connection", "te",   "trailer",
    "transfer-encoding", "upgrade",    "content-length",   "host", "http2-settings"};

}  // namespace

std::string headerRuleNameProblem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name[0] == ':') return "is an HTTP/2 pseudo-header, which only the proxy writes";
  if (!std::all_of(name.begin(), name.end(), tokenChar)) {
    return "is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)";
  }
  for (std::string_view owned : kProxyOwned) {
    if (equalsIgnoreCase(name, owned)) {
      return "is a hop-by-hop or framing header, which only the proxy writes";
    }
  }
  return {};
}

namespace detail {

std::string templateByteProblem(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return "contains a control character (no CR, LF or NUL in a header value)";
    }
  }
  if (!text.empty() &&
      (text.front() == ' ' || text.front() == '\t' || text.back() == ' ' || text.back() == '\t')) {
    return "has whitespace at its start or end, which HTTP would strip";
  }
  return {};
}

}  // namespace detail

std::string headerTemplateProblem(std::string_view text) {
  return splitHeaderTemplate(
      text, [](std::string_view) {}, [](HeaderVariable) {});
}

size_t headerTemplateMaxBytes(std::string_view text) {
  size_t n = 0;
  splitHeaderTemplate(
      text, [&](std::string_view literal) { n += literal.size(); },
      [&](HeaderVariable v) { n += kHeaderVariableMaxBytes[static_cast<size_t>(v)]; });
  return n;
}

}  // namespace greenlb::conf
