// The WAL's on-disk format: segment header and record frame, byte by byte (docs/wal-format.md).
//
// Everything here works on in-memory bytes (no Env, no files), so the same decoder serves
// recovery, the reader, `hadr wal verify|dump`, the fuzz target and, later, the replayer that
// reads segment byte ranges shipped to a blob store.
//
// All integers are little-endian. Checksums are XXH3-64 (libxxhash).
//   segment header (48 bytes):  magic "HADRWAL\n" | u32 version=1 | u32 header_bytes=48 |
//                               u64 sequence | u64 first_lsn | u64 reserved=0 | u64 checksum
//   frame header (40 bytes):    u64 checksum | u32 body_bytes | u8 type | u8 0 | u16 0 |
//                               u64 lsn | u64 epoch | u32 index_in_write | u32 count_in_write
//   frame body:                 i64 enqueued_at_unix_ns | u16 id_len, id | u32 ref_len, ref |
//                               u32 header_count, (u32 key_len, key, u32 value_len, value)* |
//                               u32 payload_len, payload
// A frame's checksum covers bytes [8, 40 + body_bytes) of the frame: its header and body.
// Frames never span segments. `index_in_write`/`count_in_write` place a frame in the one
// write() that put it on disk; recovery uses them to tell a torn write from corruption.
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "core/result.h"
#include "wal/wal_record.h"

namespace hadr {

inline constexpr std::uint32_t kWalFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderBytes = 48;
inline constexpr std::size_t kFrameHeaderBytes = 40;
inline constexpr std::string_view kSegmentMagic{"HADRWAL\n", 8};
// Bounds that hold whatever the options say, so a hostile length field cannot make a decoder
// allocate or loop without limit.
inline constexpr std::uint32_t kRecordBytesHardMax = 64u << 20;
inline constexpr std::uint32_t kHeadersPerRecordMax = 1024;

struct SegmentHeader {
  std::uint64_t sequence = 0;  // 1, 2, 3, … ; the file is named after it
  Lsn first_lsn;               // LSN the segment's first frame has (or will have)
};

// "wal-000000000042.seg" <-> 42. Names that do not match exactly are not segments.
std::string segment_file_name(std::uint64_t sequence);
std::optional<std::uint64_t> parse_segment_file_name(std::string_view name);

std::string encode_segment_header(const SegmentHeader& header);
// kDataLoss with the reason (short, wrong magic, unknown version, bad checksum, …).
Result<SegmentHeader> decode_segment_header(std::string_view bytes);

// Bytes the body of `record` takes on disk (without the 40-byte frame header).
std::uint64_t encoded_body_bytes(const WalAppend& record);

// Where a frame sits in the one write that carried it.
struct WritePosition {
  std::uint32_t index = 0;  // 0-based index of this frame in the write
  std::uint32_t count = 1;  // frames in the write
};

// Encodes one complete frame (header + body) into `destination`, which must have room for
// kFrameHeaderBytes + body_bytes; `body_bytes` must be encoded_body_bytes(record).
void encode_frame(char* destination, Lsn lsn, WalRecordType type, const WalAppend& record, std::uint64_t body_bytes,
                  WritePosition position);
// The same, appended to `out` (tests and tools).
void append_frame(std::string& out, Lsn lsn, WalRecordType type, const WalAppend& record,
                  std::uint64_t body_bytes, WritePosition position);

enum class FrameError : std::uint8_t {
  kNone,
  kIncomplete,   // the header or the body runs past the end of the bytes
  kTooLarge,     // body_bytes exceeds the record size limit
  kBadChecksum,  // the bytes do not match the checksum (torn or corrupt)
  kMalformed,    // checksum fine, but the fields are inconsistent (a writer bug or crafted input)
};

std::string_view frame_error_name(FrameError error);

// A frame decoded in place: views point into the decoded bytes.
struct FrameView {
  std::uint64_t offset = 0;       // of the frame header within the segment bytes
  std::uint64_t frame_bytes = 0;  // header + body
  Lsn lsn;
  Epoch epoch;
  WalRecordType type = WalRecordType::kMessage;
  WritePosition position;
  std::string_view body;

  Lsn first_lsn_of_write() const { return Lsn{lsn.value - position.index}; }
  Lsn last_lsn_of_write() const { return Lsn{lsn.value - position.index + position.count - 1}; }
};

struct FrameDecode {
  FrameError error = FrameError::kNone;
  FrameView frame;  // valid when error == kNone; otherwise offset (and what was readable)
};

// Decodes the frame that starts at `offset` of `bytes` and checks its checksum and structure.
FrameDecode decode_frame(std::string_view bytes, std::uint64_t offset, std::uint32_t record_bytes_max);

// Copies a decoded frame into a WalRecord. Fails only if the frame was not validated.
Result<WalRecord> materialize_record(const FrameView& frame);

}  // namespace hadr
