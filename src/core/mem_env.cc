#include "core/mem_env.h"

#include <algorithm>

namespace hadr {

struct MemEnv::Inode {
  std::string data;
  std::uint64_t synced_size = 0;
};

struct MemEnv::State {
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<Inode>> live;     // path -> inode, as processes see it
  std::map<std::string, std::shared_ptr<Inode>> durable;  // path -> inode, as a crash leaves it
  std::set<std::string> directories{"/", "."};
  std::set<std::string> locked;
  SyncHook sync_hook;
  std::uint64_t sync_count = 0;
  std::uint64_t generation = 0;

  Status check_generation(std::uint64_t opened_at, const std::string& path) const {
    if (opened_at != generation) {
      return failed_precondition(path + ": file handle from before a simulated crash");
    }
    return ok_status();
  }

  // Runs the hook (if any) without holding the mutex, so the hook may call back into the env.
  Status run_sync_hook(std::unique_lock<std::mutex>& lock, const std::string& path) {
    ++sync_count;
    SyncHook hook = sync_hook;
    if (!hook) return ok_status();
    lock.unlock();
    Status status = hook(path);
    lock.lock();
    return status;
  }
};

namespace {

std::string normalize(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::shared_ptr<MemEnv::State> state, std::shared_ptr<MemEnv::Inode> inode, std::string path,
                  std::uint64_t generation)
      : state_(std::move(state)), inode_(std::move(inode)), path_(std::move(path)), generation_(generation) {}

  Status append(std::string_view data) override {
    std::lock_guard lock(state_->mutex);
    HADR_TRY(state_->check_generation(generation_, path_));
    if (closed_) return failed_precondition(path_ + ": append after close");
    inode_->data.append(data);
    return ok_status();
  }

  Status sync() override {
    std::unique_lock lock(state_->mutex);
    HADR_TRY(state_->check_generation(generation_, path_));
    HADR_TRY(state_->run_sync_hook(lock, path_));
    HADR_TRY(state_->check_generation(generation_, path_));  // the hook may have crashed the env
    inode_->synced_size = inode_->data.size();
    return ok_status();
  }

  Status close() override {
    closed_ = true;
    return ok_status();
  }

  std::uint64_t size() const override {
    std::lock_guard lock(state_->mutex);
    return inode_->data.size();
  }

 private:
  std::shared_ptr<MemEnv::State> state_;
  std::shared_ptr<MemEnv::Inode> inode_;
  std::string path_;
  std::uint64_t generation_;
  bool closed_ = false;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  MemRandomAccessFile(std::shared_ptr<MemEnv::State> state, std::shared_ptr<MemEnv::Inode> inode, std::string path,
                      std::uint64_t generation)
      : state_(std::move(state)), inode_(std::move(inode)), path_(std::move(path)), generation_(generation) {}

  Result<std::size_t> read(std::uint64_t offset, std::size_t length, char* scratch) const override {
    std::lock_guard lock(state_->mutex);
    HADR_TRY(state_->check_generation(generation_, path_));
    const std::string& data = inode_->data;
    if (offset >= data.size()) return std::size_t{0};
    const std::size_t count = std::min<std::uint64_t>(length, data.size() - offset);
    std::copy_n(data.data() + offset, count, scratch);
    return count;
  }

  Result<std::uint64_t> size() const override {
    std::lock_guard lock(state_->mutex);
    HADR_TRY(state_->check_generation(generation_, path_));
    return static_cast<std::uint64_t>(inode_->data.size());
  }

 private:
  std::shared_ptr<MemEnv::State> state_;
  std::shared_ptr<MemEnv::Inode> inode_;
  std::string path_;
  std::uint64_t generation_;
};

class MemFileLock final : public FileLock {
 public:
  MemFileLock(std::shared_ptr<MemEnv::State> state, std::string path, std::uint64_t generation)
      : state_(std::move(state)), path_(std::move(path)), generation_(generation) {}
  ~MemFileLock() override {
    std::lock_guard lock(state_->mutex);
    if (state_->generation == generation_) state_->locked.erase(path_);
  }

