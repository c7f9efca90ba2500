#include "roles/store_witness.h"

#include "roles/settled_floor.h"

namespace hadr {
namespace {

// Bounded, printable: an incarnation is written by hadr and shown in alerts.
constexpr std::size_t kIncarnationBytesMax = 200;

Result<std::optional<std::string>> get_optional(BlobStore& blobs, std::string_view key) {
  Result<std::string> bytes = blobs.get(key);
  if (!bytes.ok()) {
    if (bytes.code() == ErrorCode::kNotFound) return std::optional<std::string>();
    return std::move(bytes).take_error();
  }
  return std::optional<std::string>(std::move(bytes).value());
}

Status check_incarnation_text(std::string_view text, std::string_view where) {
  if (text.empty() || text.size() > kIncarnationBytesMax) {
    return data_loss(std::string(where) + " holds " + std::to_string(text.size()) +
                     " bytes, not a store incarnation (1.." + std::to_string(kIncarnationBytesMax) +
                     " printable bytes written by hadr's watchdog)");
  }
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e) return data_loss(std::string(where) + " holds a non-printable byte: not written by hadr");
  }
  return ok_status();
}

}  // namespace

std::string epoch_witness_key(const RegionId& region) {
  HADR_ASSERT(!region.empty());
  return "witness/epoch/" + region.str();
}

Result<Epoch> read_epoch_witness(BlobStore& blobs, const RegionId& region) {
  HADR_ASSIGN_OR_RETURN(const std::uint64_t epoch,
                        read_decimal_blob(blobs, epoch_witness_key(region),
                                          "it is written only by hadr's watchdog: restore it or write the highest "
                                          "epoch the region used"));
  return Epoch{epoch};
}

Status raise_epoch_witness(BlobStore& blobs, const RegionId& region, Epoch epoch) {
  HADR_ASSIGN_OR_RETURN(const Epoch current, read_epoch_witness(blobs, region));
  if (current >= epoch) return ok_status();
  return blobs.put(epoch_witness_key(region), std::to_string(epoch.value));
}

Result<StoreIdentityCheck> check_store_identity(Coord& coord, BlobStore& blobs, const std::string& new_incarnation) {
  HADR_TRY(check_incarnation_text(new_incarnation, "the new store incarnation"));
  StoreIdentityCheck check;
  HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> record, coord.get(kStoreIncarnationCoordKey));
  if (record) {
    HADR_TRY(check_incarnation_text(record->value, "coord record '" + std::string(kStoreIncarnationCoordKey) + "'"));
    check.coord_incarnation = record->value;
  }
  HADR_ASSIGN_OR_RETURN(const std::optional<std::string> witness, get_optional(blobs, kStoreWitnessKey));
  if (witness) {
    HADR_TRY(check_incarnation_text(*witness, "blob '" + std::string(kStoreWitnessKey) + "'"));
    check.witness_incarnation = *witness;
  }
  if (witness) {
    check.identity = record && record->value == *witness ? StoreIdentity::kSame : StoreIdentity::kLost;
    return check;
  }
  if (!record) {
    // A new deployment. Create in Coord only if still absent (the other region may race us),
    // then witness whatever Coord holds.
    Result<CoordRecord> created = coord.put(CoordPut{.key = std::string(kStoreIncarnationCoordKey),
                                                     .value = new_incarnation,
                                                     .condition = CoordCondition::kVersionEquals,
                                                     .expected_version = 0});
    if (!created.ok() && created.code() != ErrorCode::kAborted) return std::move(created).take_error();
    HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> now, coord.get(kStoreIncarnationCoordKey));
    if (!now) return unavailable("coord record '" + std::string(kStoreIncarnationCoordKey) + "' vanished while created");
    check.coord_incarnation = now->value;
    check.identity = StoreIdentity::kCreated;
  } else {
    check.identity = StoreIdentity::kAdopted;
  }
  HADR_TRY(blobs.put(kStoreWitnessKey, check.coord_incarnation));
  check.witness_incarnation = check.coord_incarnation;
  return check;
}

}  // namespace hadr
