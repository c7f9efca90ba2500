#include "memory/memory_blob_store.h"

#include "core/assert.h"
#include "contracts/validation.h"

namespace hadr {
namespace {

Status validate_object(std::string_view key, std::string_view data) {
  HADR_TRY(validate_blob_key(key));
  if (data.size() > BlobStore::kMaxObjectBytes) {
    return invalid_argument("blob '" + std::string(key) + "' is " + std::to_string(data.size()) +
                            " bytes; the maximum object is " + std::to_string(BlobStore::kMaxObjectBytes));
  }
  return ok_status();
}

// A prefix is valid when some valid key starts with it; appending one allowed byte turns
// that into the key rule (so "wal/" and "wal/00" pass, "/x" and "a//" do not).
Status validate_list_prefix(std::string_view prefix) {
  if (prefix.empty()) return ok_status();
  if (!validate_blob_key(std::string(prefix) + "x").ok()) {
    return invalid_argument("blob list prefix '" + std::string(prefix) +
                            "' cannot start any valid key; keys are [A-Za-z0-9._/-], no leading '/', no '//'");
  }
  return ok_status();
}

}  // namespace

Result<bool> MemoryBlobServer::put_if_absent(std::string_view key, std::string_view data) {
  HADR_TRY(validate_object(key, data));
  const std::lock_guard lock(mutex_);
  if (objects_.contains(key)) return false;
  HADR_TRY(store_locked(key, data));
  return true;
}

Status MemoryBlobServer::put(std::string_view key, std::string_view data) {
  HADR_TRY(validate_object(key, data));
  const std::lock_guard lock(mutex_);
  return store_locked(key, data);
}

Result<std::string> MemoryBlobServer::get(std::string_view key) const {
  HADR_TRY(validate_blob_key(key));
  const std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  if (found == objects_.end()) return not_found("blob '" + std::string(key) + "' does not exist");
  return found->second;
}

Result<BlobPage> MemoryBlobServer::list(std::string_view prefix, std::string_view start_after,
                                        std::size_t max) const {
  HADR_TRY(validate_list_prefix(prefix));
  if (!start_after.empty()) HADR_TRY(validate_blob_key(start_after));
  HADR_TRY(validate_batch_size("blob list max", max, BlobStore::kMaxListPage));
  const std::lock_guard lock(mutex_);
  auto position = start_after < prefix ? objects_.lower_bound(prefix) : objects_.upper_bound(start_after);
  BlobPage page;
  // Bounded by `max` + 1 steps: the extra one only tells whether more follow.
  for (; position != objects_.end() && position->first.starts_with(prefix); ++position) {
    if (page.keys.size() == max) {
      page.more = true;
      break;
    }
    page.keys.push_back(position->first);
  }
  HADR_ASSERT(page.keys.size() <= max);
  return page;
}

Status MemoryBlobServer::remove(std::string_view key) {
  HADR_TRY(validate_blob_key(key));
  const std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  if (found == objects_.end()) return ok_status();
  HADR_ASSERT(total_bytes_ >= found->second.size());
  total_bytes_ -= found->second.size();
  objects_.erase(found);
  return ok_status();
}

std::size_t MemoryBlobServer::object_count() const {
  const std::lock_guard lock(mutex_);
  return objects_.size();
}

std::uint64_t MemoryBlobServer::total_bytes() const {
  const std::lock_guard lock(mutex_);
  return total_bytes_;
}

Status MemoryBlobServer::store_locked(std::string_view key, std::string_view data) {
  const auto found = objects_.find(key);
  const std::uint64_t replaced = found == objects_.end() ? 0 : found->second.size();
  if (found == objects_.end() && objects_.size() >= kMaxObjects) {
    return resource_exhausted("memory blob store holds " + std::to_string(kMaxObjects) +
                              " objects, its maximum; remove some");
  }
  if (total_bytes_ - replaced + data.size() > kMaxTotalBytes) {
    return resource_exhausted("memory blob store would pass its maximum of " + std::to_string(kMaxTotalBytes) +
                              " bytes with blob '" + std::string(key) + "'; remove some");
  }
  total_bytes_ = total_bytes_ - replaced + data.size();
  objects_.insert_or_assign(std::string(key), std::string(data));
  HADR_ASSERT(total_bytes_ <= kMaxTotalBytes);
  return ok_status();
}

Result<bool> MemoryBlobStore::put_if_absent(std::string_view key, std::string_view data) {
  HADR_TRY(admit("blob put_if_absent"));
  return confirm("blob put_if_absent", server_.put_if_absent(key, data));
}

Status MemoryBlobStore::put(std::string_view key, std::string_view data) {
  HADR_TRY(admit("blob put"));
  return confirm("blob put", server_.put(key, data));
}

Result<std::string> MemoryBlobStore::get(std::string_view key) {
  HADR_TRY(admit("blob get"));
  return server_.get(key);
}

Result<BlobPage> MemoryBlobStore::list(std::string_view prefix, std::string_view start_after, std::size_t max) {
  HADR_TRY(admit("blob list"));
  return server_.list(prefix, start_after, max);
}

Status MemoryBlobStore::remove(std::string_view key) {
  HADR_TRY(admit("blob remove"));
  return confirm("blob remove", server_.remove(key));
}

}  // namespace hadr
