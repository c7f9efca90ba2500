// Proves what the directory blob store adds to the BlobStore contract, on the real file system
// and on MemEnv (which drops, tears or flips whatever was not synced when it "crashes"):
//   - keys map to files and back so that "a" and "a/b" coexist and 1024-byte keys fit NAME_MAX;
//   - a put or put_if_absent that returned ok survives a crash; a crash at any sync boundary of
//     a put leaves the old object or the new one, never a mix, never a torn object;
//   - a remove that returned ok survives a crash;
//   - temp files of dead writer processes are removed at open, live ones are left alone;
//   - Env::link_file (the no-replace step of put_if_absent) never replaces an existing name.
#include "embedded/directory_blob_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "contracts/tests/conformance_support.h"
#include "core/mem_env.h"
#include "core/random.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::testing {
namespace {

std::unique_ptr<DirectoryBlobStore> open_store(Env& env, const std::string& root) {
  auto store = DirectoryBlobStore::open(env, root);
  EXPECT_TRUE(succeeded(store));
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(DirectoryBlobStoreLayoutTest, KeysMapToFilesBelowObjects) {
  MemEnv env;
  auto store = open_store(env, "/blobs");
  EXPECT_EQ(store->object_path("a"), "/blobs/objects/a~");
  EXPECT_EQ(store->object_path("a/b"), "/blobs/objects/a/b~");
  EXPECT_EQ(store->object_path("a/"), "/blobs/objects/a/~");
}

TEST(DirectoryBlobStoreLayoutTest, LongSegmentsAreCutBelowNameMax) {
  MemEnv env;
  auto store = open_store(env, "/blobs");
  const std::string key(1024, 'k');
  const std::string path = store->object_path(key);
  std::size_t start = std::string("/blobs/objects/").size();
  while (start < path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    EXPECT_LE(end - start, DirectoryBlobStore::kMaxPieceBytes) << path.substr(start, end - start);
    start = end + 1;
  }
  ASSERT_TRUE(succeeded(store->put(key, "long")));
  auto page = store->list("", "", 10);
  ASSERT_TRUE(succeeded(page));
  EXPECT_EQ(page->keys, std::vector<std::string>{key}) << "the layout must decode back to the key";
}

// ---- crashes (MemEnv) ----

class DirectoryBlobStoreCrashTest : public ::testing::Test {
 protected:
  // Simulates a power loss, then reopens the store as a restarted process would.
  void crash_and_reopen(CrashMode mode) {
    store_.reset();
    Random random(seed_++);
    env_.crash(mode, random);
    store_ = open_store(env_, "/blobs");
    ASSERT_NE(store_, nullptr);
  }

  MemEnv env_;
  std::unique_ptr<DirectoryBlobStore> store_ = open_store(env_, "/blobs");
  std::uint64_t seed_ = 1;
};

TEST_F(DirectoryBlobStoreCrashTest, PutSurvivesCrash) {
  ASSERT_TRUE(succeeded(store_->put("wal/a/00000001", "segment one")));
  crash_and_reopen(CrashMode::kDropUnsynced);
  auto data = store_->get("wal/a/00000001");
  ASSERT_TRUE(succeeded(data));
  EXPECT_EQ(*data, "segment one");
}

TEST_F(DirectoryBlobStoreCrashTest, PutIfAbsentSurvivesCrash) {
  auto written = store_->put_if_absent("wal/a/00000001", "segment one");
  ASSERT_TRUE(succeeded(written));
  ASSERT_TRUE(*written);
  crash_and_reopen(CrashMode::kTearUnsynced);
  auto data = store_->get("wal/a/00000001");
  ASSERT_TRUE(succeeded(data));
  EXPECT_EQ(*data, "segment one");
}

TEST_F(DirectoryBlobStoreCrashTest, RemoveSurvivesCrash) {
  ASSERT_TRUE(succeeded(store_->put("checkpoint/a", "lsn 10")));
  ASSERT_TRUE(succeeded(store_->remove("checkpoint/a")));
  crash_and_reopen(CrashMode::kDropUnsynced);
  EXPECT_TRUE(failed_with(store_->get("checkpoint/a"), ErrorCode::kNotFound));
}

// A put that fails at sync number `failing_sync` (an injected EIO), followed by a power loss,
// must leave the old object or the new one, whole.
void expect_old_or_new_after_crash_at_sync(int failing_sync, CrashMode mode) {
  MemEnv env;
  const std::string old_data(5000, 'o');
  const std::string new_data(7000, 'n');
  auto store = open_store(env, "/blobs");
  ASSERT_TRUE(succeeded(store->put("checkpoint/a", old_data)));
  int syncs = 0;
  env.set_sync_hook([&](const std::string& path) -> Status {
    if (++syncs == failing_sync) return data_loss("injected fsync failure on " + path);
    return ok_status();
  });
  const Status put = store->put("checkpoint/a", new_data);
  env.set_sync_hook({});
  store.reset();
  Random random(static_cast<std::uint64_t>(failing_sync));
  env.crash(mode, random);
  store = open_store(env, "/blobs");
  auto data = store->get("checkpoint/a");
  ASSERT_TRUE(succeeded(data)) << "sync " << failing_sync;
  EXPECT_TRUE(*data == old_data || *data == new_data) << "sync " << failing_sync << ": " << data->size() << " bytes";
  if (put.ok()) {
    EXPECT_EQ(*data, new_data) << "an acknowledged put was lost at sync " << failing_sync;
  }
}

TEST(DirectoryBlobStoreCrashAtSyncTest, PutLeavesOldOrNewAtEverySyncBoundary) {
  for (int failing_sync = 1; failing_sync <= 4; ++failing_sync) {
    for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced, CrashMode::kCorruptUnsynced}) {
      expect_old_or_new_after_crash_at_sync(failing_sync, mode);
    }
  }
}

