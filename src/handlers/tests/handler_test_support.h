// Helpers shared by the handler tests: a temporary directory removed at the end of a test,
// messages and handler inputs.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "contracts/bus.h"
#include "core/ids.h"
#include "roles/handler.h"

namespace hadr::handlers_test {

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hadr-handlers-XXXXXX").string();
    HADR_ASSERT(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline MessageId test_id(std::string_view text) { return MessageId::parse(text).value(); }
inline RegionId test_region(std::string_view text) { return RegionId::parse(text).value(); }

inline BusMessage test_message(std::string_view id, std::string body = "payload") {
  return BusMessage{.id = test_id(id),
                    .epoch = Epoch{7},
                    .source_region = test_region("a"),
                    .lsn = Lsn{42},
                    .body = std::move(body)};
}

inline HandlerInput test_input(const BusMessage& message, std::string_view claim_token = "c1") {
  return HandlerInput{.message = message, .claim_token = claim_token, .delivery_count = 3, .claim_epoch = Epoch{7}};
}

}  // namespace hadr::handlers_test
