#include "wal/checkpoint_file.h"

#include <xxhash.h>

#include <cstring>

namespace hadr {
namespace {

constexpr std::string_view kCheckpointMagic{"HADRCKPT", 8};
constexpr std::uint32_t kCheckpointVersion = 2;
constexpr std::size_t kChecksumOffset = 40;
constexpr std::size_t kV1ChecksumOffset = 32;

template <typename Integer>
Integer get_at(std::string_view bytes, std::size_t offset) {
  Integer value;
  std::memcpy(&value, bytes.data() + offset, sizeof(Integer));
  return value;
}

template <typename Integer>
void put(std::string& out, Integer value) {
  char bytes[sizeof(Integer)];
  std::memcpy(bytes, &value, sizeof(Integer));
  out.append(bytes, sizeof(Integer));
}

Error damaged(const std::string& name, std::size_t offset, const std::string& what) {
  return data_loss("checkpoint file " + name + " offset " + std::to_string(offset) + ": " + what +
                   " (restore it from the blob backup or rebuild it; never guess a checkpoint)");
}

}  // namespace

std::string encode_checkpoint(const WalCheckpoint& checkpoint) {
  HADR_ASSERT(checkpoint.incarnation != 0);
  std::string out(kCheckpointMagic);
  put<std::uint32_t>(out, kCheckpointVersion);
  put<std::uint32_t>(out, 0);
  put<std::uint64_t>(out, checkpoint.lsn.value);
  put<std::uint64_t>(out, checkpoint.epoch.value);
  put<std::uint64_t>(out, checkpoint.incarnation);
  put<std::uint64_t>(out, XXH3_64bits(out.data(), out.size()));
  HADR_ASSERT(out.size() == kCheckpointFileBytes);
  return out;
}

Result<WalCheckpoint> decode_checkpoint(std::string_view bytes, const std::string& name) {
  // Version 1 files (40 bytes, no incarnation) stay readable: a log upgraded in place keeps its
  // checkpoint. The size tells the versions apart before any field is trusted.
  const bool version_1 = bytes.size() == kCheckpointFileV1Bytes;
  const std::size_t checksum_offset = version_1 ? kV1ChecksumOffset : kChecksumOffset;
  if (bytes.size() != kCheckpointFileBytes && !version_1) {
    return damaged(name, std::min(bytes.size(), kCheckpointFileBytes),
                   "the file is " + std::to_string(bytes.size()) + " bytes, not " + std::to_string(kCheckpointFileBytes) +
                       " (torn or truncated)");
  }
  if (bytes.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) return damaged(name, 0, "not a checkpoint file (bad magic)");
  if (get_at<std::uint64_t>(bytes, checksum_offset) != XXH3_64bits(bytes.data(), checksum_offset)) {
    return damaged(name, checksum_offset, "checksum mismatch");
  }
  const auto version = get_at<std::uint32_t>(bytes, 8);
  if (version != (version_1 ? 1u : kCheckpointVersion) || get_at<std::uint32_t>(bytes, 12) != 0) {
    return damaged(name, 8, "unknown checkpoint format version " + std::to_string(version));
  }
  WalCheckpoint checkpoint{Lsn{get_at<std::uint64_t>(bytes, 16)}, Epoch{get_at<std::uint64_t>(bytes, 24)}, 0};
  if (version_1) return checkpoint;
  checkpoint.incarnation = get_at<std::uint64_t>(bytes, 32);
  if (checkpoint.incarnation == 0) return damaged(name, 32, "incarnation 0 in a version 2 file");
  HADR_ASSERT(encode_checkpoint(checkpoint) == bytes);
  return checkpoint;
}

Status write_checkpoint_file(Env& env, const std::string& path, const WalCheckpoint& checkpoint) {
  const std::string bytes = encode_checkpoint(checkpoint);
  HADR_ASSERT(decode_checkpoint(bytes, path).ok());
  return write_file_atomically(env, path, bytes);
}

Result<WalCheckpoint> read_checkpoint_file(Env& env, const std::string& path) {
  // Read a little more than the format's size so that a too-long file is reported as damaged.
  HADR_ASSIGN_OR_RETURN(const std::string bytes, read_file_to_string(env, path, 4 * kCheckpointFileBytes));
  return decode_checkpoint(bytes, path);
}

}  // namespace hadr
