// Crash tests on MemEnv (invariant I7): after a power loss at any point, recovery keeps every
// record whose LSN was durable, in order and with its bytes; records that were never durable
// may vanish (or survive whole); nothing else changes.
//   - CrashAtEverySyncBoundary: a seeded append sequence is replayed once per sync it performs,
//     with that sync failing as the power goes, then the disk loses, tears or bit-flips what was
//     not synced (every CrashMode), and the log is recovered and checked.
//   - RandomAppendCrashRecoverRetention: a seeded property test of random appends, injected
//     fsync failures, crashes, seals, reads and retention against a model of the log.
// The one outcome allowed besides success: under kCorruptUnsynced a write that survived whole
// but with a flipped bit is indistinguishable from corruption and is reported as such (never
// skipped) — only at an offset that was never synced.
#include <gtest/gtest.h>

#include "core/mem_env.h"
#include "wal/tests/wal_test_support.h"
#include "wal/wal.h"

namespace hadr {
namespace {

using testing_support::make_random_append;
using testing_support::small_options;

const std::string kDir = "/wal";
constexpr CrashMode kModes[] = {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced, CrashMode::kCorruptUnsynced};

struct Expected {
  WalRecordType type = WalRecordType::kMessage;
  WalAppend append;
};

bool matches(const WalRecord& record, const Expected& expected) {
  if (record.type != expected.type || record.epoch != expected.append.epoch) return false;
  return expected.type == WalRecordType::kSeal || testing_support::same_content(record, expected.append);
}

// What the process knew when the power went.
struct AtCrash {
  Lsn durable_lsn;
  std::vector<WalSegmentInfo> segments;  // with their durable sizes
};

// A corruption report is acceptable only for bytes that were never synced (see file comment).
bool false_alarm_on_unsynced_bytes(const RecoveryReport& report, const AtCrash& at_crash, CrashMode mode) {
  if (mode != CrashMode::kCorruptUnsynced || report.recovery_case != RecoveryCase::kCorruption) return false;
  for (const WalSegmentInfo& segment : at_crash.segments) {
    if (segment.path == report.file) return report.offset >= segment.bytes;
  }
  return true;  // a segment the process never finished creating: nothing in it was synced
}

// Recovers and checks I7 against `attempted` (every record whose append was attempted, in LSN
// order). Returns the recovered log, or null after an allowed false alarm.
std::unique_ptr<Wal> recover_and_check(MemEnv& env, const std::vector<Expected>& attempted, const AtCrash& at_crash,
                                       CrashMode mode, std::uint64_t* present_count) {
  RecoveryReport report;
  auto wal = Wal::open(env, kDir, small_options(), &report);
  if (!wal.ok()) {
    EXPECT_TRUE(false_alarm_on_unsynced_bytes(report, at_crash, mode)) << wal.error().to_string();
    return nullptr;
  }
  const Lsn first = (*wal)->first_lsn();
  auto reader = (*wal)->read_from(first);
  EXPECT_TRUE(reader.ok());
  std::uint64_t lsn = first.value;
  for (auto next = reader->next(); next.ok() && next->has_value(); next = reader->next(), ++lsn) {
    EXPECT_EQ((*next)->lsn, Lsn{lsn});
    EXPECT_LE(lsn, attempted.size()) << "a record that was never appended";
    if (lsn > attempted.size()) break;
    EXPECT_TRUE(matches(**next, attempted[lsn - 1])) << "LSN " << lsn << " does not hold its bytes";
  }
  const std::uint64_t present = lsn - 1;
  EXPECT_GE(present, at_crash.durable_lsn.value) << "a durable record was lost";
  EXPECT_EQ((*wal)->durable_lsn(), Lsn{present});
  *present_count = present;
  return std::move(wal).value();
}

std::vector<std::vector<WalAppend>> make_batches(std::uint64_t seed, int count) {
  Random random(seed);
  std::vector<std::vector<WalAppend>> batches;
  std::uint64_t tag = 1;
  for (int index = 0; index < count; ++index) {
    std::vector<WalAppend> batch;
    const std::uint64_t size = random.between(1, 8);
    for (std::uint64_t record = 0; record < size; ++record) batch.push_back(make_random_append(tag++, Epoch{1}, random, 400));
    batches.push_back(std::move(batch));
  }
  return batches;
}

// Appends `batches` with sync number `fail_at` failing (the moment the power goes); returns
// what was durable then. Records of every attempted batch go to `attempted`.
AtCrash run_until_power_loss(MemEnv& env, const std::vector<std::vector<WalAppend>>& batches, std::uint64_t fail_at,
                             std::vector<Expected>& attempted) {
  std::uint64_t syncs = 0;
  env.set_sync_hook([&](const std::string&) { return syncs++ == fail_at ? Status(unavailable("power lost")) : ok_status(); });
  AtCrash at_crash;
  auto wal = Wal::open(env, kDir, small_options());
  if (wal.ok()) {
    for (const auto& batch : batches) {
      for (const auto& append : batch) attempted.push_back({WalRecordType::kMessage, append});
      if (!(*wal)->append(batch).ok()) break;
    }
    at_crash = {(*wal)->durable_lsn(), (*wal)->segments()};
  }
  env.set_sync_hook({});
  return at_crash;
}

TEST(WalCrash, CrashAtEverySyncBoundaryKeepsEveryDurableRecord) {
  int runs = 0, false_alarms = 0;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const auto batches = make_batches(seed, 25);
    MemEnv dry_run;
    std::vector<Expected> ignored;
    (void)run_until_power_loss(dry_run, batches, UINT64_MAX, ignored);
    const std::uint64_t total_syncs = dry_run.sync_count();
    ASSERT_GT(total_syncs, 25u);
    for (std::uint64_t fail_at = 0; fail_at <= total_syncs; ++fail_at) {
      for (const CrashMode mode : kModes) {
        SCOPED_TRACE("seed " + std::to_string(seed) + " sync " + std::to_string(fail_at) + " mode " +
                     std::to_string(static_cast<int>(mode)));
        MemEnv env;
        std::vector<Expected> attempted;
        const AtCrash at_crash = run_until_power_loss(env, batches, fail_at, attempted);
        Random random(seed * 1000 + fail_at);
        env.crash(mode, random);
        std::uint64_t present = 0;
        auto wal = recover_and_check(env, attempted, at_crash, mode, &present);
        ++runs;
        if (wal == nullptr) {
          ++false_alarms;
          continue;
        }
        // The recovered log takes new appends right after what survived.
        auto appended = wal->append(batches.front());
        ASSERT_TRUE(appended.ok()) << appended.error().to_string();
        EXPECT_EQ(*appended, Lsn{present + batches.front().size()});
      }
    }
  }
  EXPECT_LT(false_alarms * 20, runs) << "false alarms should be rare: only whole-but-flipped writes";
}

// The property test's world: a log, its model, and the seed's randomness.
class RandomWalk {
 public:
  explicit RandomWalk(std::uint64_t seed) : random_(seed) {}

