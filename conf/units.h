// The value types with units in greenlb's config (docs/configuration.md, "Values"):
// durations, sizes and addresses. Pure text <-> value functions, no TOML, so the printer
// and the tests use the same grammar as the loader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace greenlb::conf {

// A parsed value, or why the text is not one. `error` reads as the end of a sentence
// that starts with the offending text, e.g. "unknown unit \"sec\" (use ms, s, m or h)".
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;
  explicit operator bool() const { return value.has_value(); }
};

// "250ms", "5s", "2m", "1h", combinations from the largest unit down ("1m30s",
// "1h5m", "1s500ms"), and "0". No sign, no spaces, no fractions.
Parsed<Duration> parseDuration(std::string_view text);

// The shortest canonical spelling: "0s", "250ms", "1m30s", "1h".
std::string formatDuration(Duration d);

// "16KiB", "1MiB", "1GiB", "512B" or plain digits ("1024"), in bytes.
Parsed<uint64_t> parseSize(std::string_view text);

// The largest binary unit that divides `bytes` exactly ("64KiB"), else plain digits
// ("1000"). Zero prints as "0".
std::string formatSize(uint64_t bytes);

// "host:port" or "[v6]:port". IPv4 and bracketed IPv6 literals set is_ip; other hosts
// must be DNS names (letters, digits, '-', '_' and '.'), kept verbatim for resolving later.
// `allow_port_zero` is for listen addresses (port 0 = the kernel picks, used by tests).
Parsed<Address> parseAddress(std::string_view text, bool allow_port_zero);

}  // namespace greenlb::conf
