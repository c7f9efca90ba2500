#include "contracts/validation.h"

#include <cstdio>
#include <string>

#include "contracts/bus.h"

namespace hadr {
namespace {

std::string hex_byte(unsigned char byte) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", byte);
  return text;
}

bool is_name_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '/' || c == '-';
}

}  // namespace

Status validate_printable(std::string_view what, std::string_view text, std::size_t max_bytes) {
  if (text.empty()) {
    return invalid_argument(std::string(what) + " is empty; give 1.." + std::to_string(max_bytes) +
                            " printable ASCII bytes");
  }
  if (text.size() > max_bytes) {
    return invalid_argument(std::string(what) + " is " + std::to_string(text.size()) + " bytes; the maximum is " +
                            std::to_string(max_bytes));
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x21 || byte > 0x7e) {
      return invalid_argument(std::string(what) + " byte " + std::to_string(i) + " is " + hex_byte(byte) +
                              "; only printable ASCII without spaces (0x21..0x7e) is allowed");
    }
  }
  return ok_status();
}

Status validate_ttl(std::string_view what, Milliseconds value, Milliseconds max) {
  if (value < Milliseconds(1) || value > max) {
    return invalid_argument(std::string(what) + " is " + std::to_string(value.count()) + " ms; it must be 1.." +
                            std::to_string(max.count()) + " ms");
  }
  return ok_status();
}

Status validate_queue_name(std::string_view queue, QueueNameUse use) {
  // dead_letter_queue("") is the suffix itself: one definition of the naming rule.
  const std::string dead_letter_suffix = dead_letter_queue("");
  std::string_view base = queue;
  if (base.size() > dead_letter_suffix.size() && base.ends_with(dead_letter_suffix)) {
    if (use == QueueNameUse::kCreateOrSend) {
      return invalid_argument("queue '" + std::string(queue) +
                              "' is a dead-letter queue; messages reach it only through dead_letter()");
    }
    base.remove_suffix(dead_letter_suffix.size());
  }
  if (base.empty() || base.size() > kMaxQueueNameBytes) {
    return invalid_argument("queue name must be 1.." + std::to_string(kMaxQueueNameBytes) + " bytes, got " +
                            std::to_string(base.size()));
  }
  for (std::size_t i = 0; i < base.size(); ++i) {
    if (!is_name_byte(base[i])) {
      return invalid_argument("queue name byte " + std::to_string(i) + " is " +
                              hex_byte(static_cast<unsigned char>(base[i])) +
                              "; allowed are letters, digits and . _ / -");
    }
  }
  return ok_status();
}

Status validate_blob_key_prefix(std::string_view what, std::string_view prefix) {
  // 1024: the longest blob key (blob_store.h).
  constexpr std::size_t kMaxKeyBytes = 1024;
  if (prefix.size() > kMaxKeyBytes) {
    return invalid_argument(std::string(what) + " is " + std::to_string(prefix.size()) + " bytes; the maximum is " +
                            std::to_string(kMaxKeyBytes));
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (!is_name_byte(prefix[i])) {
      return invalid_argument(std::string(what) + " byte " + std::to_string(i) + " is " +
                              hex_byte(static_cast<unsigned char>(prefix[i])) +
                              "; allowed are letters, digits and . _ / -");
    }
  }
  return ok_status();
}

}  // namespace hadr
