// Input checks of the contracts that src/contracts/validation.h does not have yet. They live
// here until the lead moves them next to it; names differ from anything in src/embedded so
// that both libraries link into one binary. Same style as contracts/validation.h: ok, or
// kInvalidArgument naming the input, what is wrong and the allowed range.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "contracts/bus.h"
#include "contracts/validation.h"
#include "core/clock.h"
#include "core/result.h"

namespace hadr {

// QueueOptions::max_delivery_count: 1 .. 10,000 (the SQLite bus's limit too).
inline constexpr std::uint32_t kMaxMaxDeliveryCount = 10'000;
// Message properties (bus) and headers (source), as the SQLite bus bounds them: at most 256
// pairs, names 1..256 bytes, and at most 64 KiB counting 8 bytes of framing per pair
// (Service Bus allows 64 KiB of headers and properties).
inline constexpr std::size_t kMaxPropertyPairs = 256;
inline constexpr std::size_t kMaxPropertyNameLength = 256;
inline constexpr std::size_t kMaxPropertyTotalBytes = 64 * 1024;
// Source consumer visibility timeout: 1 ms .. 1 day.
inline constexpr Milliseconds kMaxVisibilityTimeout = std::chrono::hours(24);

// A batch size argument: 1..max.
Status validate_batch_size(std::string_view what, std::size_t size, std::size_t max);
Status validate_queue_options(const QueueOptions& options);
// `what` names the owner, e.g. "bus message 3 properties".
Status validate_message_properties(std::string_view what, const Properties& properties);
// At most kMaxReasonBytes.
Status validate_reason(std::string_view what, std::string_view reason);

}  // namespace hadr
