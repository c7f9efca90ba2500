// BearerTokens: the credentials the ingest API (POST /v1/messages) accepts, as SHA-256 digests.
// Tokens come only from environment variables (`--token-env NAME`) and files (`--token-file
// PATH`, one token per line, `#` comments), never from a flag's value, so they do not show up
// in `ps`, shell history or /proc/*/cmdline. Several tokens may be valid at once (rotation).
//
// accepts() compares in constant time: the presented token is hashed, and its digest is compared
// with every stored digest by CRYPTO_memcmp, without stopping at a match, so the time taken does
// not depend on how much of a token was right nor on which token matched.
//
// Ownership: plain values (digests only; the plain tokens are dropped after hashing).
// Thread-safety: const after load; accepts() may run on many threads at once.
// Invariant: every digest came from a token of kTokenBytesMin..kTokenBytesMax token68 characters.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/secret.h"

namespace hadr {

class BearerTokens {
 public:
  static constexpr std::size_t kTokenBytesMin = 16;  // shorter tokens are guessable
  static constexpr std::size_t kTokenBytesMax = 512;
  static constexpr std::size_t kTokensMax = 64;
  static constexpr std::size_t kTokenFileBytesMax = 64 * 1024;

  BearerTokens() = default;  // no tokens: authentication is off

  // Reads every named variable and file. An error names the variable or file and what is wrong
  // with it, never the token itself.
  static Result<BearerTokens> load(const std::vector<std::string>& variable_names,
                                   const std::vector<std::string>& file_paths, const EnvironmentLookup& environment);
  // Tests: from secrets held in memory.
  static Result<BearerTokens> from_secrets(const std::vector<Secret>& tokens);

  bool enabled() const { return !digests_.empty(); }
  std::size_t size() const { return digests_.size(); }
  // Whether an Authorization header value ("Bearer <token>") carries one of the tokens.
  bool accepts(const std::string* authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  Status add(std::string_view token, std::string_view where);
  static Digest digest(std::string_view token);

  std::vector<Digest> digests_;
};

}  // namespace hadr
