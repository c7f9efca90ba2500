// libFuzzer target: WAL backup objects are network input (the blob store). The first bytes
// choose the range the object's key claims; the rest is the object. Parsing the key and decoding
// the object must give records or an error naming the key and offset — never a crash, a hang or
// undefined behaviour — and decoded records must lie in the claimed range, in LSN order.
// Build: scripts/build fuzz fuzz_targets; run: scripts/fuzz SECONDS.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "roles/wal_backup.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  std::uint16_t first = 0;
  std::uint16_t count = 0;
  std::memcpy(&first, data, 2);
  std::memcpy(&count, data + 2, 2);
  const hadr::BackupRange range{hadr::Lsn{first + 1ull}, hadr::Lsn{first + 1ull + count % 512}};
  const std::string_view bytes(reinterpret_cast<const char*>(data + 4), size - 4);
  const auto region = hadr::RegionId::parse("a");
  if (!region.ok()) std::abort();
  const std::string key = hadr::backup_object_key(*region, range);
  (void)hadr::parse_backup_object_key(bytes, "wal/a/");
  hadr::Result<std::vector<hadr::WalRecord>> records = hadr::decode_backup_object(key, bytes, range);
  if (records.ok()) {
    hadr::Lsn previous{0};
    for (const hadr::WalRecord& record : *records) {
      if (record.lsn < range.first_lsn || record.lsn > range.last_lsn || record.lsn <= previous) std::abort();
      previous = record.lsn;
    }
  }
  return 0;
}
