// Result<T>: a value or an Error, for code on the message path where exceptions are not used.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace warden {

struct Error {
  int code = 0;         // a JSON-RPC error code where the error is answered to a peer
  std::string message;  // what was wrong, where, and what to do
};

template <class T> class [[nodiscard]] Result {
public:
  Result(T value) : m_v(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Error error) : m_v(std::move(error)) {}        // NOLINT(google-explicit-constructor)
  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(m_v); }
  const T& value() const { return std::get<0>(m_v); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(m_v); }

private:
  std::variant<T, Error> m_v;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace warden

// Propagate an error from an expression returning Result<...>.
#define WARDEN_TRY(expr)                                                                           \
  do {                                                                                             \
    auto&& warden_try_r = (expr);                                                                  \
    if (!warden_try_r.ok()) return warden_try_r.error();                                           \
  } while (0)
