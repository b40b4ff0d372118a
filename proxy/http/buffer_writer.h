// Appends to a caller-provided fixed buffer; remembers when something did not fit so the
// head writers can report 0 instead of a truncated head. Internal to the codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace greenlb::proxy::http {

class BufferWriter {
 public:
  explicit BufferWriter(std::span<char> out)
      : begin_(out.data()), p_(out.data()), end_(out.data() + out.size()) {}

  void put(std::string_view s) {
    if (!ok_ || s.size() > static_cast<size_t>(end_ - p_)) {
      ok_ = false;
      return;
    }
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  void putDecimal(uint64_t v) {
    char digits[20];
    size_t n = 0;
    do {
      digits[sizeof digits - ++n] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    put(std::string_view(digits + sizeof digits - n, n));
  }

  void putHeader(std::string_view name, std::string_view value) {
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }

  // Bytes written, or 0 when the output did not fit.
  size_t finish() const { return ok_ ? static_cast<size_t>(p_ - begin_) : 0; }

 private:
  char* begin_;
  char* p_;
  char* end_;
  bool ok_ = true;
};

}  // namespace greenlb::proxy::http
