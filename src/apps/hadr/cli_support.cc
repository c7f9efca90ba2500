#include "apps/hadr/cli_support.h"

#include <cstdio>
#include <string>

namespace hadr::cli {

int report_error(std::string_view command, const Error& error) {
  const std::string text = error.to_string();
  std::fprintf(stderr, "hadr %.*s: %s\n", static_cast<int>(command.size()), command.data(), text.c_str());
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return kExitUsage;
    case ErrorCode::kDataLoss: return kExitCheckFailed;
    default: return kExitEnvironment;
  }
}

}  // namespace hadr::cli
