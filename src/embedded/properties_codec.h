// The byte encoding of message properties (bus) and headers (source) in a SQLite BLOB column:
// for each pair, a 4-byte little-endian name length, the name, a 4-byte value length, the
// value. Names and values are arbitrary bytes, so nothing needs escaping.
//
// Bounds: those of validate_message_properties() in contracts/validation.h (checked before
// encoding; encode asserts them).
// decode_properties() never trusts its input: a length that runs past the end, or a count or
// size above the bounds, is kDataLoss naming `where` (the row), never a crash or a skip.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "contracts/bus.h"
#include "contracts/validation.h"
#include "core/result.h"

namespace hadr {

std::string encode_properties(const Properties& properties);
Result<Properties> decode_properties(std::string_view encoded, std::string_view where);

}  // namespace hadr
