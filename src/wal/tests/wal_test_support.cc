#include "wal/tests/wal_test_support.h"

#include <gtest/gtest.h>

namespace hadr::testing_support {

WalAppend make_append(std::uint64_t tag, Epoch epoch, std::size_t payload_bytes) {
  WalAppend append;
  append.epoch = epoch;
  append.message_id = MessageId::parse("msg-" + std::to_string(tag)).value();
  append.source_ref = "queue/in@" + std::to_string(tag);
  append.enqueued_at = WallTime(std::chrono::milliseconds(1'767'225'600'000 + static_cast<std::int64_t>(tag)));
  append.headers = {{"tag", std::to_string(tag)}, {"kind", "test"}};
  append.payload.resize(payload_bytes);
  for (std::size_t index = 0; index < payload_bytes; ++index) {
    append.payload[index] = static_cast<char>('a' + (tag + index) % 26);
  }
  return append;
}

WalAppend make_random_append(std::uint64_t tag, Epoch epoch, Random& random, std::size_t payload_bytes_max) {
  return make_append(tag, epoch, random.between(0, payload_bytes_max));
}

std::vector<WalRecord> read_all(Env& env, const std::string& dir, const WalOptions& options) {
  std::vector<WalRecord> records;
  auto reader = WalReader::open(env, dir, options, Lsn{0});
  EXPECT_TRUE(reader.ok()) << reader.error().to_string();
  if (!reader.ok()) return records;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    auto next = reader->next();
    EXPECT_TRUE(next.ok()) << next.error().to_string();
    if (!next.ok() || !next->has_value()) break;
    records.push_back(std::move(**next));
  }
  return records;
}

bool same_content(const WalRecord& record, const WalAppend& expected) {
  return record.type == WalRecordType::kMessage && record.epoch == expected.epoch &&
         record.message_id == expected.message_id && record.source_ref == expected.source_ref &&
         record.enqueued_at == expected.enqueued_at && record.headers == expected.headers &&
         record.payload == expected.payload;
}

WalOptions small_options() {
  WalOptions options;
  options.segment_bytes_max = 4096;
  options.record_bytes_max = 1024;
  options.batch_bytes_max = 64 * 1024;
  options.batch_records_max = 256;
  return options;
}

}  // namespace hadr::testing_support
