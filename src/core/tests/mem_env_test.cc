// Proves MemEnv's crash model, which every crash test and the simulator rely on:
// synced bytes survive, unsynced bytes are dropped / torn / bit-flipped per mode, names
// survive only after sync_dir, handles die with the crash, and the sync hook can fail fsync.
#include "core/mem_env.h"

#include <gtest/gtest.h>

namespace hadr {
namespace {

class MemEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.create_dirs("/db").ok()); }

  std::unique_ptr<WritableFile> create(const std::string& path) {
    auto file = env_.new_writable_file(path);
    EXPECT_TRUE(file.ok());
    return std::move(file).value();
  }

  MemEnv env_;
  Random random_{1};
};

TEST_F(MemEnvTest, SyncedBytesAndSyncedNamesSurviveCrash) {
  auto file = create("/db/log");
  ASSERT_TRUE(file->append("durable").ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(env_.sync_dir("/db").ok());
  ASSERT_TRUE(file->append("-lost").ok());
  env_.crash(CrashMode::kDropUnsynced, random_);
  EXPECT_EQ(*env_.contents("/db/log"), "durable");
}

TEST_F(MemEnvTest, UnsyncedNameVanishes) {
  auto file = create("/db/new");
  ASSERT_TRUE(file->append("x").ok());
  ASSERT_TRUE(file->sync().ok());  // data synced, but the directory entry is not
  env_.crash(CrashMode::kDropUnsynced, random_);
  EXPECT_FALSE(env_.file_exists("/db/new"));
}

TEST_F(MemEnvTest, RenameIsDurableOnlyAfterDirSync) {
  auto file = create("/db/a");
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(env_.sync_dir("/db").ok());
  ASSERT_TRUE(env_.rename_file("/db/a", "/db/b").ok());
  EXPECT_TRUE(env_.file_exists("/db/b"));
  env_.crash(CrashMode::kDropUnsynced, random_);
  EXPECT_TRUE(env_.file_exists("/db/a"));
  EXPECT_FALSE(env_.file_exists("/db/b"));
}

TEST_F(MemEnvTest, TearKeepsAPrefixOfUnsyncedBytes) {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    MemEnv env;
    Random random(seed);
    ASSERT_TRUE(env.create_dirs("/db").ok());
    auto file = env.new_writable_file("/db/log");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->append("0123").ok());
    ASSERT_TRUE((*file)->sync().ok());
    ASSERT_TRUE(env.sync_dir("/db").ok());
    ASSERT_TRUE((*file)->append("456789").ok());
    env.crash(CrashMode::kTearUnsynced, random);
    const std::string after = *env.contents("/db/log");
    ASSERT_GE(after.size(), 4u);
    ASSERT_EQ(after, std::string("0123456789").substr(0, after.size()));
  }
}

TEST_F(MemEnvTest, CorruptFlipsOnlyUnsyncedBytes) {
  int flipped_runs = 0;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    MemEnv env;
    Random random(seed);
    ASSERT_TRUE(env.create_dirs("/db").ok());
    auto file = std::move(env.new_writable_file("/db/log")).value();
    ASSERT_TRUE(file->append("SYNCED").ok());
    ASSERT_TRUE(file->sync().ok());
    ASSERT_TRUE(env.sync_dir("/db").ok());
    ASSERT_TRUE(file->append("unsynced-bytes").ok());
    env.crash(CrashMode::kCorruptUnsynced, random);
    const std::string after = *env.contents("/db/log");
    ASSERT_EQ(after.substr(0, 6), "SYNCED");
    if (after.size() > 6 && after.substr(6) != std::string("unsynced-bytes").substr(0, after.size() - 6)) {
      ++flipped_runs;
    }
  }
  EXPECT_GT(flipped_runs, 0);
}

TEST_F(MemEnvTest, HandlesFromBeforeCrashFail) {
  auto file = create("/db/log");
  env_.crash(CrashMode::kDropUnsynced, random_);
  EXPECT_EQ(file->append("x").code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(file->sync().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(MemEnvTest, SyncHookFailsSyncAndNothingBecomesDurable) {
  auto file = create("/db/log");
  ASSERT_TRUE(env_.sync_dir("/db").ok());
  env_.set_sync_hook([](const std::string& path) -> Status { return data_loss("injected EIO on " + path); });
  ASSERT_TRUE(file->append("data").ok());
  Status status = file->sync();
  EXPECT_EQ(status.code(), ErrorCode::kDataLoss);
  env_.set_sync_hook(nullptr);
  env_.crash(CrashMode::kDropUnsynced, random_);
  EXPECT_EQ(*env_.contents("/db/log"), "");
}

TEST_F(MemEnvTest, TruncateIsDurable) {
  auto file = create("/db/log");
  ASSERT_TRUE(file->append("0123456789").ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(env_.sync_dir("/db").ok());
  ASSERT_TRUE(env_.truncate_file("/db/log", 4).ok());
  env_.crash(CrashMode::kTearUnsynced, random_);
  EXPECT_EQ(*env_.contents("/db/log"), "0123");
}

TEST_F(MemEnvTest, LockIsExclusiveAndReleasedByCrash) {
  auto lock = env_.lock_file("/db/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(env_.lock_file("/db/LOCK").code(), ErrorCode::kFailedPrecondition);
  env_.crash(CrashMode::kDropUnsynced, random_);
  EXPECT_TRUE(env_.lock_file("/db/LOCK").ok());
}

TEST_F(MemEnvTest, AtomicWriteLeavesOldOrNew) {
  ASSERT_TRUE(write_file_atomically(env_, "/db/CHECKPOINT", "old").ok());
  // Crash at every sync point of the second write: the file holds "old" or "new", never a mix.
  for (int crash_at = 0; crash_at < 3; ++crash_at) {
    MemEnv env;
    ASSERT_TRUE(env.create_dirs("/db").ok());
    ASSERT_TRUE(write_file_atomically(env, "/db/CHECKPOINT", "old").ok());
    int syncs = 0;
    env.set_sync_hook([&](const std::string&) -> Status {
      return syncs++ == crash_at ? unavailable("power loss") : ok_status();
    });
    (void)write_file_atomically(env, "/db/CHECKPOINT", "new");
    env.set_sync_hook(nullptr);
    Random random(static_cast<std::uint64_t>(crash_at));
    env.crash(CrashMode::kTearUnsynced, random);
    const std::string after = *env.contents("/db/CHECKPOINT");
    EXPECT_TRUE(after == "old" || after == "new") << after;
  }
}

TEST_F(MemEnvTest, ListDirIsSorted) {
  create("/db/b");
  create("/db/a");
  ASSERT_TRUE(env_.create_dirs("/db/sub").ok());
  auto names = env_.list_dir("/db");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "sub"}));
}

}  // namespace
}  // namespace hadr
