#include "gateway/http_types.h"

#include <algorithm>
#include <cctype>

namespace hadr {

const std::string* find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [header_name, value] : headers) {
    if (header_name.size() == name.size() &&
        std::equal(name.begin(), name.end(), header_name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return &value;
    }
  }
  return nullptr;
}

}  // namespace hadr
