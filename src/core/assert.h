// Assertions that stay on in release builds (TigerStyle): a broken invariant stops the
// process at once with file, line and the failed condition, instead of corrupting state.
// Use them for programmer errors only; expected failures are Results.
#pragma once

namespace hadr::detail {
[[noreturn]] void assertion_failed(const char* file, int line, const char* condition,
                                   const char* format, ...) __attribute__((format(printf, 4, 5)));
}  // namespace hadr::detail

#define HADR_ASSERT(condition)                                                         \
  do {                                                                                 \
    if (!(condition)) [[unlikely]] {                                                   \
      ::hadr::detail::assertion_failed(__FILE__, __LINE__, #condition, nullptr);       \
    }                                                                                  \
  } while (false)

#define HADR_ASSERT_MSG(condition, ...)                                                \
  do {                                                                                 \
    if (!(condition)) [[unlikely]] {                                                   \
      ::hadr::detail::assertion_failed(__FILE__, __LINE__, #condition, __VA_ARGS__);   \
    }                                                                                  \
  } while (false)

#define HADR_UNREACHABLE() ::hadr::detail::assertion_failed(__FILE__, __LINE__, "unreachable", nullptr)
