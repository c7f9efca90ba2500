// Helpers the conformance suites share: ids, status checks with readable failures, the TTLs
// the suites use, and races between threads and between processes.
//
// Time in the suites passes only through BackendFactory::advance(): a ManualClock for the
// embedded backends, a real sleep for a real server. So "short" TTLs expire after advancing
// kPastShortTtl, and "long" ones never expire during a test, even while a real server's time
// runs on by itself.
// Thread-safety: the helpers hold no state; race_threads() runs its bodies concurrently, so
// each body must use its own store instance.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

// Readable values in failure messages (found by argument-dependent lookup).
inline void PrintTo(const Epoch& epoch, std::ostream* out) { *out << "epoch " << epoch.value; }
inline void PrintTo(const MessageId& id, std::ostream* out) { *out << "'" << id.str() << "'"; }

}  // namespace hadr

namespace hadr::testing {

inline constexpr Milliseconds kShortTtl{200};
inline constexpr Milliseconds kPastShortTtl{400};
inline constexpr Milliseconds kLongTtl = std::chrono::seconds(60);

// "<prefix><number>", e.g. numbered("m", 7) == "m7".
std::string numbered(std::string_view prefix, std::size_t number);

// A valid MessageId; fails the test (and returns an empty id) when `text` is not one.
MessageId message_id(std::string_view text);
// `count` distinct ids "<prefix>-0", "<prefix>-1", ...
std::vector<MessageId> message_ids(std::string_view prefix, std::size_t count);

// Success, or a failure that shows the error.
template <typename R>
::testing::AssertionResult succeeded(const R& result) {
  if (result.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected ok, got " << result.error().to_string();
}

// The error `code`, or a failure that shows what came instead.
template <typename R>
::testing::AssertionResult failed_with(const R& result, ErrorCode code) {
  if (result.ok()) return ::testing::AssertionFailure() << "expected " << error_code_name(code) << ", got ok";
  if (result.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << error_code_name(code) << ", got "
                                       << result.error().to_string();
}

// What one racer does; its result string is compared by the test.
using RaceBody = std::function<std::string()>;

// Runs each body on its own thread, released together; returns their results in order.
std::vector<std::string> race_threads(const std::vector<RaceBody>& bodies);

struct ProcessRaceResults {
  std::string parent;
  std::string child;
};

// Forks. In each process `prepare` runs first (make store instances there: a connection must
// not cross fork()), then both processes wait at a barrier (pipes) and run the body `prepare`
// returned, at the same moment. The child sends its result to the parent and _exit()s — it
// never returns into the test. The caller must hold no open store instance across the fork.
// Fails (kInternal) when the child does not report or does not exit cleanly.
Result<ProcessRaceResults> race_with_forked_child(const std::function<RaceBody()>& prepare);

}  // namespace hadr::testing
