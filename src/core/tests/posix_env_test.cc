// Proves the POSIX Env against a real temporary directory: append/sync/read round trips,
// atomic replace, durable truncate, exclusive locks, and errors that name the path.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/env.h"

namespace hadr {
namespace {

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hadr-env-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  Env& env_ = posix_env();
  std::string dir_;
};

TEST_F(PosixEnvTest, AppendSyncRead) {
  const std::string path = join_path(dir_, "log");
  auto file = env_.new_writable_file(path);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->append("hello ").ok());
  ASSERT_TRUE((*file)->append("world").ok());
  ASSERT_TRUE((*file)->sync().ok());
  EXPECT_EQ((*file)->size(), 11u);
  ASSERT_TRUE((*file)->close().ok());
  EXPECT_EQ(*read_file_to_string(env_, path, 100), "hello world");
  auto appendable = env_.new_appendable_file(path);
  ASSERT_TRUE(appendable.ok());
  EXPECT_EQ((*appendable)->size(), 11u);
}

TEST_F(PosixEnvTest, ReadLimitIsEnforced) {
  const std::string path = join_path(dir_, "big");
  ASSERT_TRUE(write_file_atomically(env_, path, std::string(100, 'x')).ok());
  EXPECT_EQ(read_file_to_string(env_, path, 99).code(), ErrorCode::kResourceExhausted);
}

TEST_F(PosixEnvTest, AtomicReplaceAndTruncate) {
  const std::string path = join_path(dir_, "checkpoint");
  ASSERT_TRUE(write_file_atomically(env_, path, "first").ok());
  ASSERT_TRUE(write_file_atomically(env_, path, "second").ok());
  EXPECT_EQ(*read_file_to_string(env_, path, 100), "second");
  EXPECT_FALSE(env_.file_exists(path + ".tmp"));
  ASSERT_TRUE(env_.truncate_file(path, 3).ok());
  EXPECT_EQ(*env_.file_size(path), 3u);
}

TEST_F(PosixEnvTest, MissingFileIsNotFoundAndNamesThePath) {
  auto file = env_.new_random_access_file(join_path(dir_, "absent"));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.code(), ErrorCode::kNotFound);
  EXPECT_NE(file.error().detail.find("absent"), std::string::npos);
}

TEST_F(PosixEnvTest, LockIsExclusive) {
  const std::string path = join_path(dir_, "LOCK");
  auto first = env_.lock_file(path);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(env_.lock_file(path).code(), ErrorCode::kFailedPrecondition);
  first.value().reset();
  EXPECT_TRUE(env_.lock_file(path).ok());
}

TEST_F(PosixEnvTest, CreateDirsAndList) {
  const std::string nested = join_path(dir_, "a/b/c");
  ASSERT_TRUE(env_.create_dirs(nested).ok());
  ASSERT_TRUE(env_.sync_dir(nested).ok());
  auto names = env_.list_dir(join_path(dir_, "a"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace hadr
