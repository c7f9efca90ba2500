// libFuzzer target: coord records are network input (Redis, or a SQLite file anyone may edit).
// Arbitrary bytes as each record value the roles decode — checkpoint values with settled ranges,
// replay progress, failover record, switchover request, handoff, heartbeat — must give a value or
// an error, never a crash, a hang or undefined behaviour. A checkpoint value that parses must
// encode back to a value that parses to the same settled set (the codec is a bijection on what
// it accepts, so a reader never sees more settled than a writer wrote).
// Build: scripts/build fuzz fuzz_targets; run: scripts/fuzz SECONDS.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "roles/checkpoint.h"
#include "roles/heartbeat.h"
#include "roles/replayer.h"
#include "roles/watchdog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  hadr::Result<hadr::CheckpointValue> value = hadr::parse_checkpoint_value(bytes, "checkpoint/a");
  if (value.ok()) {
    const hadr::SettledSet settled = value->settled();
    for (const hadr::LsnRange& range : settled.ranges()) {
      if (range.first <= settled.floor() || range.last < range.first) std::abort();
    }
    if (value->incarnation != 0) {
      hadr::Result<hadr::CheckpointValue> again =
          hadr::parse_checkpoint_value(hadr::encode_checkpoint_value(settled, value->incarnation), "checkpoint/a");
      if (!again.ok() || again->settled() != settled) std::abort();
    }
  }
  (void)hadr::parse_replay_progress(bytes, "replay/a");
  (void)hadr::decode_failover_record(bytes);
  (void)hadr::decode_switchover_request(bytes);
  (void)hadr::decode_handoff(bytes);
  (void)hadr::decode_heartbeat(hadr::CoordRecord{.key = "heartbeat/a/node", .value = std::string(bytes)});
  return 0;
}
