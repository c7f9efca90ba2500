// libFuzzer target: arbitrary bytes must never crash, hang or corrupt memory in any decoder of
// the WAL. The bytes are fed
//   1. to scan_segment() as the last and as a middle segment, materializing every good frame;
//   2. as the only segment file of a WAL directory on a MemEnv, to inspect_wal(), a WalReader
//      and Wal::open() — which must either refuse with an error or recover into a log that
//      takes one more append and reads back consistently — without and with a CHECKPOINT file
//      (the second drives the repair that drops a settled head);
//   3. to decode_checkpoint().
// Build: scripts/build fuzz (clang, -DHADR_FUZZ=ON); run: scripts/fuzz SECONDS.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/mem_env.h"
#include "wal/checkpoint_file.h"
#include "wal/recovery.h"
#include "wal/wal.h"

namespace {

hadr::WalOptions fuzz_options() {
  hadr::WalOptions options;
  options.segment_bytes_max = 1 << 20;
  options.record_bytes_max = 64 << 10;
  options.batch_bytes_max = 1 << 20;
  return options;
}

void scan_as_segment(std::string_view bytes, bool is_last) {
  const hadr::SegmentScan scan = hadr::scan_segment(bytes, 1, is_last, fuzz_options().record_bytes_max,
                                                    [](const hadr::FrameView& frame) {
                                                      HADR_ASSERT(hadr::materialize_record(frame).ok());
                                                    });
  HADR_ASSERT(scan.valid_bytes <= bytes.size());
  if (scan.outcome == hadr::RecoveryCase::kCleanEnd) HADR_ASSERT(scan.valid_bytes == bytes.size());
}

void read_everything(hadr::Env& env) {
  auto reader = hadr::WalReader::open(env, "/wal", fuzz_options(), hadr::Lsn{0});
  if (!reader.ok()) return;
  for (int guard = 0; guard < 100000; ++guard) {
    auto next = reader->next();
    if (!next.ok() || !next->has_value()) return;
  }
}

void recover_as_directory(std::string_view bytes, std::uint64_t settled_lsn) {
  hadr::MemEnv env;
  HADR_ASSERT(env.create_dirs("/wal").ok());
  if (settled_lsn > 0) {
    // A CHECKPOINT file (of the incarnation a log without META takes on: any): damage at or
    // below it is dropped as settled (wal/segment_repair.h).
    HADR_ASSERT(hadr::write_checkpoint_file(env, "/wal/" + std::string(hadr::kWalCheckpointFileName),
                                            {hadr::Lsn{settled_lsn}, hadr::Epoch{1}, 1})
                    .ok());
  }
  {
    auto file = env.new_writable_file("/wal/" + hadr::segment_file_name(1));
    HADR_ASSERT(file.ok());
    HADR_ASSERT((*file)->append(bytes).ok());
    HADR_ASSERT((*file)->sync().ok());
  }
  (void)hadr::inspect_wal(env, "/wal", fuzz_options());
  read_everything(env);
  auto wal = hadr::Wal::open(env, "/wal", fuzz_options());
  if (!wal.ok()) return;
  hadr::WalAppend append;
  append.epoch = (*wal)->highest_epoch();
  append.message_id = hadr::MessageId::parse("fuzz").value();
  const auto appended = (*wal)->append(std::span<const hadr::WalAppend>(&append, 1));
  if (appended.ok()) {
    // A recovered log must read back to exactly its durable end.
    auto reader = (*wal)->read_from(hadr::Lsn{0});
    HADR_ASSERT(reader.ok());
    hadr::Lsn last{0};
    for (int guard = 0; guard < 100000; ++guard) {
      auto next = reader->next();
      HADR_ASSERT(next.ok());
      if (!next->has_value()) break;
      last = (*next)->lsn;
    }
    HADR_ASSERT(last == *appended);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  scan_as_segment(bytes, true);
  scan_as_segment(bytes, false);
  recover_as_directory(bytes, 0);
  recover_as_directory(bytes, 1 + size % 97);
  (void)hadr::decode_checkpoint(bytes, "fuzz");
  return 0;
}
