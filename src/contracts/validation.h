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
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "contracts/bus.h"
#include "contracts/dedupe_store.h"
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


// QueueOptions::max_delivery_count: 1 .. 10,000 .
inline constexpr std::uint32_t kMaxMaxDeliveryCount = 10'000;
// Message properties (bus) and headers (source), as the SQLite bus bounds them: at most 256
// pairs, names 1..256 bytes, and at most 64 KiB counting 8 bytes of framing per pair
// (Service Bus allows 64 KiB of headers and properties).
inline constexpr std::size_t kMaxPropertyPairs = 256;
inline constexpr std::size_t kMaxPropertyNameLength = 256;
inline constexpr std::size_t kMaxPropertyTotalBytes = 64 * 1024;
// Source consumer visibility timeout: 1 ms .. 1 day.
inline constexpr Milliseconds kMaxVisibilityTimeout = std::chrono::hours(24);

// The pins of one DedupeStore::pin or retire call: at most DedupeStore::kMaxLookupBatch, each
// with a non-empty id and a tag of 1..kMaxPinTagBytes printable ASCII.
Status validate_copy_pins(std::string_view what, std::span<const CopyPin> pins);

// A batch size argument: 1..max.
Status validate_batch_size(std::string_view what, std::size_t size, std::size_t max);
Status validate_queue_options(const QueueOptions& options);
// `what` names the owner, e.g. "bus message 3 properties".
Status validate_message_properties(std::string_view what, const Properties& properties);
// At most kMaxReasonBytes.
Status validate_reason(std::string_view what, std::string_view reason);
// The handles of one Source::ack call: at most `max`, each printable and named once (the
// common check of every Source before it looks a handle up).
Status validate_ack_handles(std::span<const std::string> ack_handles, std::size_t max);

}  // namespace hadr
