// Instantiates the EffectLedger conformance suite (effect_ledger_conformance.cc) for the
// embedded store: SqliteEffectLedger over a SqliteDedupeStore in a fresh temporary directory,
// read back by LedgerReader. Time passes on a ManualClock; a duplicate is a second row inserted
// with plain SQL behind the store's back.
#include <gtest/gtest.h>

#include <filesystem>

#include "contracts/tests/effect_ledger_conformance.h"
#include "embedded/sqlite_dedupe_store.h"
#include "embedded/sqlite_ledger.h"
#include "embedded/tests/embedded_backend_factory.h"

namespace hadr::ledger_conformance {
namespace {

class SqliteLedgerFactory final : public EffectLedgerFactory {
 public:
  SqliteLedgerFactory() : directory_(hadr::testing::make_temporary_directory()), path_(directory_ + "/dedupe.db") {
    // No fsync per commit: the suite applies thousands of effects, and durability is not its subject.
    auto store = SqliteDedupeStore::open(path_, clock_, SqliteOptions{.durable_commits = false});
    HADR_ASSERT_MSG(store.ok(), "%s", store.error().to_string().c_str());
    store_ = std::move(store).value();
    ledger_ = std::make_unique<SqliteEffectLedger>(*store_);
  }

  DedupeStore& dedupe() override { return *store_; }
  EffectLedger& ledger() override { return *ledger_; }
  std::unique_ptr<EffectLedgerReader> open_reader() override {
    auto reader = LedgerReader::open(path_);
    HADR_ASSERT_MSG(reader.ok(), "%s", reader.error().to_string().c_str());
    return std::move(reader).value();
  }
  void append_duplicate(const LedgerEntry& entry) override {
    auto connection = SqliteConnection::open(path_, SqliteOptions{}).value();
    auto insert = connection
                      ->query("INSERT INTO ledger (message_id, region, epoch, source_region, lsn, body_bytes, "
                              "body_xxh3_64, applied_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                      .value();
    insert.bind_text(1, entry.message_id.str())
        .bind_text(2, entry.region.str())
        .bind(3, static_cast<std::int64_t>(entry.epoch.value))
        .bind_text(4, entry.source_region.str())
        .bind(5, static_cast<std::int64_t>(entry.lsn.value))
        .bind(6, static_cast<std::int64_t>(entry.body_bytes))
        .bind(7, static_cast<std::int64_t>(entry.body_xxh3_64))
        .bind(8, entry.applied_at_ms);
    HADR_ASSERT(insert.run().ok());
  }
  void advance(Milliseconds duration) override { clock_.advance(duration); }
  const Clock& handler_clock() override { return clock_; }
  ~SqliteLedgerFactory() override {
    ledger_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

 private:
  const std::string directory_;  // removed with the factory
  const std::string path_;
  ManualClock clock_;
  std::unique_ptr<SqliteDedupeStore> store_;
  std::unique_ptr<SqliteEffectLedger> ledger_;
};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Sqlite, EffectLedgerConformance,
                         ::testing::Values(EffectLedgerParam{"Sqlite",
                                                             [] { return std::make_unique<SqliteLedgerFactory>(); }}),
                         effect_ledger_param_name);

}  // namespace hadr::ledger_conformance