  // Returns false when the walk must end (an allowed false alarm left the log halted).
  bool step() {
    const std::uint64_t choice = random_.uniform(100);
    if (wal_ == nullptr) return reopen(CrashMode::kDropUnsynced, /*crash=*/false);
    if (choice < 50) append_batch();
    else if (choice < 60) arm_sync_failure();
    else if (choice < 75) return reopen(kModes[random_.uniform(3)], /*crash=*/true);
    else if (choice < 85) retain();
    else if (choice < 90) seal_and_move_epoch();
    else read_from_random_lsn();
    return !::testing::Test::HasFatalFailure();
  }

 private:
  void append_batch() {
    if (wal_->poisoned()) return;
    std::vector<WalAppend> batch;
    const std::uint64_t size = random_.between(1, 6);
    for (std::uint64_t index = 0; index < size; ++index) {
      batch.push_back(make_random_append(next_tag_++, epoch_, random_, 400));
      attempted_.push_back({WalRecordType::kMessage, batch.back()});
    }
    auto appended = wal_->append(batch);
    if (appended.ok()) EXPECT_EQ(*appended, Lsn{attempted_.size()});
    else EXPECT_TRUE(wal_->poisoned()) << appended.error().to_string();
  }

  void arm_sync_failure() {
    const std::uint64_t fail_at = env_.sync_count() + random_.uniform(3);
    env_.set_sync_hook([this, fail_at](const std::string&) {
      return env_.sync_count() - 1 == fail_at ? Status(data_loss("injected EIO")) : ok_status();
    });
  }

  bool reopen(CrashMode mode, bool crash) {
    AtCrash at_crash;
    if (wal_ != nullptr) at_crash = {wal_->durable_lsn(), wal_->segments()};
    wal_.reset();
    env_.set_sync_hook({});
    if (crash) env_.crash(mode, random_);
    std::uint64_t present = 0;
    wal_ = recover_and_check(env_, attempted_, at_crash, mode, &present);
    if (wal_ == nullptr) return false;
    attempted_.resize(present);
    return true;
  }

  void retain() {
    if (wal_->poisoned()) return;
    const Lsn checkpoint{random_.between(wal_->first_lsn().value, wal_->durable_lsn().value + 1)};
    if (!wal_->retain_from(checkpoint).ok()) {
      EXPECT_TRUE(wal_->poisoned());
      return;
    }
    EXPECT_LE(wal_->first_lsn(), checkpoint);
  }

  void seal_and_move_epoch() {
    if (wal_->poisoned()) return;
    WalAppend seal;
    seal.epoch = epoch_;
    attempted_.push_back({WalRecordType::kSeal, seal});
    if (!wal_->seal(epoch_).ok()) {
      EXPECT_TRUE(wal_->poisoned());
      return;
    }
    EXPECT_EQ(wal_->append(std::vector{make_random_append(next_tag_, epoch_, random_, 10)}).code(), ErrorCode::kAborted);
    epoch_ = Epoch{epoch_.value + 1};
  }

  void read_from_random_lsn() {
    const Lsn from{random_.between(wal_->first_lsn().value, wal_->durable_lsn().value + 1)};
    auto reader = wal_->read_from(from);
    ASSERT_TRUE(reader.ok());
    std::uint64_t lsn = from.value;
    for (auto next = reader->next(); next.ok() && next->has_value(); next = reader->next(), ++lsn) {
      ASSERT_LE(lsn, attempted_.size());
      EXPECT_TRUE(matches(**next, attempted_[lsn - 1])) << "LSN " << lsn;
    }
    EXPECT_EQ(lsn, wal_->durable_lsn().value + 1);
  }

  MemEnv env_;
  Random random_;
  std::unique_ptr<Wal> wal_;
  std::vector<Expected> attempted_;  // index i holds LSN i + 1
  Epoch epoch_{1};
  std::uint64_t next_tag_ = 1;
};

TEST(WalCrash, RandomAppendCrashRecoverRetentionSequences) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomWalk walk(seed);
    for (int step = 0; step < 150 && walk.step(); ++step) {
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace hadr
