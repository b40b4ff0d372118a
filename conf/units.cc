#include "conf/units.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <limits>

#include "conf/diagnostics.h"

namespace greenlb::conf {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

// Largest first: a combined duration must name its units in this order.
constexpr std::array<Unit, 4> kDurationUnits{
    {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}}};
constexpr std::array<Unit, 4> kSizeUnits{
    {{"GiB", kMiB * 1024}, {"MiB", kMiB}, {"KiB", kKiB}, {"B", 1}}};

// 10000h (416 days) is longer than any sensible timeout and keeps every product in range.
constexpr uint64_t kMaxDurationMs = 10000ULL * 3600000;
// Sizes print back as TOML integers, which are signed 64-bit.
constexpr uint64_t kMaxSize = std::numeric_limits<int64_t>::max();

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Consumes the leading digits of `text` into `out`; false when there are none or they
// overflow 64 bits.
bool takeNumber(std::string_view& text, uint64_t& out, bool& overflow) {
  size_t n = 0;
  while (n < text.size() && isDigit(text[n])) ++n;
  if (n == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + n, out);
  overflow = ec == std::errc::result_out_of_range;
  text.remove_prefix(n);
  return true;
}

std::string_view takeUnit(std::string_view& text) {
  size_t n = 0;
  while (n < text.size() && isAlpha(text[n])) ++n;
  auto unit = text.substr(0, n);
  text.remove_prefix(n);
  return unit;
}

template <class T>
Parsed<T> fail(std::string why) {
  return Parsed<T>{std::nullopt, std::move(why)};
}

}  // namespace

Parsed<Duration> parseDuration(std::string_view text) {
  constexpr std::string_view kUse = " (use ms, s, m or h, e.g. \"250ms\", \"5s\", \"1m30s\")";
  if (text.empty()) return fail<Duration>("is empty" + std::string(kUse));
  if (text == "0") return Parsed<Duration>{Duration{0}, {}};
  if (text[0] == '-') return fail<Duration>("is negative");
  uint64_t total = 0;
  size_t next_unit = 0;  // index into kDurationUnits: units must strictly decrease
  std::string_view rest = text;
  while (!rest.empty()) {
    uint64_t n = 0;
    bool overflow = false;
    if (!takeNumber(rest, n, overflow)) {
      return fail<Duration>("is not a number followed by a unit" + std::string(kUse));
    }
    auto unit = takeUnit(rest);
    if (unit.empty()) {
      if (rest.empty()) return fail<Duration>("has no unit" + std::string(kUse));
      return fail<Duration>("is not a number followed by a unit" + std::string(kUse));
    }
    size_t i = 0;
    while (i < kDurationUnits.size() && kDurationUnits[i].name != unit) ++i;
    if (i == kDurationUnits.size()) {
      return fail<Duration>("has an unknown unit " + quote(unit) + std::string(kUse));
    }
    if (i < next_unit) {
      return fail<Duration>("must list its units from largest to smallest (h, m, s, ms)");
    }
    next_unit = i + 1;
    if (overflow || n > kMaxDurationMs / kDurationUnits[i].factor) {
      return fail<Duration>("is too long (at most 10000h)");
    }
    total += n * kDurationUnits[i].factor;
    if (total > kMaxDurationMs) return fail<Duration>("is too long (at most 10000h)");
  }
  return Parsed<Duration>{Duration{static_cast<int64_t>(total)}, {}};
}

std::string formatDuration(Duration d) {
  uint64_t ms = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
  if (ms == 0) return "0s";
  std::string out;
  for (const auto& unit : kDurationUnits) {
    if (ms >= unit.factor) {
      out += std::to_string(ms / unit.factor);
      out += unit.name;
      ms %= unit.factor;
    }
  }
  return out;
}

Parsed<uint64_t> parseSize(std::string_view text) {
  constexpr std::string_view kUse = " (use B, KiB, MiB or GiB, e.g. \"16KiB\", or an integer)";
  if (text.empty()) return fail<uint64_t>("is empty" + std::string(kUse));
  if (text[0] == '-') return fail<uint64_t>("is negative");
  std::string_view rest = text;
  uint64_t n = 0;
  bool overflow = false;
  if (!takeNumber(rest, n, overflow)) {
    return fail<uint64_t>("is not a number followed by a unit" + std::string(kUse));
  }
  auto unit = takeUnit(rest);
  if (!rest.empty()) {
    return fail<uint64_t>("is not a number followed by a unit" + std::string(kUse));
  }
  uint64_t factor = 1;
  if (!unit.empty()) {
    size_t i = 0;
    while (i < kSizeUnits.size() && kSizeUnits[i].name != unit) ++i;
    if (i == kSizeUnits.size()) {
      return fail<uint64_t>("has an unknown unit " + quote(unit) + std::string(kUse));
    }
    factor = kSizeUnits[i].factor;
  }
  if (overflow || n > kMaxSize / factor) return fail<uint64_t>("is too large");
  return Parsed<uint64_t>{n * factor, {}};
}

std::string formatSize(uint64_t bytes) {
  for (const auto& unit : kSizeUnits) {
    if (unit.factor > 1 && bytes != 0 && bytes % unit.factor == 0) {
      return std::to_string(bytes / unit.factor) + std::string(unit.name);
    }
  }
  return std::to_string(bytes);
}

namespace {

bool isIpv4(const std::string& host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool isIpv6(const std::string& host) {
  in6_addr a{};
  return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

// RFC 1123 host names, plus '_' which service discovery names use (SRV-style labels).
bool isDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!isAlpha(c) && !isDigit(c) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label != 0 || host.size() > 1;  // a trailing dot (FQDN) is fine
}

bool looksNumeric(std::string_view host) {
  for (char c : host) {
    if (!isDigit(c) && c != '.') return false;
  }
  return true;
}

}  // namespace

Parsed<Address> parseAddress(std::string_view text, bool allow_port_zero) {
  constexpr std::string_view kForm = " (expected \"host:port\" or \"[v6]:port\")";
  if (text.empty()) return fail<Address>("is empty" + std::string(kForm));
  Address addr;
  std::string_view port_text;
  if (text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail<Address>("has no closing ']'");
    addr.host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (rest.empty() || rest[0] != ':') return fail<Address>("has no port" + std::string(kForm));
    port_text = rest.substr(1);
    if (!isIpv6(addr.host)) return fail<Address>("has an invalid IPv6 address in brackets");
    addr.is_ip = true;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail<Address>("has no port" + std::string(kForm));
    if (text.find(':') != colon) {
      return fail<Address>("looks like an IPv6 address: put it in brackets, e.g. \"[::1]:8080\"");
    }
    addr.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (addr.host.empty()) {
      return fail<Address>("has no host (use \"0.0.0.0:PORT\" or \"[::]:PORT\" for any address)");
    }
    if (isIpv4(addr.host)) {
      addr.is_ip = true;
    } else if (looksNumeric(addr.host)) {
      return fail<Address>("has an invalid IPv4 address");
    } else if (!isDnsName(addr.host)) {
      return fail<Address>("has an invalid host name " + quote(addr.host));
    }
  }
  uint64_t port = 0;
  bool overflow = false;
  std::string_view rest = port_text;
  if (!takeNumber(rest, port, overflow) || !rest.empty()) {
    return fail<Address>("has an invalid port " + quote(port_text));
  }
  if (overflow || port > 65535) return fail<Address>("has a port above 65535");
  if (port == 0 && !allow_port_zero) return fail<Address>("has port 0");
  addr.port = static_cast<uint16_t>(port);
  return Parsed<Address>{std::move(addr), {}};
}

}  // namespace greenlb::conf
