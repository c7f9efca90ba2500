// check_declared_content: what the gateway checks in a body before it stores it. Bodies are
// stored as opaque bytes, except that a body whose Content-Type says JSON (application/json or
// any */*+json) must be JSON: well-formed RFC 8259 text, valid UTF-8 (no lone surrogates), at most
// kJsonDepthMax levels of nesting — else 400. A producer that says JSON and sends something else
// would hand every consumer a message it cannot read; the gateway is the last place where the
// producer still hears about it. Other content types (or none) are not looked at.
//
// The check streams through the body with nlohmann's SAX parser (no document is built; the
// parser keeps its nesting on the heap, and the depth bound stops at 64 anyway).
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/result.h"
#include "http/http_types.h"

namespace hadr {

inline constexpr std::size_t kJsonDepthMax = 64;

// Whether a Content-Type value names a JSON media type (parameters and case ignored).
bool is_json_media_type(std::string_view content_type);

// ok, or invalid_argument saying what is wrong with the body (never quoting it).
Status check_declared_content(const HttpRequest& request);

}  // namespace hadr
