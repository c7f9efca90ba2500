#include "roles/wal_backup.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>

#include "roles/checkpoint.h"
#include "roles/settled_floor.h"
#include "wal/wal_format.h"

namespace hadr {
namespace {

template <typename Integer>
void put_integer(std::string& out, Integer value) {
  char bytes[sizeof(Integer)];
  std::memcpy(bytes, &value, sizeof(Integer));
  out.append(bytes, sizeof(Integer));
}

template <typename Integer>
Integer get_integer(const char* source) {
  Integer value;
  std::memcpy(&value, source, sizeof(Integer));
  return value;
}

std::uint64_t header_checksum(const char* header) { return XXH3_64bits(header, kBackupObjectHeaderBytes - 8); }

std::string range_text(BackupRange range) {
  return std::to_string(range.first_lsn.value) + ".." + std::to_string(range.last_lsn.value);
}

Error object_damage(std::string_view key, std::uint64_t offset, std::string_view what) {
  return data_loss("wal backup object '" + std::string(key) + "' offset " + std::to_string(offset) + ": " +
                   std::string(what) + "; the backup is damaged: restore it from the region's WAL or halt, never skip");
}

using PendingFrame = WalShipper::PendingFrame;

PendingFrame pending_frame(WalRecord record) {
  PendingFrame frame{.lsn = record.lsn,
                     .type = record.type,
                     .record = WalAppend{.epoch = record.epoch,
                                         .message_id = std::move(record.message_id),
                                         .source_ref = std::move(record.source_ref),
                                         .enqueued_at = record.enqueued_at,
                                         .headers = std::move(record.headers),
                                         .payload = std::move(record.payload)}};
  frame.body_bytes = encoded_body_bytes(frame.record);
  return frame;
}

}  // namespace

// ---- object layout ---------------------------------------------------------------------------

std::string backup_prefix(const RegionId& region) {
  HADR_ASSERT(!region.empty());
  return "wal/" + region.str() + "/";
}

std::string backup_object_key(const RegionId& region, BackupRange range) {
  HADR_ASSERT(range.first_lsn.value >= 1 && range.first_lsn <= range.last_lsn);
  char digits[2 * kBackupLsnDigits + 2];
  std::snprintf(digits, sizeof(digits), "%020" PRIu64 "-%020" PRIu64, range.first_lsn.value, range.last_lsn.value);
  return backup_prefix(region) + digits;
}

Result<BackupRange> parse_backup_object_key(std::string_view key, std::string_view prefix) {
  const auto malformed = [&] {
    return data_loss("blob key '" + std::string(key) + "' under the WAL backup prefix '" + std::string(prefix) +
                     "' is not <20-digit first LSN>-<20-digit last LSN> with first <= last; remove the foreign "
                     "object or fix the backup (only hadr's shipper writes there)");
  };
  if (!key.starts_with(prefix) || key.size() != prefix.size() + 2 * kBackupLsnDigits + 1) return malformed();
  const std::string_view name = key.substr(prefix.size());
  if (name[kBackupLsnDigits] != '-') return malformed();
  const auto parse_lsn = [](std::string_view digits) -> std::optional<Lsn> {
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    std::uint64_t value = 0;
    const auto [stop, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || stop != digits.data() + digits.size()) return std::nullopt;  // overflow
    return Lsn{value};
  };
  const std::optional<Lsn> first = parse_lsn(name.substr(0, kBackupLsnDigits));
  const std::optional<Lsn> last = parse_lsn(name.substr(kBackupLsnDigits + 1));
  if (!first || !last || first->value == 0 || *first > *last) return malformed();
  return BackupRange{*first, *last};
}

std::string encode_backup_object_header(BackupRange range) {
  HADR_ASSERT(range.first_lsn.value >= 1 && range.first_lsn <= range.last_lsn);
  std::string out(kBackupObjectMagic);
  put_integer<std::uint32_t>(out, kBackupObjectVersion);
  put_integer<std::uint32_t>(out, kBackupObjectHeaderBytes);
  put_integer<std::uint64_t>(out, range.first_lsn.value);
  put_integer<std::uint64_t>(out, range.last_lsn.value);
  put_integer<std::uint64_t>(out, header_checksum(out.data()));
  HADR_ASSERT(out.size() == kBackupObjectHeaderBytes);
  return out;
}

namespace {

Status check_object_header(std::string_view key, std::string_view bytes, BackupRange range) {
  if (bytes.size() < kBackupObjectHeaderBytes) {
    return object_damage(key, 0, "the object is " + std::to_string(bytes.size()) + " bytes, shorter than its " +
                                     std::to_string(kBackupObjectHeaderBytes) + "-byte header");
  }
  if (bytes.substr(0, kBackupObjectMagic.size()) != kBackupObjectMagic) return object_damage(key, 0, "bad magic");
  if (get_integer<std::uint64_t>(bytes.data() + 32) != header_checksum(bytes.data())) {
    return object_damage(key, 32, "header checksum mismatch");
  }
  const auto version = get_integer<std::uint32_t>(bytes.data() + 8);
  const auto header_bytes = get_integer<std::uint32_t>(bytes.data() + 12);
  if (version != kBackupObjectVersion || header_bytes != kBackupObjectHeaderBytes) {
    return object_damage(key, 8, "object format version " + std::to_string(version) +
                                     " is unknown; this hadr reads version " + std::to_string(kBackupObjectVersion));
  }
  const BackupRange stored{Lsn{get_integer<std::uint64_t>(bytes.data() + 16)},
                           Lsn{get_integer<std::uint64_t>(bytes.data() + 24)}};
  if (stored.first_lsn != range.first_lsn || stored.last_lsn != range.last_lsn) {
    return object_damage(key, 16, "the header holds LSNs " + range_text(stored) + " but the key names " + range_text(range));
  }
  return ok_status();
}

}  // namespace

Result<std::vector<WalRecord>> decode_backup_object(std::string_view key, std::string_view bytes, BackupRange range) {
  HADR_ASSERT(range.first_lsn.value >= 1 && range.first_lsn <= range.last_lsn);
  HADR_TRY(check_object_header(key, bytes, range));
  std::vector<WalRecord> records;
  std::uint64_t offset = kBackupObjectHeaderBytes;
  Lsn expected = range.first_lsn;
  // Each pass consumes one frame of at least kFrameHeaderBytes, so the loop is bounded by the size.
  while (offset < bytes.size()) {
    if (expected > range.last_lsn) return object_damage(key, offset, "bytes follow the last LSN the key names");
    const FrameDecode decoded = decode_frame(bytes, offset, kRecordBytesHardMax);
    if (decoded.error != FrameError::kNone) return object_damage(key, offset, frame_error_name(decoded.error));
    if (decoded.frame.lsn != expected) {
      return object_damage(key, offset, "frame has LSN " + std::to_string(decoded.frame.lsn.value) + " where " +
                                            std::to_string(expected.value) + " belongs");
    }
    HADR_ASSIGN_OR_RETURN(WalRecord record, materialize_record(decoded.frame));
    records.push_back(std::move(record));
    offset += decoded.frame.frame_bytes;
    expected = expected.next();
  }
  if (expected != range.last_lsn.next()) {
    return object_damage(key, offset, "the object ends before LSN " + std::to_string(expected.value) +
                                          " but the key names LSNs up to " + std::to_string(range.last_lsn.value));
  }
  HADR_ASSERT(records.size() == range.last_lsn.value - range.first_lsn.value + 1);
  return records;
}

// ---- WalShipper ------------------------------------------------------------------------------

Status WalBackupOptions::validate() const {
  if (region.empty()) return invalid_argument("wal backup region is empty; set it to this region's id (e.g. \"a\")");
  if (chunk_records_max < 1 || chunk_records_max > WalShipper::kChunkRecordsHardMax) {
    return invalid_argument("wal backup chunk_records_max " + std::to_string(chunk_records_max) +
                            " must be between 1 and " + std::to_string(WalShipper::kChunkRecordsHardMax));
  }
  if (chunk_bytes_max < WalShipper::kChunkBytesMin || chunk_bytes_max > WalShipper::kChunkBytesHardMax) {
    return invalid_argument("wal backup chunk_bytes_max " + std::to_string(chunk_bytes_max) +
                            " bytes must be between " + std::to_string(WalShipper::kChunkBytesMin) + " and " +
                            std::to_string(WalShipper::kChunkBytesHardMax));
  }
  if (repair_interval < Milliseconds(1) || repair_interval > std::chrono::hours(1)) {
    return invalid_argument("wal backup repair_interval " + std::to_string(repair_interval.count()) +
                            " ms must be between 1 ms and 1 h");
  }
  return backoff.validate("wal backup backoff");
}

Result<std::unique_ptr<WalShipper>> WalShipper::create(const WalShipperDependencies& dependencies,
                                                       WalBackupOptions options) {
  HADR_TRY(options.validate());
  return std::unique_ptr<WalShipper>(new WalShipper(dependencies, std::move(options)));
}

WalShipper::WalShipper(const WalShipperDependencies& dependencies, WalBackupOptions options)
    : deps_(dependencies), options_(std::move(options)), prefix_(backup_prefix(options_.region)) {}

WalShipperStats WalShipper::stats() const {
  return WalShipperStats{.shipped_lsn = shipped_lsn_.load(),
                         .objects_written = objects_written_.load(),
                         .objects_already_present = objects_already_present_.load(),
                         .records_shipped = records_shipped_.load(),
                         .bytes_shipped = bytes_shipped_.load(),
                         .records_skipped_retained = records_skipped_retained_.load(),
                         .objects_deleted = objects_deleted_.load(),
                         .records_reshipped = records_reshipped_.load(),
                         .gaps_found = gaps_found_.load()};
}

void WalShipper::set_shipped(Lsn lsn) {
  HADR_ASSERT(lsn >= shipped_lsn());
  HADR_ASSERT(lsn <= deps_.wal.durable_lsn());
  shipped_lsn_.store(lsn.value);
}

Result<std::vector<BackupRange>> WalShipper::list_ranges() {
  std::vector<BackupRange> ranges;
  std::string after;
  for (std::size_t page_number = 0;; ++page_number) {
    if (page_number == kStartListPagesMax) {
      return failed_precondition("wal backup under '" + prefix_ + "' holds more than " +
                                 std::to_string(kStartListPagesMax * BlobStore::kMaxListPage) +
                                 " objects; is retention running (the relay deletes objects below the checkpoint)?");
    }
    HADR_ASSIGN_OR_RETURN(const BlobPage page, deps_.blobs.list(prefix_, after, BlobStore::kMaxListPage));
    for (const std::string& key : page.keys) {
      HADR_ASSIGN_OR_RETURN(const BackupRange range, parse_backup_object_key(key, prefix_));
      ranges.push_back(range);
    }
    if (!page.more || page.keys.empty()) break;
    after = page.keys.back();
  }
  // Keys sort by first LSN, then last LSN (both zero-padded): the listing order already is.
  return ranges;
}

Status WalShipper::start() {
  HADR_ASSIGN_OR_RETURN(const std::vector<BackupRange> ranges, list_ranges());
  Lsn highest{0};
  for (const BackupRange& range : ranges) highest = std::max(highest, range.last_lsn);
  if (highest > deps_.wal.durable_lsn()) {
    return failed_precondition("wal backup under '" + prefix_ + "' reaches LSN " + std::to_string(highest.value) +
                               " but the WAL in " + deps_.wal.dir() + " ends at " +
                               std::to_string(deps_.wal.durable_lsn().value) +
                               ": the WAL was replaced; move the old backup away before shipping this log");
  }
  if (highest > shipped_lsn()) set_shipped(highest);
  started_ = true;
  skip_retained();
  return ok_status();
}

void WalShipper::skip_retained() {
  const Lsn first_kept = deps_.wal.first_lsn();
  if (shipped_lsn().next() >= first_kept) return;
  // Retention only deletes segments below the checkpoint (and, once a backup exists, below the
  // shipped LSN): these records are done, and no replay starts before the checkpoint.
  records_skipped_retained_.fetch_add(first_kept.value - 1 - shipped_lsn().value);
  set_shipped(Lsn{first_kept.value - 1});
}

bool WalShipper::chunk_has_room(const Chunk& chunk, std::uint64_t frame_bytes) const {
  if (chunk.records == 0) return true;  // a record larger than chunk_bytes_max goes alone
  return chunk.records < options_.chunk_records_max && chunk.bytes.size() + frame_bytes <= options_.chunk_bytes_max;
}

void WalShipper::add_frame(Chunk& chunk, Lsn lsn, WalRecordType type, const WalAppend& record,
                           std::uint64_t body_bytes) {
  HADR_ASSERT(lsn == chunk.last_lsn.next());
  HADR_ASSERT(chunk.records < options_.chunk_records_max);
  if (chunk.records == 0) chunk.bytes.assign(kBackupObjectHeaderBytes, '\0');
  // Each frame is its own write (index 0 of 1): an object is put whole, so there is no torn
  // write to tell from corruption, which is what the write position serves in a segment.
  append_frame(chunk.bytes, lsn, type, record, body_bytes, WritePosition{0, 1});
  ++chunk.records;
  chunk.last_lsn = lsn;
}

Status WalShipper::write_chunk(Chunk& chunk) {
  HADR_ASSERT(chunk.records > 0 && chunk.last_lsn <= deps_.wal.durable_lsn());  // only durable records
  HADR_ASSERT(chunk.last_lsn.value - chunk.first_lsn.value + 1 == chunk.records);
  const std::string header = encode_backup_object_header({chunk.first_lsn, chunk.last_lsn});
  chunk.bytes.replace(0, header.size(), header);
  const std::string key = backup_object_key(options_.region, {chunk.first_lsn, chunk.last_lsn});
  HADR_ASSIGN_OR_RETURN(const bool written, deps_.blobs.put_if_absent(key, chunk.bytes));
  (written ? objects_written_ : objects_already_present_).fetch_add(1);
  records_shipped_.fetch_add(chunk.records);
  bytes_shipped_.fetch_add(chunk.bytes.size());
  return ok_status();
}

Status WalShipper::put_chunk(Chunk& chunk) {
  HADR_ASSERT(chunk.records > 0 && chunk.first_lsn == shipped_lsn().next());
  HADR_TRY(write_chunk(chunk));
  set_shipped(chunk.last_lsn);
  return ok_status();
}

Result<std::uint64_t> WalShipper::repair_gaps(Lsn settled_floor) {
  if (!started_ || shipped_lsn().value == 0) return std::uint64_t{0};
  HADR_ASSIGN_OR_RETURN(const std::vector<BackupRange> ranges, list_ranges());
  // Only what the WAL still holds can be re-derived; below it, and at or below the settled
  // floor, records are settled (see header).
  const Lsn shipped = shipped_lsn();
  const Lsn floor = std::max(Lsn{deps_.wal.first_lsn().value - 1}, std::min(settled_floor, shipped));
  if (floor >= shipped) return std::uint64_t{0};
  // The first LSN in (floor, shipped] no object holds, and where the next object starts.
  Lsn covered = floor;
  Lsn gap_end = shipped;
  for (const BackupRange& range : ranges) {  // sorted by first LSN
    if (range.first_lsn > covered.next()) {
      gap_end = std::min(shipped, Lsn{range.first_lsn.value - 1});
      break;
    }
    covered = std::max(covered, range.last_lsn);
    if (covered >= shipped) return std::uint64_t{0};
  }
  if (covered >= gap_end) return std::uint64_t{0};
  gaps_found_.fetch_add(1);
  // The floor object first: a replay that meets the re-shipped range must know what lies below
  // it is settled, not lost.
  if (floor.value > 0) HADR_TRY(raise_backup_floor(deps_.blobs, options_.region, floor));
  // Bounded like ship_through: kChunksPerCallMax objects of at most chunk_records_max records.
  HADR_ASSIGN_OR_RETURN(WalReader reader, deps_.wal.read_from(covered.next()));
  std::uint64_t reshipped = 0;
  std::optional<PendingFrame> carried;
  for (std::size_t chunks = 0; chunks < kChunksPerCallMax && covered < gap_end; ++chunks) {
    Chunk chunk{.first_lsn = covered.next(), .last_lsn = covered};
    HADR_TRY(fill_chunk(reader, carried, chunk, gap_end));
    if (chunk.records == 0) break;  // the reader ended early (cannot happen below the durable LSN)
    HADR_TRY(write_chunk(chunk));
    reshipped += chunk.records;
    covered = chunk.last_lsn;
  }
  records_reshipped_.fetch_add(reshipped);
  return reshipped;
}

Status WalShipper::fill_chunk(WalReader& reader, std::optional<PendingFrame>& carried, Chunk& chunk, Lsn end) {
  // Bounded by chunk_records_max (chunk_has_room) and by `end`.
  while (chunk.last_lsn < end) {
    if (!carried) {
      HADR_ASSIGN_OR_RETURN(std::optional<WalRecord> record, reader.next());
      if (!record) break;
      carried = pending_frame(std::move(*record));
    }
    if (!chunk_has_room(chunk, kFrameHeaderBytes + carried->body_bytes)) break;
    add_frame(chunk, carried->lsn, carried->type, carried->record, carried->body_bytes);
    carried.reset();
  }
  return ok_status();
}

Result<Lsn> WalShipper::ship_through(Lsn target) {
  if (!started_) HADR_TRY(start());
  skip_retained();
  const Lsn end = std::min(target, deps_.wal.durable_lsn());
  if (shipped_lsn() >= end) return shipped_lsn();
  // A reader from Wal::read_from stops at the durable LSN: only durable records are shipped.
  HADR_ASSIGN_OR_RETURN(WalReader reader, deps_.wal.read_from(shipped_lsn().next()));
  std::optional<PendingFrame> carried;  // read, but it did not fit the previous chunk
  for (std::size_t chunks = 0; chunks < kChunksPerCallMax && shipped_lsn() < end; ++chunks) {
    Chunk chunk{.first_lsn = shipped_lsn().next(), .last_lsn = shipped_lsn()};
    HADR_TRY(fill_chunk(reader, carried, chunk, end));
    if (chunk.records == 0) break;  // the reader ended early (cannot happen below the durable LSN)
    HADR_TRY(put_chunk(chunk));
  }
  return shipped_lsn();
}

Result<Lsn> WalShipper::ship_batch(Lsn first_lsn, std::span<const WalAppend> batch) {
  HADR_ASSERT(!batch.empty() && first_lsn.value >= 1);
  const Lsn last_lsn{first_lsn.value + batch.size() - 1};
  HADR_ASSERT(last_lsn <= deps_.wal.durable_lsn());  // only durable records are shipped
  if (!started_) HADR_TRY(start());
  skip_retained();
  if (shipped_lsn().next() < first_lsn) {
    HADR_ASSIGN_OR_RETURN(const Lsn caught_up, ship_through(Lsn{first_lsn.value - 1}));
    if (caught_up.next() < first_lsn) return caught_up;
  }
  if (shipped_lsn() >= last_lsn) return shipped_lsn();
  Chunk chunk{.first_lsn = shipped_lsn().next(), .last_lsn = shipped_lsn()};
  // Bounded by the batch (the relay's batch_max).
  for (std::size_t index = shipped_lsn().next().value - first_lsn.value; index < batch.size(); ++index) {
    const std::uint64_t body_bytes = encoded_body_bytes(batch[index]);
    if (!chunk_has_room(chunk, kFrameHeaderBytes + body_bytes)) {
      HADR_TRY(put_chunk(chunk));
      chunk = Chunk{.first_lsn = shipped_lsn().next(), .last_lsn = shipped_lsn()};
    }
    add_frame(chunk, Lsn{first_lsn.value + index}, WalRecordType::kMessage, batch[index], body_bytes);
  }
  if (chunk.records > 0) HADR_TRY(put_chunk(chunk));
  return shipped_lsn();
}

Status WalShipper::retain_below(Lsn lsn) {
  if (lsn.value <= 1) return ok_status();
  HADR_ASSIGN_OR_RETURN(const BlobPage page, deps_.blobs.list(prefix_, "", kDeletesPerCallMax));
  if (page.keys.empty()) return ok_status();
  // The backup describes itself: before an object goes, the floor object says its records were
  // settled, so a replay that lost the coord checkpoint starts above them instead of halting on
  // a "gap" (roles/settled_floor.h).
  if (const Result<BackupRange> first = parse_backup_object_key(page.keys.front(), prefix_);
      first.ok() && first->last_lsn < lsn) {
    HADR_TRY(raise_backup_floor(deps_.blobs, options_.region, Lsn{lsn.value - 1}));
  }
  HADR_ASSERT(page.keys.size() <= kDeletesPerCallMax);
  for (const std::string& key : page.keys) {
    HADR_ASSIGN_OR_RETURN(const BackupRange range, parse_backup_object_key(key, prefix_));
    if (range.first_lsn >= lsn) break;  // keys sort by first LSN: nothing later is below `lsn`
    if (range.last_lsn >= lsn) continue;
    HADR_TRY(deps_.blobs.remove(key));
    objects_deleted_.fetch_add(1);
  }
  return ok_status();
}

// ---- WalBackup -------------------------------------------------------------------------------

Result<std::unique_ptr<WalBackup>> WalBackup::create(const WalBackupDependencies& dependencies) {
  HADR_TRY(dependencies.shipper.options().validate());
  return std::unique_ptr<WalBackup>(new WalBackup(dependencies));
}

WalBackup::WalBackup(const WalBackupDependencies& dependencies)
    : deps_(dependencies), backoff_(dependencies.clock, dependencies.shipper.options().backoff) {}

Result<StepOutcome> WalBackup::step() {
  const Lsn durable = deps_.wal.durable_lsn();
  const Lsn before = deps_.shipper.shipped_lsn();
  HADR_ASSERT(before <= durable);
  if (!backoff_.ready()) return StepOutcome::kIdle;
  if (!deps_.ships || (deps_.shipper.started() && before >= durable)) {
    health_.set_lag(static_cast<std::int64_t>(durable.value - before.value));
    return repair_if_due();
  }
  Result<Lsn> shipped = deps_.shipper.ship_through(durable);
  if (!shipped.ok()) {
    // Transient store errors back off; kDataLoss (a damaged segment or a malformed backup key)
    // stops the region; kFailedPrecondition (a replaced WAL) backs off and stays in health.
    HADR_TRY(absorb_failure("backup ship", shipped.error(), backoff_, health_));
    health_.set_lag(static_cast<std::int64_t>(durable.value - deps_.shipper.shipped_lsn().value));
    return StepOutcome::kIdle;
  }
  backoff_.record_success();
  HADR_ASSERT(*shipped >= before && *shipped <= durable);
  health_.add_progress(shipped->value - before.value);
  health_.set_lag(static_cast<std::int64_t>(durable.value - shipped->value));
  return *shipped > before ? StepOutcome::kProgress : StepOutcome::kIdle;
}

Result<StepOutcome> WalBackup::repair_if_due() {
  // Nothing shipped yet by this shipper (sync mode before the relay's first batch): start()
  // lists the backup then, and ships from the WAL what is not there.
  if (!deps_.shipper.started()) return StepOutcome::kIdle;
  const MonoTime now = deps_.clock.now_monotonic();
  if (now < next_repair_at_) return StepOutcome::kIdle;
  next_repair_at_ = now + deps_.shipper.options().repair_interval;
  // The call name starts "backup ship": a failure is charged to the blob store (a shared
  // dependency, roles/heartbeat.h), or to the disk's data_loss, which stops the region.
  Lsn settled_floor{0};
  if (deps_.env != nullptr) {
    Result<Lsn> checkpoint = read_file_checkpoint(*deps_.env, deps_.wal.dir());
    if (!checkpoint.ok()) {
      // Without the floor, settled records could be re-shipped and replayed: no repair now.
      health_.record_error("backup ship (reading the checkpoint file)", checkpoint.error());
      return StepOutcome::kIdle;
    }
    settled_floor = *checkpoint;
  }
  Result<std::uint64_t> reshipped = deps_.shipper.repair_gaps(settled_floor);
  if (!reshipped.ok()) {
    HADR_TRY(absorb_failure("backup ship (repairing lost backup objects)", reshipped.error(), backoff_, health_));
    return StepOutcome::kIdle;
  }
  backoff_.record_success();
  if (*reshipped == 0) return StepOutcome::kIdle;
  // More of the gap may be left (bounded per call): look again on the next step.
  next_repair_at_ = now;
  health_.add_progress(*reshipped);
  return StepOutcome::kProgress;
}

}  // namespace hadr
