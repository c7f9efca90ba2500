// BlobStore: whole objects by key (Azure Blob block blobs; a directory when embedded). The WAL
// backup and the replayer's checkpoints live here.
//
// Contract (docs/backends.md, "BlobStore"):
//   - a put is all or nothing: a reader sees the old object, the new one, or none — never part;
//   - put_if_absent() returns true when it wrote, false when an object with that key already
//     existed (left unchanged). This is what makes WAL shipping idempotent;
//   - get() of a missing key is kNotFound; remove() of a missing key is ok;
//   - list(prefix, start_after, max) returns keys in byte order, strictly after start_after,
//     at most `max` (<= kMaxListPage), and whether more follow;
//   - keys: 1..1024 bytes of [A-Za-z0-9._/-], no leading '/', no "." or ".." segment, no "//";
//     objects up to kMaxObjectBytes.
// Thread-safety: implementations are safe to call from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hadr {

struct BlobPage {
  std::vector<std::string> keys;
  bool more = false;
};

class BlobStore {
 public:
  static constexpr std::size_t kMaxListPage = 5000;
  static constexpr std::uint64_t kMaxObjectBytes = 256ull << 20;

  virtual ~BlobStore() = default;

  virtual Result<bool> put_if_absent(std::string_view key, std::string_view data) = 0;
  virtual Status put(std::string_view key, std::string_view data) = 0;
  virtual Result<std::string> get(std::string_view key) = 0;
  virtual Result<BlobPage> list(std::string_view prefix, std::string_view start_after, std::size_t max) = 0;
  virtual Status remove(std::string_view key) = 0;
};

// Checks a key against the rules above; kInvalidArgument names the offending byte.
Status validate_blob_key(std::string_view key);

}  // namespace hadr
