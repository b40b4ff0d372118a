// Errors as values for the data plane (docs/architecture.md, "Errors"): every read can fail
// and most failures are normal (peer closed, timed out), so operations return a Result
// instead of throwing. The error is an errno value; the runtime's own conditions map onto
// errno too:
//   ETIMEDOUT  a Timeout around the wait expired
//   ECANCELED  the fiber was killed
//   EBADF      the socket was closed while the fiber waited on it
//   EMFILE/EAGAIN as the kernel says
#pragma once

#include <cerrno>
#include <cstring>
#include <type_traits>
#include <utility>

namespace greenlb::core {

// A failed operation's errno.
struct Error {
  int code = 0;
  const char* message() const { return std::strerror(code); }
  bool timedOut() const { return code == ETIMEDOUT; }
  bool cancelled() const { return code == ECANCELED; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : ok_(true) { new (&value_) T(std::move(value)); }  // NOLINT: implicit by design
  Result(Error e) : ok_(false), error_(e) {}                         // NOLINT
  Result(const Result& o) : ok_(o.ok_), error_(o.error_) {
    if (ok_) new (&value_) T(o.value_);
  }
  Result(Result&& o) noexcept : ok_(o.ok_), error_(o.error_) {
    if (ok_) new (&value_) T(std::move(o.value_));
  }
  Result& operator=(Result o) noexcept {
    this->~Result();
    new (this) Result(std::move(o));
    return *this;
  }
  ~Result() {
    if (ok_) value_.~T();
  }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T& operator*() & { return value_; }
  const T& operator*() const& { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  Error error() const { return error_; }

 private:
  bool ok_;
  Error error_{};
  union {
    T value_;
  };
};

// Result of an operation with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : error_(e) {}  // NOLINT: implicit by design
  static Status ok_status() { return {}; }
  bool ok() const { return error_.code == 0; }
  explicit operator bool() const { return ok(); }
  Error error() const { return error_; }

 private:
  Error error_{};
};

inline Error lastError() { return Error{errno}; }

}  // namespace greenlb::core
