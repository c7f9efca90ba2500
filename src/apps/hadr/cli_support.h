// Small helpers shared by the command files: uniform error printing and exit codes, duration
// flags, and the error for an unknown command or flag.
//
// Exit codes: 0 success; 1 the check the command performs failed (corruption found, loss
// found); 2 bad usage or bad input (CLI11 uses 105+ for its own parse errors... we map them
// to 2 in main); 3 an environment error (a file or server could not be reached).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/result.h"

namespace hadr::cli {

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitEnvironment = 3;

// Prints "hadr <command>: <error>" to stderr and returns the exit code that fits the error.
int report_error(std::string_view command, const Error& error);

// A flag holding a duration ("1.5s", "250ms", "2m"): typed DURATION in --help, which lists the
// units; a value that is not a duration is refused at parse time naming the flag.
CLI::Option* add_duration_option(CLI::App& app, const std::string& name, std::string& value, const std::string& help);

// The closest of `candidates` to `typed` when it is close enough to be a typo ("" if none).
std::string closest_match(std::string_view typed, const std::vector<std::string>& candidates);

// After CLI11 refused argv: a message naming the unknown command or flag the user typed, with
// "did you mean …" when one is close ("" when argv has neither: CLI11's message stands).
std::string unknown_word_message(CLI::App& root, int argc, const char* const* argv);

}  // namespace hadr::cli
