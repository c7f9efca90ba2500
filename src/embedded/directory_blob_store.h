// DirectoryBlobStore: the BlobStore contract (contracts/blob_store.h) on a directory, through
// hadr::Env (so MemEnv can crash it). It holds the WAL backup and the replayer's checkpoints
// when no Azure storage is configured.
//
// Layout under `root`:
//   objects/  one file per object. A key maps to a path by splitting it at '/' into
//             directories; a segment longer than kMaxPieceBytes is cut into pieces, each but
//             the last named "<piece>+"; the object's own file is "<last piece>~". '+' and '~'
//             are not in the key alphabet, so an object file never collides with a directory
//             ("a" and "a/b" coexist: objects/a~ and objects/a/b~) and the mapping is
//             reversible, which list() relies on. Long keys never hit NAME_MAX.
//   tmp/      temp files "<pid>.<n>.tmp", unique per writer across processes.
//
// Atomicity and durability (the put protocol):
//   put:           write tmp/<unique>, fsync it, rename() it over the object (atomic replace),
//                  fsync the object's directory. A reader sees the old bytes or the new.
//   put_if_absent: write and fsync the temp file the same way, then link() it to the object's
//                  name: link() never replaces, so among racing writers (threads or processes)
//                  exactly one link succeeds and the rest see EEXIST and answer false. Then the
//                  temp name is removed and the directory fsynced — also by the losers, so that
//                  "false" always means "an object exists durably".
//   remove:        unlink, then fsync the directory. Empty directories stay (harmless).
// New directories are fsynced into their parents before an object is linked into them.
// A crash can leave temp files; open() deletes those whose writer process is gone.
//
// Ownership: borrows the Env, which must outlive the store.
// Thread-safety: safe from several threads and processes (no shared mutable state in the
// object; the file system arbitrates).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "contracts/blob_store.h"
#include "core/env.h"

namespace hadr {

class DirectoryBlobStore final : public BlobStore {
 public:
  // Longest file or directory name the layout makes from a key (with its '+' or '~').
  static constexpr std::size_t kMaxPieceBytes = 200;
  // Directory entries list() visits at most; beyond it, list fails (kResourceExhausted)
  // rather than run unbounded.
  static constexpr std::size_t kMaxEntriesScanned = 10'000'000;
  // Stale temp files open() removes at most.
  static constexpr std::size_t kMaxTempCleanup = 10'000;

  static Result<std::unique_ptr<DirectoryBlobStore>> open(Env& env, const std::string& root);

  Result<bool> put_if_absent(std::string_view key, std::string_view data) override;
  Status put(std::string_view key, std::string_view data) override;
  Result<std::string> get(std::string_view key) override;
  Result<BlobPage> list(std::string_view prefix, std::string_view start_after, std::size_t max) override;
  Status remove(std::string_view key) override;

  // The file that holds `key` (which must be valid): for tests and operators.
  std::string object_path(std::string_view key) const;

 private:
  struct ListScan;

  DirectoryBlobStore(Env& env, std::string root);
  Status validate_put(std::string_view key, std::string_view data) const;
  // Creates the object's missing parent directories, each made durable in its parent.
  Status create_parent_dirs(const std::string& path);
  // Writes `data` to a new unique temp file and fsyncs it; returns its path.
  Result<std::string> write_temp(std::string_view data);
  Status remove_stale_temps();
  Status scan_directory(const std::string& dir, const std::string& decoded, ListScan& scan);

  Env& env_;
  const std::string root_;
  const std::string objects_dir_;
  const std::string temp_dir_;
};

}  // namespace hadr