 private:
  std::shared_ptr<MemEnv::State> state_;
  std::string path_;
  std::uint64_t generation_;
};

}  // namespace

MemEnv::MemEnv() : state_(std::make_shared<State>()) {}
MemEnv::~MemEnv() = default;

Result<std::unique_ptr<WritableFile>> MemEnv::new_writable_file(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  if (!state_->directories.count(parent_dir(path))) return not_found("create " + path + ": no such directory");
  if (state_->directories.count(path)) return failed_precondition(path + " is a directory");
  auto inode = std::make_shared<Inode>();
  state_->live[path] = inode;
  return std::unique_ptr<WritableFile>(new MemWritableFile(state_, inode, path, state_->generation));
}

Result<std::unique_ptr<WritableFile>> MemEnv::new_appendable_file(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(path);
  if (found == state_->live.end()) {
    if (!state_->directories.count(parent_dir(path))) return not_found("create " + path + ": no such directory");
    found = state_->live.emplace(path, std::make_shared<Inode>()).first;
  }
  return std::unique_ptr<WritableFile>(new MemWritableFile(state_, found->second, path, state_->generation));
}

Result<std::unique_ptr<RandomAccessFile>> MemEnv::new_random_access_file(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(path);
  if (found == state_->live.end()) return not_found("open " + path + ": no such file");
  return std::unique_ptr<RandomAccessFile>(new MemRandomAccessFile(state_, found->second, path, state_->generation));
}

bool MemEnv::file_exists(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  return state_->live.count(path) > 0 || state_->directories.count(path) > 0;
}

