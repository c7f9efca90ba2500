#include "core/child_environment.h"

#include <algorithm>

namespace hadr {

namespace {

constexpr std::size_t kEnvironmentNameBytesMax = 256;

std::string_view name_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// Puts NAME=value in `entries`, replacing an earlier entry of the same name.
void put(std::vector<std::string>& entries, std::string entry) {
  const std::string_view name = name_of(entry);
  const auto same = std::find_if(entries.begin(), entries.end(),
                                 [&](const std::string& existing) { return name_of(existing) == name; });
  if (same != entries.end()) *same = std::move(entry);
  else entries.push_back(std::move(entry));
}

}  // namespace

std::vector<std::string> child_environment(std::span<const std::string> pass_names,
                                           std::span<const std::string> own_entries,
                                           const EnvironmentLookup& environment) {
  HADR_ASSERT(pass_names.size() <= kChildEnvironmentNamesMax);
  std::vector<std::string> entries;
  for (const std::string_view name : kChildBaseVariables) {
    const std::optional<std::string> value = environment(std::string(name));
    if (value) put(entries, std::string(name) + "=" + *value);
    else if (name == "PATH") put(entries, "PATH=" + std::string(kDefaultPath));
  }
  for (const std::string& name : pass_names) {
    HADR_ASSERT(!name.empty() && name.find('=') == std::string::npos);
    const std::optional<std::string> value = environment(name);
    if (value) put(entries, name + "=" + *value);
  }
  for (const std::string& entry : own_entries) {
    HADR_ASSERT(entry.find('=') != std::string::npos);
    put(entries, entry);
  }
  return entries;
}

Status validate_environment_name(std::string_view key, std::string_view name) {
  const std::string bad = std::string(key) + ": \"" + std::string(name.substr(0, 64)) + "\" is not an environment variable name; ";
  if (name.empty() || name.size() > kEnvironmentNameBytesMax) {
    return invalid_argument(bad + "write 1.." + std::to_string(kEnvironmentNameBytesMax) + " letters, digits or '_'");
  }
  const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!letter(name.front()) || !std::all_of(name.begin(), name.end(), [&](char c) { return letter(c) || digit(c); })) {
    return invalid_argument(bad + "write a name such as AZURE_CONFIG_DIR (a letter or '_', then letters, digits or '_')");
  }
  return ok_status();
}

}  // namespace hadr
