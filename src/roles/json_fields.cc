#include "roles/json_fields.h"

#include <limits>

namespace hadr {
namespace {

Error wrong_type(const char* field, std::string_view record_key, std::string_view expected) {
  return data_loss("coord record " + std::string(record_key) + " field " + field + " is not " +
                   std::string(expected) + "; remove the record, its writer rewrites it");
}

const nlohmann::json* find_field(const nlohmann::json& object, const char* field) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<std::string> json_string_field(const nlohmann::json& object, const char* field, std::string_view record_key) {
  const nlohmann::json* value = find_field(object, field);
  if (value == nullptr) return std::string();
  if (!value->is_string()) return wrong_type(field, record_key, "a string");
  return value->get<std::string>();
}

Result<std::uint64_t> json_u64_field(const nlohmann::json& object, const char* field, std::string_view record_key) {
  const nlohmann::json* value = find_field(object, field);
  if (value == nullptr) return std::uint64_t{0};
  // nlohmann parses every non-negative integer literal as number_unsigned.
  if (!value->is_number_unsigned()) return wrong_type(field, record_key, "a non-negative integer");
  return value->get<std::uint64_t>();
}

Result<std::int64_t> json_i64_field(const nlohmann::json& object, const char* field, std::string_view record_key) {
  const nlohmann::json* value = find_field(object, field);
  if (value == nullptr) return std::int64_t{0};
  if (value->is_number_unsigned()) {
    const std::uint64_t raw = value->get<std::uint64_t>();
    if (raw > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return wrong_type(field, record_key, "an integer that fits 64 bits");
    }
    return static_cast<std::int64_t>(raw);
  }
  if (!value->is_number_integer()) return wrong_type(field, record_key, "an integer");
  return value->get<std::int64_t>();
}

}  // namespace hadr
