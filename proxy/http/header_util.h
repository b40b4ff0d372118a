// Character classes and small string helpers of HTTP/1.1 syntax (RFC 9110 section 5.6),
// all header-only so the parsers' inner loops inline them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace greenlb::proxy::http {

namespace detail {

constexpr bool tokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

template <class Pred>
constexpr std::array<bool, 256> makeTable(Pred pred) {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = pred(static_cast<unsigned char>(c));
  return t;
}

inline constexpr std::array<bool, 256> kTokenTable = makeTable(tokenChar);
// field-value bytes: VCHAR, obs-text, SP and HTAB. Not CR, LF, NUL, other CTLs or DEL.
inline constexpr std::array<bool, 256> kFieldValueTable =
    makeTable([](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); });
// request-target bytes: visible ASCII only (no whitespace, CTL or raw non-ASCII).
inline constexpr std::array<bool, 256> kTargetTable =
    makeTable([](unsigned char c) { return c > 0x20 && c < 0x7f; });
inline constexpr std::array<char, 256> kLowerTable = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  return t;
}();

}  // namespace detail

// tchar of RFC 9110: the characters of methods, header names and coding names.
inline bool isTokenChar(char c) {
  return detail::kTokenTable[static_cast<unsigned char>(c)];
}
// A byte allowed inside a header value (also in reason phrases and trailer values).
inline bool isFieldValueChar(char c) {
  return detail::kFieldValueTable[static_cast<unsigned char>(c)];
}
inline bool isTargetChar(char c) {
  return detail::kTargetTable[static_cast<unsigned char>(c)];
}
inline bool isOws(char c) {
  return c == ' ' || c == '\t';
}
inline bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
inline char toLowerAscii(char c) {
  return detail::kLowerTable[static_cast<unsigned char>(c)];
}

namespace detail {

// SWAR tests on 8 bytes at once: whether any byte is below n (n <= 128), or equals b.
// Exact as yes/no answers, which is all the skip loops below need.
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;
inline uint64_t anyBelow(uint64_t v, uint8_t n) {
  return (v - kOnes * n) & ~v & kHighs;
}
inline uint64_t anyEqual(uint64_t v, uint8_t b) {
  const uint64_t x = v ^ (kOnes * b);
  return (x - kOnes) & ~x & kHighs;
}
inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace detail

// The first byte in [p, end) that cannot be part of a header value (or end). Header values
// make up most of a head, so 8 bytes at a time while none is a CTL or DEL (a tab also
// drops to the byte loop, which allows it).
inline const char* skipFieldValueChars(const char* p, const char* end) {
  while (end - p >= 8) {
    const uint64_t v = detail::load8(p);
    if (detail::anyBelow(v, 0x20) | detail::anyEqual(v, 0x7f)) break;
    p += 8;
  }
  while (p < end && isFieldValueChar(*p)) ++p;
  return p;
}

// The first byte in [p, end) that cannot be part of a request-target (or end): 8 bytes at
// a time while all are visible ASCII.
inline const char* skipTargetChars(const char* p, const char* end) {
  while (end - p >= 8) {
    const uint64_t v = detail::load8(p);
    if (detail::anyBelow(v, 0x21) | (v & detail::kHighs) | detail::anyEqual(v, 0x7f)) break;
    p += 8;
  }
  while (p < end && isTargetChar(*p)) ++p;
  return p;
}

// A non-empty run of tchar.
inline bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isTokenChar(c)) return false;
  return true;
}

// ASCII case-insensitive equality, as header names and tokens compare.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (toLowerAscii(a[i]) != toLowerAscii(b[i])) return false;
  return true;
}

inline std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// Walks the elements of a comma-separated list (RFC 9110 section 5.6.1), trimmed of OWS.
// Empty elements are reported too (as empty views) so strict callers can reject them and
// lenient ones skip them:
//   CommaSplitter list(value);
//   for (std::string_view item; list.next(item);) ...
class CommaSplitter {
 public:
  explicit CommaSplitter(std::string_view list) : rest_(list), done_(false) {}

  bool next(std::string_view& element) {
    if (done_) return false;
    size_t comma = rest_.find(',');
    if (comma == std::string_view::npos) {
      element = trimOws(rest_);
      done_ = true;
    } else {
      element = trimOws(rest_.substr(0, comma));
      rest_.remove_prefix(comma + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  bool done_;
};

// Whether a comma-separated list (such as a Connection value) names token, ignoring case.
inline bool listContainsToken(std::string_view list, std::string_view token) {
  CommaSplitter items(list);
  for (std::string_view item; items.next(item);)
    if (equalsIgnoreCase(item, token)) return true;
  return false;
}

}  // namespace greenlb::proxy::http
