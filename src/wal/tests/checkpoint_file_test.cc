// Proves the checkpoint file: it round-trips; a torn, truncated or bit-flipped file is
// reported as kDataLoss naming the file and byte offset; and a crash at every sync of a
// rewrite (with unsynced bytes dropped, torn or corrupted) leaves the old or the new value;
// the incarnation round-trips and version-1 files (no incarnation) are still read.
#include "wal/checkpoint_file.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include "core/mem_env.h"

namespace hadr {
namespace {

const std::string kPath = "/state/checkpoint";
constexpr std::uint64_t kIncarnation = 0x1234abcd5678ef90ull;

class CheckpointFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.create_dirs("/state").ok()); }

  void write_raw(std::string_view bytes) {
    auto file = env_.new_writable_file(kPath);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->append(bytes).ok());
  }

  MemEnv env_;
};

TEST_F(CheckpointFileTest, RoundTrips) {
  ASSERT_TRUE(write_checkpoint_file(env_, kPath, {Lsn{1234}, Epoch{7}, kIncarnation}).ok());
  auto checkpoint = read_checkpoint_file(env_, kPath);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(*checkpoint, (WalCheckpoint{Lsn{1234}, Epoch{7}, kIncarnation}));
}

TEST_F(CheckpointFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(read_checkpoint_file(env_, kPath).code(), ErrorCode::kNotFound);
}

TEST_F(CheckpointFileTest, TornFileIsDataLossAtItsEnd) {
  write_raw(encode_checkpoint({Lsn{5}, Epoch{1}, kIncarnation}).substr(0, 21));
  auto checkpoint = read_checkpoint_file(env_, kPath);
  ASSERT_EQ(checkpoint.code(), ErrorCode::kDataLoss);
  EXPECT_NE(checkpoint.error().detail.find(kPath + " offset 21"), std::string::npos) << checkpoint.error().detail;
}

TEST_F(CheckpointFileTest, EmptyFileIsDataLoss) {
  write_raw("");
  EXPECT_EQ(read_checkpoint_file(env_, kPath).code(), ErrorCode::kDataLoss);
}

TEST_F(CheckpointFileTest, FlippedBitIsDataLoss) {
  std::string bytes = encode_checkpoint({Lsn{5}, Epoch{1}, kIncarnation});
  bytes[17] ^= 0x01;
  write_raw(bytes);
  auto checkpoint = read_checkpoint_file(env_, kPath);
  ASSERT_EQ(checkpoint.code(), ErrorCode::kDataLoss);
  EXPECT_NE(checkpoint.error().detail.find("offset 40"), std::string::npos) << checkpoint.error().detail;
}

TEST_F(CheckpointFileTest, WrongMagicIsDataLoss) {
  std::string bytes = encode_checkpoint({Lsn{5}, Epoch{1}, kIncarnation});
  bytes[0] = 'X';
  write_raw(bytes);
  EXPECT_EQ(read_checkpoint_file(env_, kPath).code(), ErrorCode::kDataLoss);
}

// A version-1 file (40 bytes, no incarnation), as hadr wrote before incarnations existed, is
// still read, with incarnation 0 ("unknown"); its damage is still reported.
TEST_F(CheckpointFileTest, Version1FileIsReadWithUnknownIncarnation) {
  std::string bytes = std::string("HADRCKPT", 8);
  const auto put = [&bytes](auto value) { bytes.append(reinterpret_cast<const char*>(&value), sizeof value); };
  put(std::uint32_t{1});
  put(std::uint32_t{0});
  put(std::uint64_t{533});
  put(std::uint64_t{2});
  put(XXH3_64bits(bytes.data(), bytes.size()));
  write_raw(bytes);
  auto checkpoint = read_checkpoint_file(env_, kPath);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().to_string();
  EXPECT_EQ(*checkpoint, (WalCheckpoint{Lsn{533}, Epoch{2}, 0}));
  bytes[20] ^= 0x01;
  write_raw(bytes);
  EXPECT_EQ(read_checkpoint_file(env_, kPath).code(), ErrorCode::kDataLoss);
}

TEST_F(CheckpointFileTest, CrashAtEverySyncOfARewriteLeavesOldOrNew) {
  const WalCheckpoint old_value{Lsn{100}, Epoch{2}, kIncarnation};
  const WalCheckpoint new_value{Lsn{200}, Epoch{3}, kIncarnation};
  const CrashMode modes[] = {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced, CrashMode::kCorruptUnsynced};
  int saw_old = 0, saw_new = 0;
  for (int crash_at = 0; crash_at < 3; ++crash_at) {  // 2 syncs per rewrite; 2 = after both
    for (std::uint64_t seed = 0; seed < 30; ++seed) {
      MemEnv env;
      ASSERT_TRUE(env.create_dirs("/state").ok());
      ASSERT_TRUE(write_checkpoint_file(env, kPath, old_value).ok());
      int syncs = 0;
      env.set_sync_hook([&](const std::string&) {
        return syncs++ == crash_at ? Status(unavailable("power lost")) : ok_status();
      });
      (void)write_checkpoint_file(env, kPath, new_value);
      Random random(seed);
      env.crash(modes[seed % 3], random);
      auto read = read_checkpoint_file(env, kPath);
      ASSERT_TRUE(read.ok()) << "crash at sync " << crash_at << ": " << read.error().to_string();
      ASSERT_TRUE(*read == old_value || *read == new_value);
      (*read == old_value ? saw_old : saw_new)++;
      if (crash_at < 2) {
        EXPECT_EQ(*read, old_value) << "nothing of the rewrite was durable yet";
      }
    }
  }
  EXPECT_GT(saw_old, 0);
  EXPECT_GT(saw_new, 0);
}

}  // namespace
}  // namespace hadr
