// libFuzzer target: the List Blobs answer is network input (an Azure endpoint, or anything in
// between). parse_blob_list() on arbitrary bytes must give a page or an error, never a crash, a
// hang or undefined behaviour.
// Build: scripts/build fuzz fuzz_targets; run: scripts/fuzz SECONDS.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "azure/blob_list_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)hadr::azure::parse_blob_list(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
