#include "azure/blob_list_xml.h"

#include <array>

#include "azure/azure_auth.h"

namespace hadr::azure {

namespace {

constexpr std::array<std::string_view, 4> kNamePath = {"EnumerationResults", "Blobs", "Blob", "Name"};
constexpr std::array<std::string_view, 2> kNextMarkerPath = {"EnumerationResults", "NextMarker"};
// "&#x10FFFF;" is the longest reference this parser accepts.
constexpr std::size_t kEntityBytesMax = 10;

template <std::size_t N>
bool is_path(const std::vector<std::string>& stack, const std::array<std::string_view, N>& path) {
  if (stack.size() != N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    if (stack[i] != path[i]) return false;
  }
  return true;
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xc0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xe0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  }
}

// The code point of "#NN" or "#xHH" (the entity without '&' and ';'); 0 when malformed.
std::uint32_t character_reference(std::string_view entity) {
  HADR_ASSERT(!entity.empty() && entity[0] == '#');
  const bool hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
  const std::string_view digits = entity.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 6) return 0;
  std::uint32_t value = 0;
  for (const char c : digits) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (hex && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (hex && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return 0;
    value = value * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit);
  }
  const bool surrogate = value >= 0xd800 && value <= 0xdfff;
  return (value > 0x10ffff || surrogate) ? 0 : value;
}

// One start or end tag, read from just after '<' up to and including '>'.
struct Tag {
  std::string name;
  std::string_view attributes;
  bool closing = false;
  bool self_closing = false;
  std::size_t end = 0;  // offset just past '>'
};

Result<Tag> read_tag(std::string_view xml, std::size_t open) {
  HADR_ASSERT(xml[open] == '<');
  Tag tag;
  std::size_t position = open + 1;
  tag.closing = position < xml.size() && xml[position] == '/';
  if (tag.closing) ++position;
  const std::size_t name_start = position;
  while (position < xml.size() && xml[position] != '>' && xml[position] != '/' && xml[position] != ' ' &&
         xml[position] != '\t' && xml[position] != '\r' && xml[position] != '\n') {
    ++position;
  }
  tag.name = std::string(xml.substr(name_start, position - name_start));
  // Attribute values may hold '>', so the tag ends at the first '>' outside quotes.
  const std::size_t attributes_start = position;
  char quote = 0;
  while (position < xml.size() && (quote != 0 || xml[position] != '>')) {
    if (quote == 0 && (xml[position] == '"' || xml[position] == '\'')) {
      quote = xml[position];
    } else if (quote != 0 && xml[position] == quote) {
      quote = 0;
    }
    ++position;
  }
  if (position >= xml.size() || tag.name.empty()) {
    return internal_error("List Blobs response: malformed tag at byte " + std::to_string(open));
  }
  tag.self_closing = !tag.closing && xml[position - 1] == '/';
  tag.attributes = xml.substr(attributes_start, position - attributes_start - (tag.self_closing ? 1 : 0));
  tag.end = position + 1;
  HADR_ASSERT(tag.end > open);
  return tag;
}

// What the parse has seen so far.
struct ParseState {
  std::vector<std::string> stack;
  std::string text;  // decoded text of the current Name or NextMarker
  bool name_encoded = false;
  bool saw_root = false;
  BlobListPage page;
};

Status close_element(ParseState& state, std::size_t offset) {
  if (is_path(state.stack, kNextMarkerPath)) {
    state.page.next_marker = state.text;
  } else if (is_path(state.stack, kNamePath)) {
    std::string name = state.text;
    if (state.name_encoded) {
      auto decoded = percent_decode(name);
      if (!decoded.ok()) return internal_error("List Blobs response: bad encoded name at byte " + std::to_string(offset));
      name = std::move(decoded).value();
    }
    if (name.empty()) return internal_error("List Blobs response: empty blob name at byte " + std::to_string(offset));
    if (state.page.names.size() >= kBlobListNamesMax) {
      return internal_error("List Blobs response lists more than " + std::to_string(kBlobListNamesMax) + " blobs");
    }
    state.page.names.push_back(std::move(name));
  }
  state.text.clear();
  state.stack.pop_back();
  return ok_status();
}

