// Env: every file operation hadr performs goes through this interface (after leveldb's Env),
// so that tests and the simulator can swap the disk for one that loses unsynced data.
//
//   posix_env()  the real file system (write, fdatasync, rename, fsync of directories).
//   MemEnv       (core/mem_env.h) an in-memory file system that tracks what was synced and can
//                simulate a crash by dropping, tearing or bit-flipping unsynced bytes, and can
//                make fsync fail.
//
// Durability contract, for both implementations:
//   - bytes appended to a WritableFile are durable only after sync() returned ok;
//   - a file's *name* (create, rename, remove) is durable only after sync_dir() of its directory;
//   - truncate_file() is durable when it returns.
// Paths are plain strings joined with '/'.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hadr {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends at the end of the file. Not durable until sync().
  virtual Status append(std::string_view data) = 0;
  // fdatasync(): on success, every byte appended before the call is durable.
  virtual Status sync() = 0;
  virtual Status close() = 0;
  // Bytes in the file, including unsynced ones.
  virtual std::uint64_t size() const = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `length` bytes at `offset` into `scratch`; returns fewer only at end of file.
  virtual Result<std::size_t> read(std::uint64_t offset, std::size_t length, char* scratch) const = 0;
  virtual Result<std::uint64_t> size() const = 0;
};

// Held while a process owns a directory (e.g. a WAL); released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates the file, or truncates it to zero if it exists.
  virtual Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) = 0;
  // Opens the file for appending at its end; creates it if missing.
  virtual Result<std::unique_ptr<WritableFile>> new_appendable_file(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> new_random_access_file(const std::string& path) = 0;

  virtual bool file_exists(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  // Creates `dir` and any missing parents.
  virtual Status create_dirs(const std::string& dir) = 0;
  virtual Status remove_file(const std::string& path) = 0;
  virtual Status rename_file(const std::string& from, const std::string& to) = 0;
  // Gives the file `from` a second name `to` (a hard link), atomically and never replacing:
  // kAlreadyExists, with nothing changed, when `to` exists. This is the create-if-absent step
  // that is safe across processes (write a temp file, sync it, link it into place). The new
  // name is durable only after sync_dir(). The default answers kFailedPrecondition: an Env
  // that cannot link does not support create-if-absent.
  virtual Status link_file(const std::string& from, const std::string& to);
  // Cuts the file to `size` bytes and makes that durable.
  virtual Status truncate_file(const std::string& path, std::uint64_t size) = 0;
  virtual Status sync_dir(const std::string& dir) = 0;
  virtual Result<std::uint64_t> file_size(const std::string& path) = 0;
  // An exclusive advisory lock; fails with kFailedPrecondition if another owner holds it.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) = 0;
};

// The real file system. Process-wide; thread-safe.
Env& posix_env();

std::string join_path(std::string_view dir, std::string_view name);
std::string parent_dir(std::string_view path);

// Reads a whole file; fails with kResourceExhausted if it is larger than `max_bytes`.
Result<std::string> read_file_to_string(Env& env, const std::string& path, std::uint64_t max_bytes);

// Replaces `path` atomically and durably: write `path.tmp`, fsync, rename over `path`, fsync
// the directory. After a crash at any point the file holds either the old or the new bytes.
Status write_file_atomically(Env& env, const std::string& path, std::string_view data);

}  // namespace hadr
