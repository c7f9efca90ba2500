// `hadr send` and `hadr verify`: the producer side of a drill and the check of its outcome.
//
// send_messages() puts `count` messages with deterministic ids "<prefix>-<n>" (n = 1..count,
// so a rerun produces the same ids) into the region's embedded Source in batches, and appends
// the ids the source acknowledged to data_dir/sent.log, one line each, fsynced per batch: a
// crash loses at most ids that were never acknowledged... or, between the put and the fsync of
// the log, ids that were acknowledged but not recorded (verify then sees effects it did not
// expect, never a loss it cannot explain).
//
// verify_region() compares sent.log with the ledger (LedgerReader on the dedupe database) and
// the dedupe store:
//   sent                 distinct ids in sent.log
//   effects              ledger rows (all ids)
//   lost                 sent ids with no ledger row and no dead-lettered dedupe record
//   duplicate_effects    sum over ids of (rows - 1) where rows > 1
//   dead_lettered        sent ids with no ledger row whose dedupe record is dead-lettered
//                        (decided by the dedupe store, not the bus DLQ: the worker marks the
//                        record before it moves the message, so the record is the truth)
//   duplicate_deliveries suppressed duplicates counted by the workers (stats-*.json in
//                        data_dir; a lower bound after a SIGKILL, which loses the last counts)
//   effects_without_sent effects (included in `effects`) whose id is not in sent.log: messages
//                        put by another producer (the gateway, `hadr post`, an AMQP source), so
//                        verify cannot check them for loss; the text says so
// With handler.kind = "sql" the effects are the rows of hadr_inbox in the handler's database
// (read in pages; duplicates there are impossible by its primary key), and the dedupe store
// still tells dead letters from losses.
// verify reads only: a data_dir that does not exist is an error naming it (kFailedPrecondition);
// an embedded ledger database that does not exist is not created: no effects, a note names it.
// While messages are still flowing `lost` counts those not applied yet: poll until it is 0.
//
// Ownership: plain functions. Thread-safety: none needed; they open their own connections.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "config/region_config.h"
#include "core/result.h"

namespace hadr {

// What a long send reports while it runs (every SendOptions::progress_interval).
struct SendProgress {
  std::uint64_t sent = 0;
  std::uint64_t count = 0;
  double elapsed_seconds = 0;
  double rate_per_second = 0;  // since the start
};

struct SendOptions {
  std::uint64_t count = 0;           // 1 .. kCountMax
  std::uint64_t first_number = 1;    // ids are <prefix>-<first_number> .. <prefix>-<first_number + count - 1>
  double rate_per_second = 0;        // 0: as fast as the source accepts
  std::size_t body_bytes = 100;      // 0 .. Bus::kMaxBodyBytes
  std::string prefix = "msg";
  std::size_t batch_max = 500;       // 1 .. Source::kMaxBatch
  Milliseconds progress_interval{2'000};
  std::function<void(const SendProgress&)> progress;  // empty: none

  static constexpr std::uint64_t kCountMax = 100'000'000;
  Status validate() const;
};

struct SendReport {
  std::uint64_t sent = 0;  // acknowledged by the source and recorded in sent.log
  double elapsed_seconds = 0;
};

// Stops early (ok, with what was sent) when should_stop() answers true between batches.
Result<SendReport> send_messages(const RegionConfig& config, const SendOptions& options,
                                 const std::function<bool()>& should_stop);

struct VerifyReport {
  std::uint64_t sent = 0;
  std::uint64_t effects = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicate_effects = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t duplicate_deliveries = 0;
  std::uint64_t effects_without_sent = 0;
  bool sent_log_found = false;
  std::string missing_ledger;  // embedded: the ledger database when it does not exist (all sent ids lost)
  std::string effects_source;  // "hadr_inbox" when the region's handler is `sql`; empty: hadr's ledger

  bool passed() const { return lost == 0 && duplicate_effects == 0; }
  std::string to_json() const;
  std::string to_text() const;
  std::string notes() const;  // what verify could not check, one "note: …" line each ("" if none)
};

Result<VerifyReport> verify_region(const RegionConfig& config);

}  // namespace hadr