TEST(DirectoryBlobStoreCrashAtSyncTest, FailedSyncIsReportedNotSwallowed) {
  MemEnv env;
  auto store = open_store(env, "/blobs");
  env.set_sync_hook([](const std::string&) -> Status { return data_loss("injected fsync failure"); });
  EXPECT_TRUE(failed_with(store->put("k", "v"), ErrorCode::kDataLoss));
  EXPECT_TRUE(failed_with(store->put_if_absent("k2", "v"), ErrorCode::kDataLoss));
}

// ---- temp files ----

TEST(DirectoryBlobStoreTempTest, TempFilesOfDeadWritersAreRemovedAtOpen) {
  const std::string root = make_temporary_directory();
  {
    auto store = open_store(posix_env(), root);
    ASSERT_NE(store, nullptr);
  }
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // reaped: this pid now names no process
  const std::string dead = root + "/tmp/" + std::to_string(child) + ".0.tmp";
  const std::string live = root + "/tmp/" + std::to_string(::getpid()) + ".999999.tmp";
  std::ofstream(dead) << "left by a crash";
  std::ofstream(live) << "being written";
  auto store = open_store(posix_env(), root);
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
  std::filesystem::remove_all(root);
}

// ---- Env::link_file ----

void expect_link_never_replaces(Env& env, const std::string& dir) {
  ASSERT_TRUE(succeeded(env.create_dirs(dir)));
  ASSERT_TRUE(succeeded(write_file_atomically(env, dir + "/first", "first")));
  ASSERT_TRUE(succeeded(write_file_atomically(env, dir + "/second", "second")));
  ASSERT_TRUE(succeeded(env.link_file(dir + "/first", dir + "/linked")));
  EXPECT_TRUE(failed_with(env.link_file(dir + "/second", dir + "/linked"), ErrorCode::kAlreadyExists));
  auto data = read_file_to_string(env, dir + "/linked", 100);
  ASSERT_TRUE(succeeded(data));
  EXPECT_EQ(*data, "first");
  EXPECT_TRUE(failed_with(env.link_file(dir + "/missing", dir + "/other"), ErrorCode::kNotFound));
}

TEST(EnvLinkFileTest, PosixLinkNeverReplaces) {
  const std::string dir = make_temporary_directory();
  expect_link_never_replaces(posix_env(), dir);
  std::filesystem::remove_all(dir);
}

TEST(EnvLinkFileTest, MemEnvLinkNeverReplaces) {
  MemEnv env;
  expect_link_never_replaces(env, "/dir");
}

TEST(EnvLinkFileTest, MemEnvLinkIsDurableOnlyAfterDirectorySync) {
  MemEnv env;
  ASSERT_TRUE(succeeded(env.create_dirs("/dir")));
  ASSERT_TRUE(succeeded(write_file_atomically(env, "/dir/first", "first")));
  ASSERT_TRUE(succeeded(env.link_file("/dir/first", "/dir/unsynced")));
  Random random(7);
  env.crash(CrashMode::kDropUnsynced, random);
  EXPECT_FALSE(env.file_exists("/dir/unsynced"));
  ASSERT_TRUE(succeeded(env.link_file("/dir/first", "/dir/synced")));
  ASSERT_TRUE(succeeded(env.sync_dir("/dir")));
  env.crash(CrashMode::kDropUnsynced, random);
  auto data = read_file_to_string(env, "/dir/synced", 100);
  ASSERT_TRUE(succeeded(data));
  EXPECT_EQ(*data, "first");
}

}  // namespace
}  // namespace hadr::testing
