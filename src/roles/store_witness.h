// Store witness: what the blob store remembers about the shared store (the lease, Coord and the
// dedupe store: one Redis in production), so that a rollback or a wipe of that store is seen
// instead of silently believed (issue 12, holes 3 and 12).
//
// The lease store's epoch counter, the coord records and the dedupe store's highest claim epoch
// all live in the same store and go back together when it is restored from an old snapshot or
// restarts empty: checking a granted epoch against them alone proves nothing. The blob store is
// another system (Azure Storage; a directory when embedded) that such an event does not reach:
//   - "witness/epoch/<region>": the highest epoch this region ever opened its fence under. The
//     watchdog raises it *before* it confirms a grant, so every epoch that wrote anything is in
//     it; a later grant at or below the maximum over both regions is an epoch regression.
//   - "witness/store": the shared store's incarnation, also kept in Coord "store/incarnation".
//     Written once, when both are absent (a new deployment). Coord without the record while the
//     witness has it means the store lost its state: done marks, floors and the ledger may be
//     gone, so hadr fails closed (the watchdog halts with "store_state_lost") until an operator
//     recovers the store (docs/failover.md, "A store that lost its state").
// Values are short decimal / printable text; a damaged object is kDataLoss naming its key.
// Thread-safety: free functions.
#pragma once

#include <optional>
#include <string>

#include "contracts/blob_store.h"
#include "contracts/coord.h"
#include "core/ids.h"
#include "core/result.h"

namespace hadr {

inline constexpr std::string_view kStoreIncarnationCoordKey = "store/incarnation";
inline constexpr std::string_view kStoreWitnessKey = "witness/store";

std::string epoch_witness_key(const RegionId& region);
// Epoch{0} when absent.
Result<Epoch> read_epoch_witness(BlobStore& blobs, const RegionId& region);
// Never lowers it (read first; one writer per region: its watchdog).
Status raise_epoch_witness(BlobStore& blobs, const RegionId& region, Epoch epoch);

enum class StoreIdentity {
  kSame,      // Coord and the witness name the same incarnation
  kCreated,   // neither had one: a new deployment; both are written now
  kAdopted,   // Coord had one, the witness did not (the blob store is new): the witness is written
  kLost,      // the witness has one, Coord has none or another: the shared store lost its state
};
struct StoreIdentityCheck {
  StoreIdentity identity = StoreIdentity::kSame;
  std::string coord_incarnation;    // empty when absent
  std::string witness_incarnation;  // empty when absent
};

// Compares Coord "store/incarnation" with the witness and writes what is missing (see above).
// `new_incarnation` is the value used when both are absent (the caller makes it unique, e.g.
// "<region>@<epoch>@<wall ms>"). Coord is written with kVersionEquals 0 (create only).
Result<StoreIdentityCheck> check_store_identity(Coord& coord, BlobStore& blobs, const std::string& new_incarnation);

}  // namespace hadr
