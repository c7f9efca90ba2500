#include "wal/wal_meta.h"

#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <random>

namespace hadr {
namespace {

constexpr std::string_view kMetaMagic{"HADRMETA", 8};
constexpr std::uint32_t kMetaVersion = 1;
constexpr std::size_t kMetaChecksumOffset = 40;

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
  return data_loss("wal metadata file " + name + " offset " + std::to_string(offset) + ": " + what +
                   " (the log cannot prove which records it acknowledged: restore the WAL directory from its "
                   "backup; never delete META to get past this)");
}

}  // namespace

std::string encode_wal_meta(const WalMeta& meta) {
  HADR_ASSERT(meta.incarnation != 0);
  std::string out(kMetaMagic);
  put<std::uint32_t>(out, kMetaVersion);
  put<std::uint32_t>(out, 0);
  put<std::uint64_t>(out, meta.incarnation);
  put<std::uint64_t>(out, meta.high_water_lsn.value);
  put<std::uint64_t>(out, meta.highest_sequence);
  put<std::uint64_t>(out, XXH3_64bits(out.data(), out.size()));
  HADR_ASSERT(out.size() == kWalMetaFileBytes);
  return out;
}

Result<WalMeta> decode_wal_meta(std::string_view bytes, const std::string& name) {
  if (bytes.size() != kWalMetaFileBytes) {
    return damaged(name, std::min(bytes.size(), kWalMetaFileBytes),
                   "the file is " + std::to_string(bytes.size()) + " bytes, not " +
                       std::to_string(kWalMetaFileBytes) + " (torn or truncated)");
  }
  if (bytes.substr(0, kMetaMagic.size()) != kMetaMagic) return damaged(name, 0, "not a WAL metadata file (bad magic)");
  if (get_at<std::uint64_t>(bytes, kMetaChecksumOffset) != XXH3_64bits(bytes.data(), kMetaChecksumOffset)) {
    return damaged(name, kMetaChecksumOffset, "checksum mismatch");
  }
  const auto version = get_at<std::uint32_t>(bytes, 8);
  if (version != kMetaVersion || get_at<std::uint32_t>(bytes, 12) != 0) {
    return damaged(name, 8, "unknown metadata format version " + std::to_string(version));
  }
  const WalMeta meta{get_at<std::uint64_t>(bytes, 16), Lsn{get_at<std::uint64_t>(bytes, 24)},
                     get_at<std::uint64_t>(bytes, 32)};
  if (meta.incarnation == 0) return damaged(name, 16, "incarnation 0 (never written by hadr)");
  return meta;
}

Result<WalMeta> read_wal_meta(Env& env, const std::string& dir) {
  const std::string path = join_path(dir, kWalMetaFileName);
  if (!env.file_exists(path)) return not_found("no " + path);
  // A little more than the format's size, so that a too-long file is reported as damaged.
  HADR_ASSIGN_OR_RETURN(const std::string bytes, read_file_to_string(env, path, 4 * kWalMetaFileBytes));
  return decode_wal_meta(bytes, path);
}

Status write_wal_meta(Env& env, const std::string& dir, const WalMeta& meta) {
  return write_file_atomically(env, join_path(dir, kWalMetaFileName), encode_wal_meta(meta));
}

std::uint64_t new_wal_incarnation() {
  std::random_device device;
  // Bounded: the chance of 0 twice in a row is 2^-128.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::uint64_t value = (std::uint64_t{device()} << 32) ^ device();
    if (value != 0) return value;
  }
  HADR_UNREACHABLE();
}

std::string incarnation_text(std::uint64_t incarnation) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(incarnation));
  return text;
}

}  // namespace hadr
