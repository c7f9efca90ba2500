// WalRecord and WalAppend: what the write-ahead log stores, as callers see it.
//
// A record is either a message (what the relay read from its source) or a seal (the mark that
// an epoch stopped writing: after seal(N) no record of epoch <= N is ever appended).
// The LSN is assigned by the WAL on append: consecutive, starting at 1, never reused.
// Plain values; no invariants beyond the field comments; copy freely.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"

namespace hadr {

enum class WalRecordType : std::uint8_t {
  kMessage = 1,
  kSeal = 2,
};

std::string_view wal_record_type_name(WalRecordType type);  // "message" | "seal"

// The source's headers, in order. Same type as contracts' `Properties`, so they convert freely,
// without the log depending on the contracts layer.
using WalHeaders = std::vector<std::pair<std::string, std::string>>;

// One message to append; the WAL assigns its LSN.
struct WalAppend {
  Epoch epoch;             // epoch of the lease under which the caller appends (fencing)
  MessageId message_id;    // required (non-empty)
  std::string source_ref;  // where in the source it came from (queue + position); may be empty
  WallTime enqueued_at;    // when the source enqueued it, by the source's or the relay's clock
  WalHeaders headers;
  std::string payload;
};

struct WalRecord {
  Lsn lsn;
  Epoch epoch;
  WalRecordType type = WalRecordType::kMessage;
  MessageId message_id;  // empty for a seal
  std::string source_ref;
  WallTime enqueued_at;
  WalHeaders headers;
  std::string payload;
};

}  // namespace hadr
