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

std::string encode_properties(const Properties& properties) {
  HADR_ASSERT(properties.size() <= kMaxPropertyPairs);
  std::string out;
  out.reserve(encoded_size(properties));
  for (const auto& [name, value] : properties) {
    append_length(out, name.size());
    out += name;
    append_length(out, value.size());
    out += value;
  }
  HADR_ASSERT(out.size() <= kMaxPropertyTotalBytes);
  return out;
}

Result<Properties> decode_properties(std::string_view encoded, std::string_view where) {
  if (encoded.size() > kMaxPropertyTotalBytes) {
    return data_loss(std::string(where) + ": encoded properties are " + std::to_string(encoded.size()) +
                     " bytes, above the maximum of " + std::to_string(kMaxPropertyTotalBytes));
  }
  Properties properties;
  std::size_t offset = 0;
  while (offset < encoded.size()) {
    if (properties.size() == kMaxPropertyPairs) {
      return data_loss(std::string(where) + ": more than " + std::to_string(kMaxPropertyPairs) + " properties");
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
