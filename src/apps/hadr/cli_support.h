// Small helpers shared by the command files: uniform error printing and exit codes.
//
// Exit codes: 0 success; 1 the check the command performs failed (corruption found, loss
// found); 2 bad usage or bad input (CLI11 uses 105+ for its own parse errors... we map them
// to 2 in main); 3 an environment error (a file or server could not be reached).
#pragma once

#include <string_view>

#include "core/result.h"

namespace hadr::cli {

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitEnvironment = 3;

// Prints "hadr <command>: <error>" to stderr and returns the exit code that fits the error.
int report_error(std::string_view command, const Error& error);

}  // namespace hadr::cli
