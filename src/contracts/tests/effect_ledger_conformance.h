// The EffectLedger conformance suite's fixture and factory. The tests (TEST_P) live in
// effect_ledger_conformance.cc, compiled into the OBJECT library hadr_ledger_conformance; each
// store's test binary links it and instantiates the suite with its factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, EffectLedgerConformance,
//                            ::testing::Values(EffectLedgerParam{"Sqlite", [] { return ...; }}),
//                            effect_ledger_param_name);
//
// inside namespace hadr::ledger_conformance. Each test builds a fresh factory: an empty store.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "contracts/dedupe_store.h"
#include "contracts/effect_ledger.h"

namespace hadr::ledger_conformance {

class EffectLedgerFactory {
 public:
  virtual ~EffectLedgerFactory() = default;

  // The dedupe store whose claims the ledger checks, and the ledger (the same store's).
  virtual DedupeStore& dedupe() = 0;
  virtual EffectLedger& ledger() = 0;
  virtual std::unique_ptr<EffectLedgerReader> open_reader() = 0;
  // Appends `entry` once more behind the ledger's back, as a broken handler would: the readers
  // must show the duplicate.
  virtual void append_duplicate(const LedgerEntry& entry) = 0;
  // Lets `duration` of store time pass: moves a ManualClock, or sleeps for a real server.
  virtual void advance(Milliseconds duration) = 0;
  // The clock a LedgerHandler made in the test reads applied_at_ms from.
  virtual const Clock& handler_clock() = 0;
};

struct EffectLedgerParam {
  std::string name;
  std::function<std::unique_ptr<EffectLedgerFactory>()> make;
};

inline std::string effect_ledger_param_name(const ::testing::TestParamInfo<EffectLedgerParam>& info) {
  return info.param.name;
}
inline void PrintTo(const EffectLedgerParam& param, std::ostream* out) { *out << param.name; }

class EffectLedgerConformance : public ::testing::TestWithParam<EffectLedgerParam> {
 protected:
  void SetUp() override { factory_ = GetParam().make(); }

  std::string claim(std::string_view id, Milliseconds ttl = Milliseconds(60'000));
  LedgerEntry entry_of(std::string_view id, std::string_view region = "b", std::int64_t applied_at_ms = 1'000);
  // Claims `id` and applies its effect (asserting success).
  void apply(std::string_view id, std::string_view region = "b", std::int64_t applied_at_ms = 1'000);
  std::unique_ptr<EffectLedgerReader> reader();
  std::uint64_t effects_of(std::string_view id);
  RecordState state_of(std::string_view id);

  std::unique_ptr<EffectLedgerFactory> factory_;
};

}  // namespace hadr::ledger_conformance
