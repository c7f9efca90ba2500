#include "core/ids.h"

#include <cstdio>
#include <string>

namespace hadr {

Result<MessageId> MessageId::parse(std::string_view text) {
  if (text.empty()) {
    return invalid_argument("message id is empty; give the source's stable id");
  }
  if (text.size() > kMaxBytes) {
    return invalid_argument("message id is " + std::to_string(text.size()) + " bytes; the maximum is " +
                            std::to_string(kMaxBytes));
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x21 || byte > 0x7e) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", byte);
      return invalid_argument("message id byte " + std::to_string(i) + " is " + hex +
                              "; only printable ASCII without spaces (0x21..0x7e) is allowed");
    }
  }
  return MessageId(std::string(text));
}

Result<RegionId> RegionId::parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxBytes) {
    return invalid_argument("region id must be 1.." + std::to_string(kMaxBytes) + " characters, got " +
                            std::to_string(text.size()));
  }
  for (char c : text) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed) {
      return invalid_argument("region id '" + std::string(text) +
                              "' may only hold lower-case letters, digits, '-' and '_'");
    }
  }
  return RegionId(std::string(text));
}

}  // namespace hadr
