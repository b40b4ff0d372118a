#include "conf/value_syntax.h"

#include <algorithm>

#include "conf/suggest.h"

namespace greenlb::conf {
namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// RFC 9110 token characters: what header names and cookie names are made of.
bool isToken(std::string_view s) {
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return isAlnum(c) || kExtra.find(c) != std::string_view::npos;
  });
}

template <class T>
Parsed<T> fail(std::string why) {
  return Parsed<T>{std::nullopt, std::move(why)};
}

std::string didYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  auto guess = closestMatch(word, candidates);
  if (guess.empty()) return {};
  return "; did you mean \"" + std::string(guess) + "\"?";
}

}  // namespace

Parsed<HashConfig> parseHashKey(std::string_view text) {
  HashConfig hash;
  if (text == "client_ip") {
    hash.key = HashKey::client_ip;
  } else if (text == "path") {
    hash.key = HashKey::path;
  } else if (text.starts_with("header:") || text.starts_with("cookie:")) {
    bool header = text[0] == 'h';
    auto name = text.substr(7);
    if (!isToken(name)) {
      return fail<HashConfig>(std::string("needs a valid ") + (header ? "header" : "cookie") +
                              " name after the colon");
    }
    hash.key = header ? HashKey::header : HashKey::cookie;
    hash.name = header ? lowered(name) : std::string(name);
  } else {
    return fail<HashConfig>(
        "is not a hash key (expected \"client_ip\", \"header:NAME\", \"cookie:NAME\" or "
        "\"path\")" +
        didYouMean(text, {"client_ip", "path"}));
  }
  return Parsed<HashConfig>{std::move(hash), {}};
}

std::string formatHashKey(const HashConfig& hash) {
  switch (hash.key) {
    case HashKey::header:
      return "header:" + hash.name;
    case HashKey::cookie:
      return "cookie:" + hash.name;
    default:
      return std::string(toString(hash.key));
  }
}

Parsed<std::string> parseCookieName(std::string_view text) {
  if (!isToken(text)) {
    return fail<std::string>("is not a cookie name (letters, digits and !#$%&'*+-.^_`|~ only)");
  }
  if (text.size() > 64) return fail<std::string>("is longer than 64 characters");
  return Parsed<std::string>{std::string(text), {}};
}

Parsed<RateLimitConfig> parseRateLimitKey(std::string_view text) {
  RateLimitConfig limit;
  if (text == "client_ip") {
    limit.key = RateLimitKey::client_ip;
  } else if (text == "global") {
    limit.key = RateLimitKey::global;
  } else if (text.starts_with("header:")) {
    auto name = text.substr(7);
    if (!isToken(name)) return fail<RateLimitConfig>("needs a valid header name after the colon");
    limit.key = RateLimitKey::header;
    limit.header = lowered(name);
  } else {
    return fail<RateLimitConfig>(
        "is not a rate limit key (expected \"client_ip\", \"header:NAME\" or \"global\")" +
        didYouMean(text, {"client_ip", "global"}));
  }
  return Parsed<RateLimitConfig>{std::move(limit), {}};
}

std::string formatRateLimitKey(const RateLimitConfig& limit) {
  if (limit.key == RateLimitKey::header) return "header:" + limit.header;
  return std::string(toString(limit.key));
}

Parsed<RetryCondition> parseRetryCondition(std::string_view text) {
  if (text == "connect_failure") return Parsed<RetryCondition>{RetryCondition{}, {}};
  if (text == "reset") return Parsed<RetryCondition>{RetryCondition{RetryCondition::reset}, {}};
  if (text == "timeout") {
    return Parsed<RetryCondition>{RetryCondition{RetryCondition::timeout}, {}};
  }
  bool digits = text.size() == 3 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && text[0] == '5') {
    auto code = static_cast<uint16_t>((text[0] - '0') * 100 + (text[1] - '0') * 10 + text[2] - '0');
    return Parsed<RetryCondition>{RetryCondition{RetryCondition::status, code}, {}};
  }
  if (digits) return fail<RetryCondition>("is not a 5xx status; only 5xx responses are retried");
  return fail<RetryCondition>(
      "is not a retry condition (expected \"connect_failure\", \"reset\", \"timeout\" or a 5xx "
      "status such as \"503\")" +
      didYouMean(text, {"connect_failure", "reset", "timeout"}));
}

std::vector<std::string> formatRetryOn(const RetryConfig& retry) {
  std::vector<std::string> on;
  if (retry.on_connect_failure) on.emplace_back("connect_failure");
  if (retry.on_reset) on.emplace_back("reset");
  if (retry.on_timeout) on.emplace_back("timeout");
  for (auto code : retry.on_status) on.push_back(std::to_string(code));
  return on;
}

Parsed<std::string> parseHostPattern(std::string_view text) {
  auto host = text;
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.find(':') != std::string_view::npos) {
    return fail<std::string>("must be a host name without a port");
  }
  bool ok = !host.empty() && host.size() <= 253 && host.front() != '.' && host.back() != '.' &&
            host.find("..") == std::string_view::npos &&
            std::all_of(host.begin(), host.end(),
                        [](char c) { return isAlnum(c) || c == '-' || c == '.' || c == '_'; });
  if (!ok) {
    return fail<std::string>(
        "is not a host name or a wildcard such as \"*.example.com\" ('*' only as the whole "
        "first label)");
  }
  return Parsed<std::string>{lowered(text), {}};
}

std::string nameProblem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 64) return "is longer than 64 characters";
  bool ok = std::all_of(name.begin(), name.end(),
                        [](char c) { return isAlnum(c) || c == '_' || c == '-' || c == '.'; });
  if (!ok) return "may contain only letters, digits, '_', '-' and '.'";
  return {};
}

}  // namespace greenlb::conf
