// MemEnv: an in-memory Env that knows what is durable, for crash tests and the simulator
// (after leveldb's fault_injection_test and FoundationDB's simulated disks).
//
// Model (what a crash keeps):
//   - each file is an inode holding its bytes and how many of them were synced (synced_size);
//     writes only append, so bytes [0, synced_size) are durable and the rest are not;
//   - each directory has a durable view of its names, updated only by sync_dir(); create,
//     rename and remove change the live view at once and the durable view at the next sync_dir;
//   - truncate_file() is durable at once (as in posix_env, which syncs after truncating);
//   - directories themselves are durable when created (simplification; hadr creates its
//     directories once at start-up and syncs their parent).
// crash() turns the live state into what a power loss would leave: the durable directory view,
// and in every file the synced bytes plus, depending on the mode, none, a random prefix, or a
// bit-flipped random prefix of the unsynced bytes. Handles opened before a crash stop working
// (their process is dead) and return kFailedPrecondition.
//
// Faults: set_sync_hook() runs before every file or directory sync and may fail it (an
// injected EIO) or record that a crash should happen there.
//
// Thread-safety: all methods are safe from any thread (one mutex).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "core/env.h"
#include "core/random.h"

namespace hadr {

enum class CrashMode {
  kDropUnsynced,     // every unsynced byte is gone
  kTearUnsynced,     // each file keeps a random prefix of its unsynced bytes
  kCorruptUnsynced,  // like kTearUnsynced, then one random bit of the kept unsynced bytes flips
};

class MemEnv final : public Env {
 public:
  MemEnv();
  ~MemEnv() override;

  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> new_appendable_file(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> new_random_access_file(const std::string& path) override;
  bool file_exists(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  Status create_dirs(const std::string& dir) override;
  Status remove_file(const std::string& path) override;
  Status rename_file(const std::string& from, const std::string& to) override;
  Status link_file(const std::string& from, const std::string& to) override;
  Status truncate_file(const std::string& path, std::uint64_t size) override;
  Status sync_dir(const std::string& dir) override;
  Result<std::uint64_t> file_size(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override;

  // Simulates a power loss. `random` decides tear points and flipped bits.
  void crash(CrashMode mode, Random& random);

  // Called with the path before each sync (file or directory); a non-ok Status fails the sync
  // with that error and nothing becomes durable. Pass an empty function to remove the hook.
  using SyncHook = std::function<Status(const std::string& path)>;
  void set_sync_hook(SyncHook hook);

  // Test access: the live bytes of a file, and overwriting them in place (bit flips, zeroed
  // sectors: fault F4). Overwritten bytes count as synced.
  Result<std::string> contents(const std::string& path);
  Status overwrite(const std::string& path, std::uint64_t offset, std::string_view bytes);

  std::uint64_t sync_count() const;
  std::uint64_t generation() const;  // +1 per crash

  struct Inode;  // shared with the file handles; defined in mem_env.cc
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hadr
