// Proves the SQLite wrapper every embedded store shares: open() puts the database in WAL mode
// with the requested synchronous level; transactions commit or roll back whole; a query
// resets when it goes out of scope; and each kind of failure maps to the error code by which
// the caller reacts — a busy writer kUnavailable, a corrupt or foreign file kDataLoss naming
// the file, a missing directory kFailedPrecondition.
#include "embedded/sqlite_connection.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "contracts/tests/conformance_support.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::testing {
namespace {

class SqliteConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { directory_ = make_temporary_directory(); }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::unique_ptr<SqliteConnection> open(const std::string& name, const SqliteOptions& options = {}) {
    auto connection = SqliteConnection::open(directory_ + "/" + name, options);
    EXPECT_TRUE(succeeded(connection));
    return connection.ok() ? std::move(connection).value() : nullptr;
  }

  static std::string text_of(SqliteConnection& connection, std::string_view sql) {
    auto query = connection.query(sql);
    EXPECT_TRUE(succeeded(query));
    if (!query.ok()) return {};
    auto has_row = query->next_row();
    EXPECT_TRUE(succeeded(has_row));
    return has_row.ok() && *has_row ? query->column_text(0) : std::string();
  }

  static std::int64_t count_rows(SqliteConnection& connection) {
    auto query = connection.query("SELECT COUNT(*) FROM items");
    EXPECT_TRUE(succeeded(query));
    if (!query.ok()) return -1;
    auto has_row = query->next_row();
    EXPECT_TRUE(succeeded(has_row));
    return query->column_int64(0);
  }

  std::string directory_;
};

