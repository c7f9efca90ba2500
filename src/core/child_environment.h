// The environment of the programs hadr starts on an operator's behalf: the exec handler's
// command, the alias-failover hook and the alert command.
//
// Never the whole environment of hadr: that holds hadr's own secrets (the variables named by
// redis.password_env, amqp.password_env, azure.key_env, ...), and a child that prints its
// environment (`alerts.command = ["/usr/bin/env"]`) wrote HADR_AMQP_PASSWORD into a log file
// (issue 15). A child gets exactly:
//   1. PATH, HOME and LANG copied from hadr's environment when set (PATH defaults to
//      kDefaultPath): a program needs them to find its helpers, its own config (e.g. `az`
//      reads ~/.azure) and to decode text. None of them holds a secret;
//   2. each variable the config names (handler.exec_environment, hook.environment,
//      alerts.environment), copied when set in hadr's environment;
//   3. hadr's own entries for the child (HADR_MESSAGE_ID, HADR_ALERT_EVENT, ...), which win
//      over a copied variable of the same name.
// The config refuses a list that names a variable one of its *_env keys names (a secret).
//
// Thread-safety: pure functions; `environment` is read once per call.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/secret.h"

namespace hadr {

inline constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
// The variables every child gets when hadr has them (item 1 above).
inline constexpr std::string_view kChildBaseVariables[] = {"PATH", "HOME", "LANG"};
inline constexpr std::size_t kChildEnvironmentNamesMax = 64;

// "NAME=value" entries, items 1..3 above, each name at most once (later items win).
std::vector<std::string> child_environment(std::span<const std::string> pass_names,
                                           std::span<const std::string> own_entries,
                                           const EnvironmentLookup& environment);

// A POSIX variable name: a letter or '_', then letters, digits or '_'; at most 256 bytes.
// kInvalidArgument naming `key` and the fix.
Status validate_environment_name(std::string_view key, std::string_view name);

}  // namespace hadr
