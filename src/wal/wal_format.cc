#include "wal/wal_format.h"

#include <xxhash.h>

#include <bit>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace hadr {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the WAL format is little-endian and this code stores integers with memcpy");

template <typename Integer>
void put(std::string& out, Integer value) {
  char bytes[sizeof(Integer)];
  std::memcpy(bytes, &value, sizeof(Integer));
  out.append(bytes, sizeof(Integer));
}

template <typename Integer>
void put_at(char* destination, Integer value) {
  std::memcpy(destination, &value, sizeof(Integer));
}

template <typename Integer>
Integer get_at(const char* source) {
  Integer value;
  std::memcpy(&value, source, sizeof(Integer));
  return value;
}

// Reads fields of a frame body front to back; any read past the end marks it failed, so
// one check after parsing covers every field.
class BodyCursor {
 public:
  explicit BodyCursor(std::string_view body) : rest_(body) {}

  template <typename Integer>
  Integer integer() {
    if (rest_.size() < sizeof(Integer)) return fail<Integer>();
    const Integer value = get_at<Integer>(rest_.data());
    rest_.remove_prefix(sizeof(Integer));
    return value;
  }
  std::string_view bytes(std::uint64_t length) {
    if (rest_.size() < length) return fail<std::string_view>();
    const std::string_view value = rest_.substr(0, length);
    rest_.remove_prefix(length);
    return value;
  }
  bool failed() const { return failed_; }
  bool at_end() const { return rest_.empty(); }

 private:
  template <typename T>
  T fail() {
    failed_ = true;
    rest_ = {};
    return T{};
  }
  std::string_view rest_;
  bool failed_ = false;
};

std::uint64_t frame_checksum(const char* frame, std::uint64_t body_bytes) {
  return XXH3_64bits(frame + 8, kFrameHeaderBytes - 8 + body_bytes);
}

// Parses a body; with `record` null it only validates (no allocation).
bool parse_body(std::string_view body, WalRecordType type, WalRecord* record) {
  BodyCursor cursor(body);
  const auto enqueued_ns = cursor.integer<std::int64_t>();
  const std::string_view id = cursor.bytes(cursor.integer<std::uint16_t>());
  const std::string_view source_ref = cursor.bytes(cursor.integer<std::uint32_t>());
  const auto header_count = cursor.integer<std::uint32_t>();
  if (cursor.failed() || header_count > kHeadersPerRecordMax) return false;
  if (type == WalRecordType::kSeal ? !id.empty() : !MessageId::parse(id).ok()) return false;
  if (record != nullptr) {
    record->enqueued_at = WallTime(std::chrono::duration_cast<WallTime::duration>(Nanoseconds(enqueued_ns)));
    if (!id.empty()) record->message_id = MessageId::parse(id).value();
    record->source_ref.assign(source_ref);
    record->headers.reserve(header_count);
  }
  for (std::uint32_t index = 0; index < header_count && !cursor.failed(); ++index) {
    const std::string_view key = cursor.bytes(cursor.integer<std::uint32_t>());
    const std::string_view value = cursor.bytes(cursor.integer<std::uint32_t>());
    if (record != nullptr && !cursor.failed()) record->headers.emplace_back(key, value);
  }
  const std::string_view payload = cursor.bytes(cursor.integer<std::uint32_t>());
  if (cursor.failed() || !cursor.at_end()) return false;
  if (record != nullptr) record->payload.assign(payload);
  return true;
}

}  // namespace

std::string_view wal_record_type_name(WalRecordType type) {
  switch (type) {
    case WalRecordType::kMessage: return "message";
    case WalRecordType::kSeal: return "seal";
  }
  return "unknown";
}

std::string segment_file_name(std::uint64_t sequence) {
  char name[48];
  std::snprintf(name, sizeof(name), "wal-%012" PRIu64 ".seg", sequence);
  return name;
}

std::optional<std::uint64_t> parse_segment_file_name(std::string_view name) {
  constexpr std::string_view kPrefix = "wal-";
  constexpr std::string_view kSuffix = ".seg";
  constexpr std::size_t kDigits = 12;
  if (name.size() != kPrefix.size() + kDigits + kSuffix.size()) return std::nullopt;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  std::uint64_t sequence = 0;
  for (const char digit : name.substr(kPrefix.size(), kDigits)) {
    if (digit < '0' || digit > '9') return std::nullopt;
    sequence = sequence * 10 + static_cast<std::uint64_t>(digit - '0');
  }
  if (sequence == 0) return std::nullopt;
  return sequence;
}