TEST_F(SqliteConnectionTest, OpenSetsWalJournalAndFullSynchronous) {
  auto connection = open("a.db");
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(text_of(*connection, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(text_of(*connection, "PRAGMA synchronous"), "2");  // FULL
}

TEST_F(SqliteConnectionTest, NonDurableCommitsUseNormalSynchronous) {
  auto connection = open("a.db", SqliteOptions{std::chrono::milliseconds(100), false});
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(text_of(*connection, "PRAGMA synchronous"), "1");  // NORMAL
}

TEST_F(SqliteConnectionTest, TransactionCommitsWhenBodySucceeds) {
  auto connection = open("a.db");
  ASSERT_TRUE(succeeded(connection->execute("CREATE TABLE items (value TEXT)")));
  ASSERT_TRUE(succeeded(connection->transaction(SqliteConnection::TransactionMode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(auto insert, connection->query("INSERT INTO items (value) VALUES (?)"));
    insert.bind_text(1, "kept");
    return insert.run();
  })));
  EXPECT_FALSE(connection->in_transaction());
  auto other = open("a.db");
  EXPECT_EQ(count_rows(*other), 1);
}

TEST_F(SqliteConnectionTest, TransactionRollsBackWhenBodyFails) {
  auto connection = open("a.db");
  ASSERT_TRUE(succeeded(connection->execute("CREATE TABLE items (value TEXT)")));
  const Status status = connection->transaction(SqliteConnection::TransactionMode::kWrite, [&]() -> Status {
    HADR_ASSIGN_OR_RETURN(auto insert, connection->query("INSERT INTO items (value) VALUES (?)"));
    insert.bind_text(1, "discarded");
    HADR_TRY(insert.run());
    return aborted("the body changed its mind");
  });
  ASSERT_TRUE(failed_with(status, ErrorCode::kAborted));
  EXPECT_EQ(status.error().detail, "the body changed its mind");
  EXPECT_FALSE(connection->in_transaction());
  EXPECT_EQ(count_rows(*connection), 0);
}

TEST_F(SqliteConnectionTest, QueryCanBeReusedAfterItWentOutOfScopeMidway) {
  auto connection = open("a.db");
  ASSERT_TRUE(succeeded(connection->execute("CREATE TABLE items (value TEXT); INSERT INTO items VALUES ('a'), ('b')")));
  for (int use = 0; use < 3; ++use) {
    auto query = connection->query("SELECT value FROM items ORDER BY value");
    ASSERT_TRUE(succeeded(query));
    auto has_row = query->next_row();  // stop after the first row: the destructor must reset
    ASSERT_TRUE(succeeded(has_row));
    EXPECT_EQ(query->column_text(0), "a");
  }
  EXPECT_FALSE(connection->in_transaction());
}

TEST_F(SqliteConnectionTest, EmptyBlobIsStoredAsBlobNotNull) {
  auto connection = open("a.db");
  ASSERT_TRUE(succeeded(connection->execute("CREATE TABLE items (value BLOB)")));
  auto insert = connection->query("INSERT INTO items (value) VALUES (?)");
  ASSERT_TRUE(succeeded(insert));
  insert->bind_blob(1, "");
  ASSERT_TRUE(succeeded(insert->run()));
  EXPECT_EQ(text_of(*connection, "SELECT typeof(value) FROM items"), "blob");
}

TEST_F(SqliteConnectionTest, WriterBlockedPastBusyTimeoutIsUnavailable) {
  auto holder = open("a.db");
  auto waiter = open("a.db", SqliteOptions{std::chrono::milliseconds(1), true});
  ASSERT_TRUE(succeeded(holder->execute("CREATE TABLE items (value TEXT)")));
  Status blocked;
  ASSERT_TRUE(succeeded(holder->transaction(SqliteConnection::TransactionMode::kWrite, [&]() -> Status {
    blocked = waiter->transaction(SqliteConnection::TransactionMode::kWrite, [] { return ok_status(); });
    return ok_status();
  })));
  ASSERT_TRUE(failed_with(blocked, ErrorCode::kUnavailable));
  EXPECT_NE(blocked.error().detail.find("busy timeout"), std::string::npos) << blocked.error().detail;
  EXPECT_FALSE(waiter->in_transaction());
}

TEST_F(SqliteConnectionTest, ReaderIsNotBlockedByWriter) {
  auto writer = open("a.db");
  auto reader = open("a.db", SqliteOptions{std::chrono::milliseconds(1), true});
  ASSERT_TRUE(succeeded(writer->execute("CREATE TABLE items (value TEXT)")));
  std::int64_t rows_seen = -1;
  ASSERT_TRUE(succeeded(writer->transaction(SqliteConnection::TransactionMode::kWrite, [&]() -> Status {
    HADR_TRY(writer->execute("INSERT INTO items VALUES ('uncommitted')"));
    rows_seen = count_rows(*reader);
    return ok_status();
  })));
  EXPECT_EQ(rows_seen, 0) << "WAL readers see the last commit, never block";
}

TEST_F(SqliteConnectionTest, FileThatIsNotADatabaseIsDataLossNamingTheFile) {
  const std::string path = directory_ + "/garbage.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto connection = SqliteConnection::open(path, SqliteOptions{});
  ASSERT_TRUE(failed_with(connection, ErrorCode::kDataLoss));
  EXPECT_NE(connection.error().detail.find(path), std::string::npos) << connection.error().detail;
  EXPECT_NE(connection.error().detail.find("restore"), std::string::npos) << connection.error().detail;
}

TEST_F(SqliteConnectionTest, MissingDirectoryIsFailedPreconditionNamingThePath) {
  const std::string path = directory_ + "/no/such/dir/a.db";
  auto connection = SqliteConnection::open(path, SqliteOptions{});
  ASSERT_TRUE(failed_with(connection, ErrorCode::kFailedPrecondition));
  EXPECT_NE(connection.error().detail.find(path), std::string::npos) << connection.error().detail;
}

TEST_F(SqliteConnectionTest, BadSqlIsInternalErrorNamingTheStatement) {
  auto connection = open("a.db");
  auto query = connection->query("SELECT FROM nowhere");
  ASSERT_TRUE(failed_with(query, ErrorCode::kInternal));
  EXPECT_NE(query.error().detail.find("SELECT FROM nowhere"), std::string::npos) << query.error().detail;
}

}  // namespace
}  // namespace hadr::testing
