#include "core/env.h"

#include <vector>

namespace hadr {

Status Env::link_file(const std::string& from, const std::string& to) {
  return failed_precondition("this Env cannot link " + from + " to " + to + "; use posix_env() or MemEnv");
}

std::string join_path(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string path(dir);
  if (path.back() != '/') path += '/';
  path += name;
  return path;
}

std::string parent_dir(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Result<std::string> read_file_to_string(Env& env, const std::string& path, std::uint64_t max_bytes) {
  HADR_ASSIGN_OR_RETURN(auto file, env.new_random_access_file(path));
  HADR_ASSIGN_OR_RETURN(const std::uint64_t size, file->size());
  if (size > max_bytes) {
    return resource_exhausted(path + " is " + std::to_string(size) + " bytes; the limit is " +
                              std::to_string(max_bytes));
  }
  std::string contents(size, '\0');
  HADR_ASSIGN_OR_RETURN(const std::size_t got, file->read(0, size, contents.data()));
  contents.resize(got);
  return contents;
}

Status write_file_atomically(Env& env, const std::string& path, std::string_view data) {
  const std::string temporary = path + ".tmp";
  HADR_ASSIGN_OR_RETURN(auto file, env.new_writable_file(temporary));
  HADR_TRY(file->append(data));
  HADR_TRY(file->sync());
  HADR_TRY(file->close());
  HADR_TRY(env.rename_file(temporary, path));
  return env.sync_dir(parent_dir(path));
}

}  // namespace hadr
