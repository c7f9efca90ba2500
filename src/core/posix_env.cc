// The real Env: POSIX file I/O. Every error names the path and the errno text.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/env.h"

namespace hadr {
namespace {

// WAL segments, checkpoints and backup objects hold message bodies: owner only (issue 15). A
// directory may be listed by the group (0750), so an operator's group can see what exists.
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirectoryMode = 0750;

Error posix_error(std::string_view what, const std::string& path, int error_number) {
  std::string detail = std::string(what) + " " + path + ": " + std::strerror(error_number);
  switch (error_number) {
    case ENOENT: return not_found(std::move(detail));
    case EEXIST: return already_exists(std::move(detail));
    case ENOSPC:
    case EDQUOT: return resource_exhausted(std::move(detail));
    case EIO: return data_loss(std::move(detail));
    default: return internal_error(std::move(detail));
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, std::uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status append(std::string_view data) override {
    HADR_ASSERT(fd_ >= 0);
    while (!data.empty()) {
      const ssize_t written = ::write(fd_, data.data(), data.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        return posix_error("write", path_, errno);
      }
      data.remove_prefix(static_cast<std::size_t>(written));
      size_ += static_cast<std::uint64_t>(written);
    }
    return ok_status();
  }

  Status sync() override {
    HADR_ASSERT(fd_ >= 0);
    // No retry on failure: after a failed fdatasync the kernel may have dropped the dirty pages,
    // so a second call can "succeed" without the data being on disk (the fsyncgate lesson).
    if (::fdatasync(fd_) != 0) {
      Error error = posix_error("fdatasync", path_, errno);
      error.code = ErrorCode::kDataLoss;
      return error;
    }
    return ok_status();
  }

  Status close() override {
    if (fd_ < 0) return ok_status();
    const int result = ::close(fd_);
    fd_ = -1;
    if (result != 0) return posix_error("close", path_, errno);
    return ok_status();
  }

  std::uint64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  std::uint64_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Result<std::size_t> read(std::uint64_t offset, std::size_t length, char* scratch) const override {
    std::size_t total = 0;
    while (total < length) {
      const ssize_t got = ::pread(fd_, scratch + total, length - total, static_cast<off_t>(offset + total));
      if (got < 0) {
        if (errno == EINTR) continue;
        return posix_error("read", path_, errno);
      }
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
    }
    return total;
  }

  Result<std::uint64_t> size() const override {
    struct stat info;
    if (::fstat(fd_, &info) != 0) return posix_error("stat", path_, errno);
    return static_cast<std::uint64_t>(info.st_size);
  }

 private:
  std::string path_;
  int fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

Status sync_fd_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return posix_error("open", path, errno);
  const int result = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  if (result != 0) {
    Error error = posix_error("fsync", path, saved_errno);
    error.code = ErrorCode::kDataLoss;
    return error;
  }
  return ok_status();
}

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
    if (fd < 0) return posix_error("create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, 0));
  }

  Result<std::unique_ptr<WritableFile>> new_appendable_file(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, kFileMode);
    if (fd < 0) return posix_error("open for append", path, errno);
    struct stat info;
    if (::fstat(fd, &info) != 0) {
      const int saved_errno = errno;
      ::close(fd);
      return posix_error("stat", path, saved_errno);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, static_cast<std::uint64_t>(info.st_size)));
  }

  Result<std::unique_ptr<RandomAccessFile>> new_random_access_file(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return posix_error("open", path, errno);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
  }

  bool file_exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) return posix_error("list", dir, errno);
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(handle)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(handle);
    std::sort(names.begin(), names.end());
    return names;
  }

  Status create_dirs(const std::string& dir) override {
    if (dir.empty()) return ok_status();
    struct stat info;
    if (::stat(dir.c_str(), &info) == 0) {
      if (S_ISDIR(info.st_mode)) return ok_status();
      return failed_precondition(dir + " exists and is not a directory");
    }
    const std::string parent = parent_dir(dir);
    if (!parent.empty() && parent != dir) HADR_TRY(create_dirs(parent));
    if (::mkdir(dir.c_str(), kDirectoryMode) != 0 && errno != EEXIST) return posix_error("mkdir", dir, errno);
    return ok_status();
  }

  Status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return posix_error("remove", path, errno);
    return ok_status();
  }

  Status rename_file(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return posix_error("rename to " + to, from, errno);
    return ok_status();
  }

  Status link_file(const std::string& from, const std::string& to) override {
    if (::link(from.c_str(), to.c_str()) != 0) return posix_error("link to " + to, from, errno);
    return ok_status();
  }

  Status truncate_file(const std::string& path, std::uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) return posix_error("truncate", path, errno);
    return sync_fd_path(path, O_WRONLY);
  }

  Status sync_dir(const std::string& dir) override { return sync_fd_path(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY); }

  Result<std::uint64_t> file_size(const std::string& path) override {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) return posix_error("stat", path, errno);
    return static_cast<std::uint64_t>(info.st_size);
  }

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
    if (fd < 0) return posix_error("open lock", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int saved_errno = errno;
      ::close(fd);
      if (saved_errno == EWOULDBLOCK) {
        return failed_precondition(path + " is locked by another process; stop it first");
      }
      return posix_error("lock", path, saved_errno);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }
};

}  // namespace

Env& posix_env() {
  static PosixEnv env;
  return env;
}

}  // namespace hadr