Result<std::vector<std::string>> MemEnv::list_dir(const std::string& raw_dir) {
  const std::string dir = normalize(raw_dir);
  std::lock_guard lock(state_->mutex);
  if (!state_->directories.count(dir)) return not_found("list " + dir + ": no such directory");
  std::vector<std::string> names;
  for (const auto& [path, inode] : state_->live) {
    if (parent_dir(path) == dir) names.push_back(path.substr(path.rfind('/') + 1));
  }
  for (const auto& path : state_->directories) {
    if (path != dir && parent_dir(path) == dir) names.push_back(path.substr(path.rfind('/') + 1));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status MemEnv::create_dirs(const std::string& raw_dir) {
  std::string dir = normalize(raw_dir);
  std::lock_guard lock(state_->mutex);
  std::vector<std::string> chain;
  while (!dir.empty() && !state_->directories.count(dir)) {
    if (state_->live.count(dir)) return failed_precondition(dir + " exists and is not a directory");
    chain.push_back(dir);
    const std::string parent = parent_dir(dir);
    if (parent == dir) break;
    dir = parent;
  }
  for (auto& path : chain) state_->directories.insert(path);
  return ok_status();
}

Status MemEnv::remove_file(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  if (state_->live.erase(path) == 0) return not_found("remove " + path + ": no such file");
  return ok_status();
}

Status MemEnv::rename_file(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = normalize(raw_from);
  const std::string to = normalize(raw_to);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(from);
  if (found == state_->live.end()) return not_found("rename " + from + ": no such file");
  if (!state_->directories.count(parent_dir(to))) return not_found("rename to " + to + ": no such directory");
  auto inode = found->second;
  state_->live.erase(found);
  state_->live[to] = std::move(inode);
  return ok_status();
}

Status MemEnv::link_file(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = normalize(raw_from);
  const std::string to = normalize(raw_to);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(from);
  if (found == state_->live.end()) return not_found("link " + from + ": no such file");
  if (!state_->directories.count(parent_dir(to))) return not_found("link to " + to + ": no such directory");
  if (state_->live.count(to) || state_->directories.count(to)) return already_exists("link to " + to + ": file exists");
  state_->live[to] = found->second;
  return ok_status();
}

Status MemEnv::truncate_file(const std::string& raw_path, std::uint64_t size) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(path);
  if (found == state_->live.end()) return not_found("truncate " + path + ": no such file");
  Inode& inode = *found->second;
  if (size < inode.data.size()) inode.data.resize(size);
  else inode.data.append(size - inode.data.size(), '\0');
  inode.synced_size = inode.data.size();
  return ok_status();
}

Status MemEnv::sync_dir(const std::string& raw_dir) {
  const std::string dir = normalize(raw_dir);
  std::unique_lock lock(state_->mutex);
  if (!state_->directories.count(dir)) return not_found("sync " + dir + ": no such directory");
  HADR_TRY(state_->run_sync_hook(lock, dir));
  for (auto it = state_->durable.begin(); it != state_->durable.end();) {
    if (parent_dir(it->first) == dir) it = state_->durable.erase(it);
    else ++it;
  }
  for (const auto& [path, inode] : state_->live) {
    if (parent_dir(path) == dir) state_->durable[path] = inode;
  }
  return ok_status();
}

Result<std::uint64_t> MemEnv::file_size(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(path);
  if (found == state_->live.end()) return not_found("stat " + path + ": no such file");
  return static_cast<std::uint64_t>(found->second->data.size());
}

Result<std::unique_ptr<FileLock>> MemEnv::lock_file(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  if (!state_->locked.insert(path).second) {
    return failed_precondition(path + " is locked by another process; stop it first");
  }
  if (!state_->live.count(path)) state_->live[path] = std::make_shared<Inode>();
  return std::unique_ptr<FileLock>(new MemFileLock(state_, path, state_->generation));
}

void MemEnv::crash(CrashMode mode, Random& random) {
  std::lock_guard lock(state_->mutex);
  ++state_->generation;
  state_->locked.clear();
  state_->live = state_->durable;
  // An inode may be reachable under several durable names; mangle each inode once.
  std::set<Inode*> seen;
  for (auto& [path, inode] : state_->live) {
    if (!seen.insert(inode.get()).second) continue;
    const std::uint64_t synced = inode->synced_size;
    const std::uint64_t unsynced = inode->data.size() - synced;
    std::uint64_t keep = 0;
    if (mode != CrashMode::kDropUnsynced && unsynced > 0) keep = random.between(0, unsynced);
    inode->data.resize(synced + keep);
    if (mode == CrashMode::kCorruptUnsynced && keep > 0) {
      const std::uint64_t at = synced + random.uniform(keep);
      inode->data[at] = static_cast<char>(inode->data[at] ^ (1u << random.uniform(8)));
    }
    inode->synced_size = inode->data.size();
  }
}

void MemEnv::set_sync_hook(SyncHook hook) {
  std::lock_guard lock(state_->mutex);
  state_->sync_hook = std::move(hook);
}

Result<std::string> MemEnv::contents(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(path);
  if (found == state_->live.end()) return not_found(path + ": no such file");
  return found->second->data;
}

Status MemEnv::overwrite(const std::string& raw_path, std::uint64_t offset, std::string_view bytes) {
  const std::string path = normalize(raw_path);
  std::lock_guard lock(state_->mutex);
  auto found = state_->live.find(path);
  if (found == state_->live.end()) return not_found(path + ": no such file");
  Inode& inode = *found->second;
  if (offset + bytes.size() > inode.data.size()) return invalid_argument("overwrite past the end of " + path);
  std::copy(bytes.begin(), bytes.end(), inode.data.begin() + static_cast<std::ptrdiff_t>(offset));
  return ok_status();
}

std::uint64_t MemEnv::sync_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->sync_count;
}

std::uint64_t MemEnv::generation() const {
  std::lock_guard lock(state_->mutex);
  return state_->generation;
}

}  // namespace hadr