Status apply_tag(ParseState& state, const Tag& tag, std::size_t offset) {
  if (tag.closing) {
    if (state.stack.empty() || state.stack.back() != tag.name) {
      return internal_error("List Blobs response: unexpected </" + tag.name + "> at byte " + std::to_string(offset));
    }
    return close_element(state, offset);
  }
  if (state.stack.empty() && (state.saw_root || tag.name != kNamePath[0])) {
    return internal_error("List Blobs response: root element <" + tag.name + "> at byte " + std::to_string(offset) +
                          " where one <EnumerationResults> was expected");
  }
  if (state.stack.size() >= kXmlDepthMax) {
    return internal_error("List Blobs response nests deeper than " + std::to_string(kXmlDepthMax) + " elements");
  }
  state.saw_root = true;
  state.stack.push_back(tag.name);
  state.text.clear();
  state.name_encoded = is_path(state.stack, kNamePath) && (tag.attributes.find("Encoded=\"true\"") != std::string_view::npos ||
                                                           tag.attributes.find("Encoded='true'") != std::string_view::npos);
  if (tag.self_closing) return close_element(state, offset);
  return ok_status();
}

bool collecting(const ParseState& state) { return is_path(state.stack, kNamePath) || is_path(state.stack, kNextMarkerPath); }

// Skips "<?...?>", "<!--...-->" and "<!DOCTYPE ...>"; appends a CDATA section's text. Returns
// the offset after it.
Result<std::size_t> skip_markup(std::string_view xml, std::size_t open, ParseState& state) {
  std::string_view terminator = ">";
  std::size_t body = open + 2;
  if (xml.substr(open).starts_with("<?")) {
    terminator = "?>";
  } else if (xml.substr(open).starts_with("<!--")) {
    terminator = "-->";
    body = open + 4;
  } else if (xml.substr(open).starts_with("<![CDATA[")) {
    terminator = "]]>";
    body = open + 9;
  }
  const std::size_t end = xml.find(terminator, body);
  if (end == std::string_view::npos) {
    return internal_error("List Blobs response: unterminated markup at byte " + std::to_string(open));
  }
  if (terminator == "]]>" && collecting(state)) state.text += xml.substr(body, end - body);
  return end + terminator.size();
}

}  // namespace

Result<std::string> xml_unescape(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      result += text[i];
      continue;
    }
    const std::size_t semicolon = text.find(';', i + 1);
    if (semicolon == std::string_view::npos || semicolon - i - 1 > kEntityBytesMax || semicolon == i + 1) {
      return invalid_argument("XML text has a '&' at byte " + std::to_string(i) + " that starts no entity");
    }
    const std::string_view entity = text.substr(i + 1, semicolon - i - 1);
    if (entity == "amp") result += '&';
    else if (entity == "lt") result += '<';
    else if (entity == "gt") result += '>';
    else if (entity == "quot") result += '"';
    else if (entity == "apos") result += '\'';
    else if (entity[0] == '#' && character_reference(entity) != 0) append_utf8(result, character_reference(entity));
    else return invalid_argument("XML text has an unknown entity '&" + std::string(entity) + ";'");
    i = semicolon;
  }
  return result;
}

Result<BlobListPage> parse_blob_list(std::string_view xml) {
  ParseState state;
  std::size_t position = 0;
  // Each step consumes at least one byte, so the loop ends within xml.size() steps.
  while (position < xml.size()) {
    if (xml[position] != '<') {
      std::size_t end = xml.find('<', position);
      if (end == std::string_view::npos) end = xml.size();
      if (collecting(state)) {
        auto text = xml_unescape(xml.substr(position, end - position));
        if (!text.ok()) return internal_error("List Blobs response at byte " + std::to_string(position) + ": " + text.error().detail);
        state.text += *text;
      }
      position = end;
      continue;
    }
    const char next = position + 1 < xml.size() ? xml[position + 1] : '\0';
    if (next == '?' || next == '!') {
      HADR_ASSIGN_OR_RETURN(position, skip_markup(xml, position, state));
      continue;
    }
    HADR_ASSIGN_OR_RETURN(const Tag tag, read_tag(xml, position));
    HADR_TRY(apply_tag(state, tag, position));
    position = tag.end;
  }
  if (!state.saw_root || !state.stack.empty()) {
    return internal_error("List Blobs response is truncated: it ends inside <" +
                          (state.stack.empty() ? std::string("EnumerationResults") : state.stack.back()) + ">");
  }
  return std::move(state.page);
}

}  // namespace hadr::azure