std::string encode_segment_header(const SegmentHeader& header) {
  HADR_ASSERT(header.sequence > 0);
  HADR_ASSERT(header.first_lsn.value > 0);
  std::string out(kSegmentMagic);
  put<std::uint32_t>(out, kWalFormatVersion);
  put<std::uint32_t>(out, kSegmentHeaderBytes);
  put<std::uint64_t>(out, header.sequence);
  put<std::uint64_t>(out, header.first_lsn.value);
  put<std::uint64_t>(out, 0);
  put<std::uint64_t>(out, XXH3_64bits(out.data(), out.size()));
  HADR_ASSERT(out.size() == kSegmentHeaderBytes);
  return out;
}

Result<SegmentHeader> decode_segment_header(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderBytes) {
    return data_loss("segment header is " + std::to_string(bytes.size()) + " bytes; it needs " +
                     std::to_string(kSegmentHeaderBytes));
  }
  if (bytes.substr(0, kSegmentMagic.size()) != kSegmentMagic) return data_loss("not a hadr WAL segment (bad magic)");
  const auto version = get_at<std::uint32_t>(bytes.data() + 8);
  const auto header_bytes = get_at<std::uint32_t>(bytes.data() + 12);
  const auto checksum = get_at<std::uint64_t>(bytes.data() + 40);
  if (checksum != XXH3_64bits(bytes.data(), 40)) return data_loss("segment header checksum mismatch");
  if (version != kWalFormatVersion || header_bytes != kSegmentHeaderBytes) {
    return data_loss("segment format version " + std::to_string(version) + " is unknown; this hadr reads version " +
                     std::to_string(kWalFormatVersion) + " (use the hadr release that wrote it)");
  }
  SegmentHeader header{get_at<std::uint64_t>(bytes.data() + 16), Lsn{get_at<std::uint64_t>(bytes.data() + 24)}};
  if (header.sequence == 0 || header.first_lsn.value == 0 || get_at<std::uint64_t>(bytes.data() + 32) != 0) {
    return data_loss("segment header has a zero sequence or LSN or a non-zero reserved field");
  }
  return header;
}

std::uint64_t encoded_body_bytes(const WalAppend& record) {
  std::uint64_t bytes = 8 + 2 + record.message_id.str().size() + 4 + record.source_ref.size() + 4;
  for (const auto& [key, value] : record.headers) bytes += 4 + key.size() + 4 + value.size();
  return bytes + 4 + record.payload.size();
}

namespace {

// Writes fields front to back into a buffer already sized for them: one bounds check per
// frame instead of one growth check per field.
class FrameWriter {
 public:
  explicit FrameWriter(char* destination) : cursor_(destination) {}
  template <typename Integer>
  void integer(Integer value) {
    std::memcpy(cursor_, &value, sizeof(Integer));
    cursor_ += sizeof(Integer);
  }
  void bytes(std::string_view value) {
    if (!value.empty()) std::memcpy(cursor_, value.data(), value.size());
    cursor_ += value.size();
  }
  const char* position() const { return cursor_; }

 private:
  char* cursor_;
};

}  // namespace

