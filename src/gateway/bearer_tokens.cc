#include "gateway/bearer_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/assert.h"

namespace hadr {
namespace {

// token68 (RFC 9110 §11.2): the characters a bearer token may hold.
bool is_token68_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~+/=").find(c) != std::string_view::npos;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Surrounding whitespace is never part of a token (a file's CRLF, a variable set from `echo`).
std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

BearerTokens::Digest BearerTokens::digest(std::string_view token) {
  Digest out{};
  unsigned int length = 0;
  const int done = EVP_Digest(token.data(), token.size(), out.data(), &length, EVP_sha256(), nullptr);
  HADR_ASSERT(done == 1 && length == out.size());
  return out;
}

Status BearerTokens::add(std::string_view token, std::string_view where) {
  if (token.size() < kTokenBytesMin || token.size() > kTokenBytesMax ||
      !std::all_of(token.begin(), token.end(), is_token68_char)) {
    return invalid_argument(std::string(where) + ": a bearer token must be " + std::to_string(kTokenBytesMin) + ".." +
                            std::to_string(kTokenBytesMax) + " characters of A-Z a-z 0-9 - . _ ~ + / = (e.g. `openssl rand -hex 32`)");
  }
  if (digests_.size() >= kTokensMax) {
    return invalid_argument(std::string(where) + ": at most " + std::to_string(kTokensMax) + " bearer tokens");
  }
  digests_.push_back(digest(token));
  return ok_status();
}

Result<BearerTokens> BearerTokens::load(const std::vector<std::string>& variable_names,
                                        const std::vector<std::string>& file_paths,
                                        const EnvironmentLookup& environment) {
  BearerTokens tokens;
  for (const std::string& name : variable_names) {
    const std::string where = "--token-env " + name;
    const std::optional<std::string> value = environment(name);
    if (!value.has_value() || value->empty()) return invalid_argument(where + ": the variable is not set or empty");
    HADR_TRY(tokens.add(trim(*value), where));
  }
  for (const std::string& path : file_paths) {
    const std::string where = "--token-file " + path;
    std::ifstream file(path, std::ios::binary);
    if (!file) return invalid_argument(where + ": cannot be read");
    std::string text(kTokenFileBytesMax + 1, '\0');
    file.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(file.gcount()));
    if (text.size() > kTokenFileBytesMax) return invalid_argument(where + ": larger than 64 KiB");
    std::size_t found = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      const std::string_view token = trim(line);
      if (token.empty() || token.front() == '#') continue;
      HADR_TRY(tokens.add(token, where));
      ++found;
    }
    if (found == 0) return invalid_argument(where + ": holds no token (one per line)");
  }
  return tokens;
}

Result<BearerTokens> BearerTokens::from_secrets(const std::vector<Secret>& secrets) {
  BearerTokens tokens;
  for (const Secret& secret : secrets) HADR_TRY(tokens.add(secret.reveal(), "token"));
  return tokens;
}

bool BearerTokens::accepts(const std::string* authorization) const {
  HADR_ASSERT(enabled());
  if (authorization == nullptr) return false;
  constexpr std::string_view kScheme = "bearer ";
  std::string_view value = *authorization;
  if (value.size() <= kScheme.size()) return false;
  for (std::size_t index = 0; index < kScheme.size(); ++index) {
    const char c = value[index];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[index]) return false;
  }
  value = trim(value.substr(kScheme.size()));
  if (value.empty() || value.size() > kTokenBytesMax) return false;
  const Digest presented = digest(value);
  int matches = 0;
  for (const Digest& stored : digests_) matches |= CRYPTO_memcmp(stored.data(), presented.data(), presented.size()) == 0;
  return matches != 0;
}

}  // namespace hadr
