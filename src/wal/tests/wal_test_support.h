// Helpers shared by the WAL tests: records with recognisable contents, and reading a whole log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/random.h"
#include "wal/wal.h"

namespace hadr::testing_support {

// A message record whose id and payload are derived from `tag`, so a test can check bytes.
WalAppend make_append(std::uint64_t tag, Epoch epoch = Epoch{1}, std::size_t payload_bytes = 32);
// The same with random payload size in [0, payload_bytes_max] drawn from `random`.
WalAppend make_random_append(std::uint64_t tag, Epoch epoch, Random& random, std::size_t payload_bytes_max);

// Every record of the log in `dir` (read-only); fails the test on an error.
std::vector<WalRecord> read_all(Env& env, const std::string& dir, const WalOptions& options);

// True when `record` holds exactly what `expected` asked for.
bool same_content(const WalRecord& record, const WalAppend& expected);

// Small segments so tests roll often.
WalOptions small_options();

}  // namespace hadr::testing_support
