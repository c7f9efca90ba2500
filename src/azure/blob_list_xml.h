// A small, dedicated parser for the List Blobs response body (REST "List Blobs"):
//
//   <EnumerationResults ...>
//     <Prefix>...</Prefix> <Marker>...</Marker> <MaxResults>...</MaxResults>
//     <Blobs> <Blob> <Name>NAME</Name> <Properties>...</Properties> ... </Blob> ... </Blobs>
//     <NextMarker>MARKER</NextMarker>          (empty or <NextMarker /> on the last page)
//   </EnumerationResults>
//
// It keeps only EnumerationResults/Blobs/Blob/Name and EnumerationResults/NextMarker, decodes
// the five predefined entities and numeric character references (&#NN; &#xHH;), CDATA
// sections, and `<Name Encoded="true">` (a percent-encoded name). It is not a general XML
// parser: no DTDs, no namespaces. Malformed input (unbalanced tags, a bad entity, a body
// over the bounds below) is kInternal naming the byte offset: the server sent something this
// client does not understand, and retrying will not help.
// Ownership: values only. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hadr::azure {

struct BlobListPage {
  std::vector<std::string> names;  // in the order the server listed them
  std::string next_marker;         // "" on the last page
};

// Bounds: a page holds at most 5000 blobs (maxresults' ceiling); elements nest at most this deep.
inline constexpr std::size_t kBlobListNamesMax = 5000;
inline constexpr std::size_t kXmlDepthMax = 32;

Result<BlobListPage> parse_blob_list(std::string_view xml);

// Decodes entities and character references in XML text; kInvalidArgument on a malformed or
// unknown one (naming it). Characters above U+007F are written as UTF-8.
Result<std::string> xml_unescape(std::string_view text);

}  // namespace hadr::azure
