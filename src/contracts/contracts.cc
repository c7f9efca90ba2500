#include <algorithm>
#include <cstdio>
#include <string>

#include "contracts/blob_store.h"
#include "contracts/bus.h"

namespace hadr {

std::string dead_letter_queue(std::string_view queue) { return std::string(queue) + "/$deadletterqueue"; }

Status validate_blob_key(std::string_view key) {
  if (key.empty() || key.size() > 1024) {
    return invalid_argument("blob key must be 1..1024 bytes, got " + std::to_string(key.size()));
  }
  if (key.front() == '/') return invalid_argument("blob key '" + std::string(key) + "' must not start with '/'");
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                         c == '_' || c == '/' || c == '-';
    if (!allowed) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(c));
      return invalid_argument("blob key byte " + std::to_string(i) + " is " + hex +
                              "; allowed are letters, digits and . _ / -");
    }
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view segment = key.substr(start, end - start);
    if (segment.empty() && end < key.size()) return invalid_argument("blob key '" + std::string(key) + "' has '//'");
    if (segment == "." || segment == "..") {
      return invalid_argument("blob key '" + std::string(key) + "' has a '.' or '..' segment");
    }
    start = end + 1;
  }
  return ok_status();
}

}  // namespace hadr
