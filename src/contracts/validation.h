// Input checks that every implementation of the contracts shares, so that a bad name or TTL
// gets the same kInvalidArgument from SQLite, Redis and the simulator, and the bounds written
// in the contract headers live in one place.
//
// Each function returns ok or kInvalidArgument whose detail names the input (`what`), what
// is wrong with it and the allowed range. Values are never echoed when they could be large or
// binary; names are echoed only when they are printable.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace hadr {

// Lease names and holders, dedupe owners (lease_store.h, dedupe_store.h).
inline constexpr std::size_t kMaxNameBytes = 128;
// Coord keys (coord.h).
inline constexpr std::size_t kMaxCoordKeyBytes = 256;
// Lease TTL: 1 ms .. 1 day (lease_store.h).
inline constexpr Milliseconds kMaxLeaseTtl = std::chrono::hours(24);
// Dedupe claim and record TTLs: 1 ms .. 365 days (dedupe_store.h).
inline constexpr Milliseconds kMaxDedupeTtl = std::chrono::hours(24 * 365);
// Coord TTL: 0 (no expiry) or 1 ms .. 365 days.
inline constexpr Milliseconds kMaxCoordTtl = std::chrono::hours(24 * 365);
// Bus lock durations: 1 ms .. 5 minutes (Service Bus's maximum lock duration).
inline constexpr Milliseconds kMaxLockDuration = std::chrono::minutes(5);
// Bus queue names: 1..260 bytes of [A-Za-z0-9._/-] (Service Bus's entity path rules).
inline constexpr std::size_t kMaxQueueNameBytes = 260;
// Dead-letter reasons and similar free text: at most 4096 bytes (Service Bus's limit).
inline constexpr std::size_t kMaxReasonBytes = 4096;

// 1..max_bytes of printable ASCII without spaces (0x21..0x7e), like MessageId.
Status validate_printable(std::string_view what, std::string_view text, std::size_t max_bytes);

// 1 ms <= value <= max.
Status validate_ttl(std::string_view what, Milliseconds value, Milliseconds max);

// Where a queue name is used: messages reach a dead-letter queue only through dead_letter()
// (and max deliveries), so its name is refused for create_queue() and send().
enum class QueueNameUse { kCreateOrSend, kReceiveOrSettle };

// 1..kMaxQueueNameBytes of [A-Za-z0-9._/-], optionally followed (kReceiveOrSettle only) by
// the dead-letter suffix of dead_letter_queue().
Status validate_queue_name(std::string_view queue, QueueNameUse use);

// A list() prefix or start_after for BlobStore: 0..1024 bytes of the key alphabet
// [A-Za-z0-9._/-]. (Unlike a key, it may end half-way through a segment, e.g. "wal/a/.".)
Status validate_blob_key_prefix(std::string_view what, std::string_view prefix);

}  // namespace hadr
