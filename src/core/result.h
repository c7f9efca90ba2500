// Result<T> and Error: hadr's error vocabulary.
//
// Codes are chosen by how the caller must react (after absl::StatusCode), not by where the
// error came from:
//   kUnavailable        transient; retry with backoff (store, bus or blob unreachable).
//   kDeadlineExceeded   timed out; the operation MAY have happened (treat like a lost confirm).
//   kAborted            fenced: lease lost, stale epoch, claim or lock lost. Retry only from
//                       higher up, after re-reading who is in charge.
//   kFailedPrecondition the system is not in a state where this can work; fix the state first.
//   kDataLoss           corruption or a poisoned log. Alert and halt; never skip.
//   kNotFound, kAlreadyExists, kInvalidArgument, kResourceExhausted (bounded queue full:
//                       back off), kInternal (a bug or an unexpected system error).
//
// Result is [[nodiscard]]: an ignored error is a compile error under -Werror.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace hadr {

enum class ErrorCode : unsigned char {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kAborted,
  kUnavailable,
  kDeadlineExceeded,
  kResourceExhausted,
  kDataLoss,
  kInternal,
};

std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string detail;

  std::string to_string() const;  // "data_loss: wal segment 00000003.log offset 4096: ..."
};

inline Error invalid_argument(std::string detail) { return {ErrorCode::kInvalidArgument, std::move(detail)}; }
inline Error not_found(std::string detail) { return {ErrorCode::kNotFound, std::move(detail)}; }
inline Error already_exists(std::string detail) { return {ErrorCode::kAlreadyExists, std::move(detail)}; }
inline Error failed_precondition(std::string detail) { return {ErrorCode::kFailedPrecondition, std::move(detail)}; }
inline Error aborted(std::string detail) { return {ErrorCode::kAborted, std::move(detail)}; }
inline Error unavailable(std::string detail) { return {ErrorCode::kUnavailable, std::move(detail)}; }
inline Error deadline_exceeded(std::string detail) { return {ErrorCode::kDeadlineExceeded, std::move(detail)}; }
inline Error resource_exhausted(std::string detail) { return {ErrorCode::kResourceExhausted, std::move(detail)}; }
inline Error data_loss(std::string detail) { return {ErrorCode::kDataLoss, std::move(detail)}; }
inline Error internal_error(std::string detail) { return {ErrorCode::kInternal, std::move(detail)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    HADR_ASSERT_MSG(ok(), "value() on an error Result: %s", std::get<1>(state_).to_string().c_str());
    return std::get<0>(state_);
  }
  const T& value() const& {
    HADR_ASSERT_MSG(ok(), "value() on an error Result: %s", std::get<1>(state_).to_string().c_str());
    return std::get<0>(state_);
  }
  T&& value() && {
    HADR_ASSERT_MSG(ok(), "value() on an error Result: %s", std::get<1>(state_).to_string().c_str());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    HADR_ASSERT(!ok());
    return std::get<1>(state_);
  }
  Error take_error() && {
    HADR_ASSERT(!ok());
    return std::get<1>(std::move(state_));
  }
  ErrorCode code() const { return error().code; }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an Error. `Status` is its everyday name.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    HADR_ASSERT(!ok_);
    return error_;
  }
  Error take_error() && {
    HADR_ASSERT(!ok_);
    return std::move(error_);
  }
  ErrorCode code() const { return error().code; }

 private:
  Error error_{ErrorCode::kInternal, {}};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace hadr

#define HADR_CONCAT_INNER(a, b) a##b
#define HADR_CONCAT(a, b) HADR_CONCAT_INNER(a, b)

// Returns the error of a Result/Status expression from the enclosing function.
#define HADR_TRY(expression)                                  \
  do {                                                        \
    auto hadr_try_result_ = (expression);                     \
    if (!hadr_try_result_.ok()) {                             \
      return std::move(hadr_try_result_).take_error();        \
    }                                                         \
  } while (false)

// `HADR_ASSIGN_OR_RETURN(auto x, make_x());` declares x from a Result or returns its error.
#define HADR_ASSIGN_OR_RETURN(declaration, expression) \
  HADR_ASSIGN_OR_RETURN_IMPL(HADR_CONCAT(hadr_result_, __LINE__), declaration, expression)
#define HADR_ASSIGN_OR_RETURN_IMPL(temporary, declaration, expression) \
  auto temporary = (expression);                                      \
  if (!temporary.ok()) {                                              \
    return std::move(temporary).take_error();                         \
  }                                                                   \
  declaration = std::move(temporary).value()
