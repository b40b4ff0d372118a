#include "proxy/http/header_rules.h"

#include "proxy/http/request_id.h"

namespace greenlb::proxy::http {

static_assert(
    conf::kHeaderVariableMaxBytes[static_cast<size_t>(conf::HeaderVariable::request_id)] >=
        kMaxRequestIdLength,
    "conf/header_rules.h bounds ${request_id} by the longest request id");

HeaderRules::HeaderRules(const conf::HeaderRulesConfig& config) {
  auto drop = [&](const std::string& name) {
    std::string lower(name);
    for (char& c : lower) c = toLowerAscii(c);
    dropped_.push_back(keep(lower));
    dropped_ids_ |= 1u << static_cast<unsigned>(headerId(lower));
  };
  for (const std::string& name : config.remove) drop(name);
  for (const auto& [name, value] : config.set) {
    drop(name);
    addField(name, value);
  }
  for (const auto& [name, value] : config.add) addField(name, value);
  // Bit 0 is HeaderId::other: any name the codec does not know. Only the ids the proxy
  // writes itself are asked about, so it is cleared to keep the mask honest.
  dropped_ids_ &= ~1u;
}

HeaderRules::Span HeaderRules::keep(std::string_view s) {
  Span span{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(s.size())};
  text_.append(s);
  return span;
}

void HeaderRules::addField(const std::string& name, const std::string& value) {
  FieldSpans f;
  f.name = keep(name);
  std::string lower(name);
  for (char& c : lower) c = toLowerAscii(c);
  f.lower = keep(lower);
  f.first_piece = static_cast<uint32_t>(pieces_.size());
  conf::splitHeaderTemplate(
      value,
      [&](std::string_view literal) {
        pieces_.push_back({keep(literal), kLiteral});
      },
      [&](conf::HeaderVariable v) {
        pieces_.push_back({{}, static_cast<uint8_t>(v)});
      });
  f.pieces = static_cast<uint32_t>(pieces_.size()) - f.first_piece;
  fields_.push_back(f);
}

HeaderRules::Field HeaderRules::field(size_t i) const {
  const FieldSpans& f = fields_[i];
  return {text(f.name), text(f.lower), f.first_piece, f.pieces};
}

size_t HeaderRules::valueSize(const Field& f, const RuleVars& vars) const {
  size_t n = 0;
  expand(f, vars, [&](std::string_view s) { n += s.size(); });
  return n;
}

size_t pathOffset(std::string_view target) {
  if (target.empty() || target[0] == '/') return 0;
  size_t scheme = target.find("://");
  if (scheme == std::string_view::npos) return target.size();
  size_t slash = target.find('/', scheme + 3);
  return slash == std::string_view::npos ? target.size() : slash;
}

}  // namespace greenlb::proxy::http
