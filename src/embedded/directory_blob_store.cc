#include "embedded/directory_blob_store.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <cerrno>
#include <charconv>

#include "contracts/validation.h"

namespace hadr {
namespace {

constexpr char kContinuedPiece = '+';  // a directory holding the rest of a long segment
constexpr char kObjectFile = '~';      // an object's own file

// Numbers the temp files of this process. With the pid, a temp name is unique among all
// writers, whatever the number of store instances in each process.
std::atomic<std::uint64_t> next_temp_number{0};

bool process_is_gone(std::string_view temp_name) {
  int pid = 0;
  const auto [end, error] = std::from_chars(temp_name.data(), temp_name.data() + temp_name.size(), pid);
  if (error != std::errc() || end == temp_name.data() || pid <= 0) return false;  // not ours: leave it
  return pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

// What list() collects while it walks the tree: the smallest max + 1 matching keys (the extra
// one answers "more"), and how much it walked.
struct DirectoryBlobStore::ListScan {
  std::string_view prefix;
  std::string_view start_after;
  std::size_t max = 0;
  std::set<std::string> keys;
  std::size_t entries_scanned = 0;

  // Whether some key that starts with `subtree` could still be kept.
  bool wants(std::string_view subtree) const {
    const std::size_t common = std::min(subtree.size(), prefix.size());
    if (subtree.substr(0, common) != prefix.substr(0, common)) return false;
    if (!start_after.starts_with(subtree) && subtree < start_after) return false;
    return keys.size() <= max || subtree < *keys.rbegin();
  }

  void offer(std::string key) {
    if (!key.starts_with(prefix) || key <= start_after) return;
    keys.insert(std::move(key));
    if (keys.size() > max + 1) keys.erase(std::prev(keys.end()));
    HADR_ASSERT(keys.size() <= max + 1);
  }
};

Result<std::unique_ptr<DirectoryBlobStore>> DirectoryBlobStore::open(Env& env, const std::string& root) {
  if (root.empty()) return invalid_argument("blob store directory is empty; give a path");
  std::unique_ptr<DirectoryBlobStore> store(new DirectoryBlobStore(env, root));
  HADR_TRY(env.create_dirs(store->objects_dir_));
  HADR_TRY(env.create_dirs(store->temp_dir_));
  HADR_TRY(env.sync_dir(root));
  HADR_TRY(env.sync_dir(parent_dir(root)));
  HADR_TRY(store->remove_stale_temps());
  return store;
}

DirectoryBlobStore::DirectoryBlobStore(Env& env, std::string root)
    : env_(env),
      root_(std::move(root)),
      objects_dir_(join_path(root_, "objects")),
      temp_dir_(join_path(root_, "tmp")) {}

std::string DirectoryBlobStore::object_path(std::string_view key) const {
  HADR_ASSERT(key.size() <= 1024);
  std::string path = objects_dir_;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = key.find('/', start);
    const bool last = slash == std::string_view::npos;
    std::string_view segment = key.substr(start, last ? std::string_view::npos : slash - start);
    while (segment.size() > kMaxPieceBytes - 1) {
      path += '/';
      path += segment.substr(0, kMaxPieceBytes - 1);
      path += kContinuedPiece;
      segment.remove_prefix(kMaxPieceBytes - 1);
    }
    path += '/';
    path += segment;
    if (last) break;
    start = slash + 1;
  }
  path += kObjectFile;
  return path;
}

Status DirectoryBlobStore::validate_put(std::string_view key, std::string_view data) const {
  HADR_TRY(validate_blob_key(key));
  if (data.size() > kMaxObjectBytes) {
    return invalid_argument("blob '" + std::string(key) + "' is " + std::to_string(data.size()) +
                            " bytes; the maximum is " + std::to_string(kMaxObjectBytes));
  }
  return ok_status();
}

Status DirectoryBlobStore::create_parent_dirs(const std::string& path) {
  const std::string parent = parent_dir(path);
  HADR_ASSERT(parent.starts_with(objects_dir_));
  // Every directory from objects/ down to the parent, each synced into its own parent so that
  // the object's path survives a crash once the object's directory is synced. objects/ itself
  // too: the store's directory may have been deleted under the running store (issue 12, hole
  // 13: the "container" is gone), and a put creates it again like the Azure store does.
  for (std::size_t end = objects_dir_.size(); end <= parent.size(); ++end) {
    if (end != parent.size() && parent[end] != '/') continue;
    const std::string dir = parent.substr(0, end);
    if (env_.file_exists(dir)) continue;
    HADR_TRY(env_.create_dirs(dir));
    HADR_TRY(env_.sync_dir(parent_dir(dir)));
  }
  return ok_status();
}

Result<std::string> DirectoryBlobStore::write_temp(std::string_view data) {
  const std::string path = join_path(
      temp_dir_, std::to_string(::getpid()) + "." + std::to_string(next_temp_number.fetch_add(1)) + ".tmp");
  auto opened = env_.new_writable_file(path);
  if (!opened.ok() && opened.code() == ErrorCode::kNotFound) {
    // tmp/ went with a deleted store directory (hole 13): create it again, durably, and retry once.
    HADR_TRY(env_.create_dirs(temp_dir_));
    HADR_TRY(env_.sync_dir(root_));
    opened = env_.new_writable_file(path);
  }
  if (!opened.ok()) return std::move(opened).take_error();
  auto file = std::move(opened).value();
  Status status = file->append(data);
  if (status.ok()) status = file->sync();
  if (status.ok()) status = file->close();
  if (!status.ok()) {
    (void)env_.remove_file(path);
    return std::move(status).take_error();
  }
  return path;
}

Result<bool> DirectoryBlobStore::put_if_absent(std::string_view key, std::string_view data) {
  HADR_TRY(validate_put(key, data));
  const std::string path = object_path(key);
  if (!env_.file_exists(path)) {
    HADR_TRY(create_parent_dirs(path));
    HADR_ASSIGN_OR_RETURN(const std::string temp, write_temp(data));
    // link() is the arbiter between racing writers: it never replaces an existing name.
    const Status linked = env_.link_file(temp, path);
    (void)env_.remove_file(temp);  // the object keeps its own name; a leftover is removed at open
    if (linked.ok()) {
      HADR_TRY(env_.sync_dir(parent_dir(path)));
      return true;
    }
    if (linked.code() != ErrorCode::kAlreadyExists) return linked.error();
  }
  // Another writer's object: make its name durable before answering that it exists.
  HADR_TRY(env_.sync_dir(parent_dir(path)));
  return false;
}

Status DirectoryBlobStore::put(std::string_view key, std::string_view data) {
  HADR_TRY(validate_put(key, data));
  const std::string path = object_path(key);
  HADR_TRY(create_parent_dirs(path));
  HADR_ASSIGN_OR_RETURN(const std::string temp, write_temp(data));
  const Status renamed = env_.rename_file(temp, path);
  if (!renamed.ok()) {
    (void)env_.remove_file(temp);
    return renamed;
  }
  return env_.sync_dir(parent_dir(path));
}

Result<std::string> DirectoryBlobStore::get(std::string_view key) {
  HADR_TRY(validate_blob_key(key));
  auto data = read_file_to_string(env_, object_path(key), kMaxObjectBytes);
  if (!data.ok() && data.code() == ErrorCode::kNotFound) {
    return not_found("blob '" + std::string(key) + "' does not exist in " + root_);
  }
  return data;
}

Status DirectoryBlobStore::remove(std::string_view key) {
  HADR_TRY(validate_blob_key(key));
  const std::string path = object_path(key);
  const Status removed = env_.remove_file(path);
  if (!removed.ok()) return removed.code() == ErrorCode::kNotFound ? ok_status() : removed;
  return env_.sync_dir(parent_dir(path));
}

Result<BlobPage> DirectoryBlobStore::list(std::string_view prefix, std::string_view start_after, std::size_t max) {
  HADR_TRY(validate_blob_key_prefix("blob list prefix", prefix));
  HADR_TRY(validate_blob_key_prefix("blob list start_after", start_after));
  if (max < 1 || max > kMaxListPage) {
    return invalid_argument("blob list of " + std::to_string(max) + " keys; ask for 1.." +
                            std::to_string(kMaxListPage));
  }
  ListScan scan{prefix, start_after, max, {}, 0};
  // A store directory deleted under the running store holds no objects (the next put creates
  // it again): the same answer the Azure store gives for a vanished container.
  if (!env_.file_exists(objects_dir_)) return BlobPage{};
  HADR_TRY(scan_directory(objects_dir_, "", scan));
  BlobPage page;
  page.more = scan.keys.size() > max;
  if (page.more) scan.keys.erase(std::prev(scan.keys.end()));
  page.keys.assign(scan.keys.begin(), scan.keys.end());
  HADR_ASSERT(page.keys.size() <= max);
  return page;
}

// Walks `dir`, whose objects' keys start with `decoded`, skipping every subtree that cannot
// hold a key the page wants. Recursion depth is bounded by the key length (1024).
Status DirectoryBlobStore::scan_directory(const std::string& dir, const std::string& decoded, ListScan& scan) {
  HADR_ASSIGN_OR_RETURN(const std::vector<std::string> names, env_.list_dir(dir));
  scan.entries_scanned += names.size();
  if (scan.entries_scanned > kMaxEntriesScanned) {
    return resource_exhausted("blob list under " + root_ + " visited more than " +
                              std::to_string(kMaxEntriesScanned) + " entries; use a longer prefix");
  }
  for (const std::string& name : names) {
    HADR_ASSERT(!name.empty());
    const std::string_view piece(name.data(), name.size() - 1);
    if (name.back() == kObjectFile) {
      scan.offer(decoded + std::string(piece));
      continue;
    }
    const std::string subtree = name.back() == kContinuedPiece ? decoded + std::string(piece) : decoded + name + "/";
    if (scan.wants(subtree)) HADR_TRY(scan_directory(join_path(dir, name), subtree, scan));
  }
  return ok_status();
}

Status DirectoryBlobStore::remove_stale_temps() {
  HADR_ASSIGN_OR_RETURN(const std::vector<std::string> names, env_.list_dir(temp_dir_));
  std::size_t removed = 0;
  for (const std::string& name : names) {
    if (removed == kMaxTempCleanup) break;
    if (!process_is_gone(name)) continue;
    HADR_TRY(env_.remove_file(join_path(temp_dir_, name)));
    ++removed;
  }
  return ok_status();
}

}  // namespace hadr