void encode_frame(char* destination, Lsn lsn, WalRecordType type, const WalAppend& record, std::uint64_t body_bytes,
                  WritePosition position) {
  HADR_ASSERT(body_bytes == encoded_body_bytes(record) && body_bytes <= kRecordBytesHardMax);
  HADR_ASSERT(position.index < position.count && lsn.value > position.index);
  FrameWriter writer(destination);
  writer.integer<std::uint64_t>(0);  // checksum, filled in below once the frame is complete
  writer.integer<std::uint32_t>(static_cast<std::uint32_t>(body_bytes));
  writer.integer<std::uint8_t>(static_cast<std::uint8_t>(type));
  writer.integer<std::uint8_t>(0);
  writer.integer<std::uint16_t>(0);
  writer.integer<std::uint64_t>(lsn.value);
  writer.integer<std::uint64_t>(record.epoch.value);
  writer.integer<std::uint32_t>(position.index);
  writer.integer<std::uint32_t>(position.count);
  writer.integer<std::int64_t>(std::chrono::duration_cast<Nanoseconds>(record.enqueued_at.time_since_epoch()).count());
  writer.integer<std::uint16_t>(static_cast<std::uint16_t>(record.message_id.str().size()));
  writer.bytes(record.message_id.str());
  writer.integer<std::uint32_t>(static_cast<std::uint32_t>(record.source_ref.size()));
  writer.bytes(record.source_ref);
  writer.integer<std::uint32_t>(static_cast<std::uint32_t>(record.headers.size()));
  for (const auto& [key, value] : record.headers) {
    writer.integer<std::uint32_t>(static_cast<std::uint32_t>(key.size()));
    writer.bytes(key);
    writer.integer<std::uint32_t>(static_cast<std::uint32_t>(value.size()));
    writer.bytes(value);
  }
  writer.integer<std::uint32_t>(static_cast<std::uint32_t>(record.payload.size()));
  writer.bytes(record.payload);
  HADR_ASSERT(writer.position() == destination + kFrameHeaderBytes + body_bytes);
  put_at<std::uint64_t>(destination, frame_checksum(destination, body_bytes));
}

void append_frame(std::string& out, Lsn lsn, WalRecordType type, const WalAppend& record,
                  std::uint64_t body_bytes, WritePosition position) {
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderBytes + body_bytes);
  encode_frame(out.data() + start, lsn, type, record, body_bytes, position);
}

std::string_view frame_error_name(FrameError error) {
  switch (error) {
    case FrameError::kNone: return "none";
    case FrameError::kIncomplete: return "incomplete frame";
    case FrameError::kTooLarge: return "record larger than the maximum";
    case FrameError::kBadChecksum: return "checksum mismatch";
    case FrameError::kMalformed: return "malformed record";
  }
  return "unknown";
}

FrameDecode decode_frame(std::string_view bytes, std::uint64_t offset, std::uint32_t record_bytes_max) {
  FrameDecode result;
  result.frame.offset = offset;
  if (offset > bytes.size() || bytes.size() - offset < kFrameHeaderBytes) {
    result.error = FrameError::kIncomplete;
    return result;
  }
  const char* frame = bytes.data() + offset;
  const auto body_bytes = get_at<std::uint32_t>(frame + 8);
  FrameView& view = result.frame;
  view.lsn = Lsn{get_at<std::uint64_t>(frame + 16)};
  view.epoch = Epoch{get_at<std::uint64_t>(frame + 24)};
  view.position = {get_at<std::uint32_t>(frame + 32), get_at<std::uint32_t>(frame + 36)};
  view.frame_bytes = kFrameHeaderBytes + body_bytes;
  if (body_bytes > record_bytes_max || body_bytes > kRecordBytesHardMax) {
    result.error = FrameError::kTooLarge;
    return result;
  }
  if (bytes.size() - offset < view.frame_bytes) {
    result.error = FrameError::kIncomplete;
    return result;
  }
  if (get_at<std::uint64_t>(frame) != frame_checksum(frame, body_bytes)) {
    result.error = FrameError::kBadChecksum;
    return result;
  }
  const auto type_byte = get_at<std::uint8_t>(frame + 12);
  view.type = static_cast<WalRecordType>(type_byte);
  view.body = std::string_view(frame + kFrameHeaderBytes, body_bytes);
  const bool type_known = type_byte == static_cast<std::uint8_t>(WalRecordType::kMessage) ||
                          type_byte == static_cast<std::uint8_t>(WalRecordType::kSeal);
  const bool header_sane = type_known && get_at<std::uint8_t>(frame + 13) == 0 && get_at<std::uint16_t>(frame + 14) == 0 &&
                           view.lsn.value > 0 && view.position.index < view.position.count &&
                           view.lsn.value > view.position.index &&
                           view.lsn.value - view.position.index <= UINT64_MAX - view.position.count;
  if (!header_sane || !parse_body(view.body, view.type, nullptr)) result.error = FrameError::kMalformed;
  return result;
}

Result<WalRecord> materialize_record(const FrameView& frame) {
  WalRecord record;
  record.lsn = frame.lsn;
  record.epoch = frame.epoch;
  record.type = frame.type;
  if (!parse_body(frame.body, frame.type, &record)) {
    return data_loss("malformed record at LSN " + std::to_string(frame.lsn.value));
  }
  return record;
}

}  // namespace hadr
