#include "gateway/declared_content.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

namespace hadr {
namespace {

// Counts nesting and records why parsing stopped; builds nothing.
class JsonChecker final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
    // The exception's text quotes the bytes it read; only the position and kind are reported.
    error_ = "body is not valid JSON (Content-Type says JSON): " +
             std::string(error.id == 101 ? "syntax error or invalid UTF-8" : "invalid value") + " at byte " +
             std::to_string(position);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ > kJsonDepthMax) {
      error_ = "body JSON nests deeper than " + std::to_string(kJsonDepthMax) + " levels";
      return false;
    }
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }

  std::size_t depth_ = 0;
  std::string error_;
};

}  // namespace

bool is_json_media_type(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  const std::size_t first = type.find_first_not_of(" \t");
  type = first == std::string::npos ? std::string() : type.substr(first);
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (type == "application/json") return true;
  const std::size_t slash = type.find('/');
  return slash != std::string::npos && type.size() > slash + 6 && type.ends_with("+json");
}

Status check_declared_content(const HttpRequest& request) {
  const std::string* content_type = request.header("Content-Type");
  if (content_type == nullptr || !is_json_media_type(*content_type)) return ok_status();
  JsonChecker checker;
  const bool ok = nlohmann::json::sax_parse(request.body.begin(), request.body.end(), &checker,
                                            nlohmann::json::input_format_t::json, /*strict=*/true);
  if (ok) return ok_status();
  return invalid_argument(checker.error().empty() ? "body is not valid JSON (Content-Type says JSON)" : checker.error());
}

}  // namespace hadr
