#pragma once
// Typed reads of optional fields in coord-record JSON objects. Coord records are network input
// (Redis, or a SQLite file anyone may edit): a field of the wrong type must give a data_loss
// error naming the record and the field, never a thrown nlohmann::type_error (which the fuzzer
// found: `{"epoch":"%"}` aborted the watchdog's decoder). A missing field reads as its default,
// so records written by older versions still decode.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace hadr {

// A string field; missing or null reads as "".
Result<std::string> json_string_field(const nlohmann::json& object, const char* field, std::string_view record_key);
// A non-negative integer field; missing or null reads as 0. Negative, fractional, text: error.
Result<std::uint64_t> json_u64_field(const nlohmann::json& object, const char* field, std::string_view record_key);
// A signed integer field that fits int64; missing or null reads as 0.
Result<std::int64_t> json_i64_field(const nlohmann::json& object, const char* field, std::string_view record_key);

}  // namespace hadr
