#include "core/result.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace hadr {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kAborted: return "aborted";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kDataLoss: return "data_loss";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string text(error_code_name(code));
  if (!detail.empty()) {
    text += ": ";
    text += detail;
  }
  return text;
}

namespace detail {

void assertion_failed(const char* file, int line, const char* condition, const char* format, ...) {
  std::fprintf(stderr, "hadr: assertion failed at %s:%d: %s", file, line, condition);
  if (format != nullptr) {
    std::fputs(": ", stderr);
    va_list arguments;
    va_start(arguments, format);
    std::vfprintf(stderr, format, arguments);
    va_end(arguments);
  }
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail
}  // namespace hadr
