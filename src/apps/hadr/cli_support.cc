#include "apps/hadr/cli_support.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "config/region_config.h"

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

CLI::Option* add_duration_option(CLI::App& app, const std::string& name, std::string& value, const std::string& help) {
  CLI::Option* option = app.add_option(name, value, help + " (" + std::string(kDurationUnits) + ")");
  option->type_name("DURATION");
  const std::string flag = name.substr(0, name.find(','));
  option->check(CLI::Validator(
      [flag](std::string& text) -> std::string {
        auto parsed = parse_duration(flag, text);
        if (parsed.ok()) return std::string();
        // CLI11 puts "<flag>: " before the message itself.
        const std::string& detail = parsed.error().detail;
        return detail.rfind(flag + ": ", 0) == 0 ? detail.substr(flag.size() + 2) : detail;
      },
      "DURATION"));
  return option;
}

namespace {

// Levenshtein distance, for the short words of a command line.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view typed, const std::vector<std::string>& candidates) {
  const std::string best = closest_match(typed, candidates);
  return best.empty() ? std::string() : "; did you mean " + best + "?";
}

std::string command_path(const CLI::App* app) {
  std::string path;
  for (const CLI::App* at = app; at != nullptr; at = at->get_parent()) {
    path = at->get_parent() == nullptr ? "hadr" + path : " " + at->get_name() + path;
  }
  return path;
}

std::vector<std::string> subcommand_names(CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) names.push_back(sub->get_name());  // option groups have no name
  }
  return names;
}

std::vector<std::string> flag_names(CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app->get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

const CLI::Option* find_flag(CLI::App* app, const std::string& word) {
  for (const CLI::Option* option : app->get_options()) {
    for (const std::string& name : option->get_lnames()) {
      if (word == "--" + name) return option;
    }
    for (const std::string& name : option->get_snames()) {
      if (word == "-" + name) return option;
    }
  }
  return nullptr;
}

bool is_number(std::string_view word) {
  if (word.size() < 2 || word[0] != '-') return false;
  return std::all_of(word.begin() + 1, word.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

std::string closest_match(std::string_view typed, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = edit_distance(typed, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  // A typo: at most a third of the word wrong (and at least one letter allowed).
  const std::size_t allowed = std::max<std::size_t>(1, typed.size() / 3);
  return best_distance <= allowed ? best : std::string();
}

std::string unknown_word_message(CLI::App& root, int argc, const char* const* argv) {
  CLI::App* app = &root;
  for (int index = 1; index < argc; ++index) {
    const std::string word = argv[index];
    if (word == "--") return "";
    if (word.size() > 1 && word[0] == '-' && !is_number(word)) {
      const std::string name = word.substr(0, word.find('='));
      const CLI::Option* option = find_flag(app, name);
      if (option == nullptr) {
        return command_path(app) + ": unknown flag " + name + suggestion(name, flag_names(app)) + " (see " +
               command_path(app) + " --help)";
      }
      // Skip the value of an option that takes one (given as the next word).
      if (option->get_items_expected_max() > 0 && name == word && index + 1 < argc) ++index;
      continue;
    }
    const std::vector<std::string> names = subcommand_names(app);
    if (std::find(names.begin(), names.end(), word) != names.end()) {
      app = app->get_subcommand(word);
      continue;
    }
    // A positional argument of a command that takes one (e.g. `wal verify DIR`).
    const bool takes_positionals = !app->get_options([](const CLI::Option* option) {
                                         return option->get_positional();
                                       }).empty();
    if (takes_positionals || names.empty()) continue;
    std::string list;
    for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
    const std::string hint = suggestion(word, names);
    return command_path(app) + ": unknown command '" + word + "'" + hint + (hint.empty() ? "; the" : " The") +
           " commands are: " + list + " (see " + command_path(app) + " --help)";
  }
  return "";
}

}  // namespace hadr::cli
