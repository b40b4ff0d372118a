// The grammars of the config's string values that are not units (conf/units.h): hash
// keys, retry conditions, route host patterns and object names. Text <-> value only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/units.h"

namespace greenlb::conf {

// [upstream.hash] key: "client_ip" | "header:NAME" | "cookie:NAME" | "path". Header
// names are lower-cased (HTTP header names are case-insensitive); cookie names are not.
Parsed<HashConfig> parseHashKey(std::string_view text);
std::string formatHashKey(const HashConfig& hash);
// The same grammar, looser about NAME, as the chart's values.schema.json checks it (a
// regular expression; tests/unit/conf/units_test.cc holds it against the parser).
inline constexpr std::string_view kHashKeyPattern = "^(client_ip|path|header:.+|cookie:.+)$";

// A cookie's name (RFC 6265: an RFC 9110 token) of at most 64 characters, as
// [upstream.sticky] cookie sets it.
Parsed<std::string> parseCookieName(std::string_view text);

// A rate limit's key: "client_ip" | "header:NAME" | "global" (header names lower-cased).
Parsed<RateLimitConfig> parseRateLimitKey(std::string_view text);
std::string formatRateLimitKey(const RateLimitConfig& limit);
inline constexpr std::string_view kRateLimitKeyPattern = "^(client_ip|global|header:.+)$";

// One entry of [upstream.retry] on: "connect_failure", "reset", "timeout" or a 5xx status.
struct RetryCondition {
  enum Kind { connect_failure, reset, timeout, status };
  Kind kind = connect_failure;
  uint16_t code = 0;  // for `status`
};
Parsed<RetryCondition> parseRetryCondition(std::string_view text);
// The same grammar as a regular expression, for the chart (see kHashKeyPattern).
inline constexpr std::string_view kRetryConditionPattern =
    "^(connect_failure|reset|timeout|5[0-9][0-9])$";

// The `on` list that loads back to the same conditions as `retry`.
std::vector<std::string> formatRetryOn(const RetryConfig& retry);

// A route's host: a host name ("api.example.com") or a wildcard for its subdomains
// ("*.example.com"), without a port; lower-cased.
Parsed<std::string> parseHostPattern(std::string_view text);

// Listener and upstream names appear in metric labels, logs and /status: 1-64 letters,
// digits, '_', '-' or '.'. Empty when `name` is fine, else why not.
std::string nameProblem(std::string_view name);

}  // namespace greenlb::conf
