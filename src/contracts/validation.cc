#include "contracts/validation.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "contracts/blob_store.h"
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

Status validate_blob_key(std::string_view key) {
  if (key.empty()) return invalid_argument("blob key is empty; it must be 1..1024 bytes");
  // The alphabet and length are those of a list prefix; a key adds the path rules.
  HADR_TRY(validate_blob_key_prefix("blob key", key));
  if (key.front() == '/') return invalid_argument("blob key '" + std::string(key) + "' must not start with '/'");
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

Status validate_batch_size(std::string_view what, std::size_t size, std::size_t max) {
  if (size < 1 || size > max) {
    return invalid_argument(std::string(what) + " is " + std::to_string(size) + "; it must be 1.." +
                            std::to_string(max));
  }
  return ok_status();
}

Status validate_queue_options(const QueueOptions& options) {
  if (options.max_delivery_count < 1 || options.max_delivery_count > kMaxMaxDeliveryCount) {
    return invalid_argument("queue option max_delivery_count is " + std::to_string(options.max_delivery_count) +
                            "; it must be 1.." + std::to_string(kMaxMaxDeliveryCount));
  }
  return ok_status();
}

Status validate_message_properties(std::string_view what, const Properties& properties) {
  constexpr std::size_t kFramingBytesPerPair = 8;
  if (properties.size() > kMaxPropertyPairs) {
    return invalid_argument(std::string(what) + " has " + std::to_string(properties.size()) +
                            " entries; the maximum is " + std::to_string(kMaxPropertyPairs));
  }
  std::size_t total_bytes = 0;
  for (std::size_t i = 0; i < properties.size(); ++i) {
    const auto& [name, value] = properties[i];
    if (name.empty() || name.size() > kMaxPropertyNameLength) {
      return invalid_argument(std::string(what) + " entry " + std::to_string(i) + " has a name of " +
                              std::to_string(name.size()) + " bytes; names must be 1.." +
                              std::to_string(kMaxPropertyNameLength) + " bytes");
    }
    total_bytes += kFramingBytesPerPair + name.size() + value.size();
  }
  if (total_bytes > kMaxPropertyTotalBytes) {
    return invalid_argument(std::string(what) + " take " + std::to_string(total_bytes) + " bytes; the maximum is " +
                            std::to_string(kMaxPropertyTotalBytes));
  }
  return ok_status();
}

Status validate_reason(std::string_view what, std::string_view reason) {
  if (reason.size() > kMaxReasonBytes) {
    return invalid_argument(std::string(what) + " is " + std::to_string(reason.size()) + " bytes; the maximum is " +
                            std::to_string(kMaxReasonBytes));
  }
  return ok_status();
}

Status validate_copy_pins(std::string_view what, std::span<const CopyPin> pins) {
  if (pins.size() > DedupeStore::kMaxLookupBatch) {
    return invalid_argument(std::string(what) + " of " + std::to_string(pins.size()) +
                            " pins; the maximum batch is " + std::to_string(DedupeStore::kMaxLookupBatch));
  }
  for (const CopyPin& pin : pins) {
    if (pin.id.empty()) return invalid_argument(std::string(what) + ": a message id is empty");
    HADR_TRY(validate_printable(std::string(what) + " tag", pin.tag, kMaxPinTagBytes));
  }
  return ok_status();
}

Status validate_ack_handles(std::span<const std::string> ack_handles, std::size_t max) {
  if (ack_handles.size() > max) {
    return invalid_argument("ack of " + std::to_string(ack_handles.size()) + " handles; the maximum is " +
                            std::to_string(max));
  }
  std::set<std::string_view> distinct;
  for (const std::string& handle : ack_handles) {
    HADR_TRY(validate_printable("ack handle", handle, kMaxNameBytes));
    if (!distinct.insert(handle).second) return invalid_argument("ack handle " + handle + " is listed twice");
  }
  return ok_status();
}

}  // namespace hadr
