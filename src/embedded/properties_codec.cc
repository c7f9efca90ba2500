#include "embedded/properties_codec.h"

#include <cstdint>

namespace hadr {
namespace {

constexpr std::size_t kLengthBytes = 4;

std::size_t encoded_size(const Properties& properties) {
  std::size_t size = 0;
  for (const auto& [name, value] : properties) size += 2 * kLengthBytes + name.size() + value.size();
  return size;
}

void append_length(std::string& out, std::size_t length) {
  const auto value = static_cast<std::uint32_t>(length);
  for (std::size_t i = 0; i < kLengthBytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Reads one length-prefixed field at `offset`; false when it runs past the end.
bool read_field(std::string_view encoded, std::size_t& offset, std::string& field) {
  if (encoded.size() - offset < kLengthBytes) return false;
  std::uint32_t length = 0;
  for (std::size_t i = 0; i < kLengthBytes; ++i) {
    length |= static_cast<std::uint32_t>(static_cast<unsigned char>(encoded[offset + i])) << (8 * i);
  }
  offset += kLengthBytes;
  if (encoded.size() - offset < length) return false;
  field.assign(encoded.substr(offset, length));
  offset += length;
  return true;
}

}  // namespace

Status validate_properties(std::string_view what, const Properties& properties) {
  if (properties.size() > kMaxProperties) {
    return invalid_argument(std::string(what) + " has " + std::to_string(properties.size()) +
                            " entries; the maximum is " + std::to_string(kMaxProperties));
  }
  for (std::size_t i = 0; i < properties.size(); ++i) {
    const std::string& name = properties[i].first;
    if (name.empty() || name.size() > kMaxPropertyNameBytes) {
      return invalid_argument(std::string(what) + " entry " + std::to_string(i) + " has a name of " +
                              std::to_string(name.size()) + " bytes; names must be 1.." +
                              std::to_string(kMaxPropertyNameBytes) + " bytes");
    }
  }
  const std::size_t size = encoded_size(properties);
  if (size > kMaxPropertiesBytes) {
    return invalid_argument(std::string(what) + " take " + std::to_string(size) + " bytes; the maximum is " +
                            std::to_string(kMaxPropertiesBytes));
  }
  return ok_status();
}

std::string encode_properties(const Properties& properties) {
  HADR_ASSERT(properties.size() <= kMaxProperties);
  std::string out;
  out.reserve(encoded_size(properties));
  for (const auto& [name, value] : properties) {
    append_length(out, name.size());
    out += name;
    append_length(out, value.size());
    out += value;
  }
  HADR_ASSERT(out.size() <= kMaxPropertiesBytes);
  return out;
}

Result<Properties> decode_properties(std::string_view encoded, std::string_view where) {
  if (encoded.size() > kMaxPropertiesBytes) {
    return data_loss(std::string(where) + ": encoded properties are " + std::to_string(encoded.size()) +
                     " bytes, above the maximum of " + std::to_string(kMaxPropertiesBytes));
  }
  Properties properties;
  std::size_t offset = 0;
  while (offset < encoded.size()) {
    if (properties.size() == kMaxProperties) {
      return data_loss(std::string(where) + ": more than " + std::to_string(kMaxProperties) + " properties");
    }
    std::string name;
    std::string value;
    if (!read_field(encoded, offset, name) || !read_field(encoded, offset, value)) {
      return data_loss(std::string(where) + ": encoded properties are cut off at byte " + std::to_string(offset));
    }
    properties.emplace_back(std::move(name), std::move(value));
  }
  return properties;
}

}  // namespace hadr
