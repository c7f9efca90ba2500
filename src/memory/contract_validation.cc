#include "memory/contract_validation.h"

#include <string>

namespace hadr {

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

}  // namespace hadr
