#include "runtime/region_membership.h"

#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "core/assert.h"

namespace hadr {
namespace {

constexpr std::string_view kDirIdFile = "DIR_ID";
constexpr std::string_view kLockFile = "MEMBER";

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "unknown-host";
  return name.data();
}

// The data dir's identity: random, made once, kept in the dir (so the record can tell "an
// earlier process of this very dir" from "another dir").
Result<std::string> data_dir_id(const std::string& data_dir) {
  Env& env = posix_env();
  const std::string path = join_path(data_dir, kDirIdFile);
  if (env.file_exists(path)) return read_file_to_string(env, path, 64);
  const std::string id = random_incarnation();
  HADR_TRY(write_file_atomically(env, path, id));
  return id;
}

// The field `name` of a record value "… name=value …" (empty when absent).
std::string field_of(const std::string& value, std::string_view name) {
  // Built by appends: g++ 12 misreports " " + string (-Wrestrict).
  std::string key(name);
  key += '=';
  std::size_t at = 0;
  for (;; ++at) {
    at = value.find(key, at);
    if (at == std::string::npos) return "";
    if (at == 0 || value[at - 1] == ' ') break;
  }
  const std::size_t begin = at + key.size();
  return value.substr(begin, value.find(' ', begin) - begin);
}

Error already_run(const RegionId& region, const std::string& who, const std::string& where) {
  return failed_precondition("region " + region.str() + " is already run by " + who + " (" + where +
                             "); two processes of one region would write one WAL's LSNs twice. Stop that "
                             "process first, or give this one its own region name");
}

}  // namespace

std::string random_incarnation() {
  std::uint64_t bits = 0;
  // getrandom blocks only before the kernel's pool is initialised at boot.
  const ssize_t got = ::getrandom(&bits, sizeof(bits), 0);
  HADR_ASSERT_MSG(got == static_cast<ssize_t>(sizeof(bits)), "getrandom failed");
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(bits));
  return text;
}

RegionMembership::RegionMembership(std::string key, std::string value, std::unique_ptr<Coord> coord,
                                   std::unique_ptr<FileLock> lock, const Clock& clock)
    : key_(std::move(key)), value_(std::move(value)), coord_(std::move(coord)), lock_(std::move(lock)),
      clock_(clock), renewed_at_(clock.now_monotonic()) {}

RegionMembership::~RegionMembership() { release(); }

Result<std::unique_ptr<RegionMembership>> RegionMembership::acquire(const RegionId& region, const std::string& data_dir,
                                                                    const std::string& process_name,
                                                                    std::unique_ptr<Coord> coord, const Clock& clock,
                                                                    const std::string& incarnation) {
  HADR_ASSERT(coord != nullptr && !incarnation.empty());
  Env& env = posix_env();
  const std::string lock_path = join_path(data_dir, kLockFile);
  auto lock = env.lock_file(lock_path);
  if (!lock.ok()) {
    if (lock.error().code != ErrorCode::kFailedPrecondition) return lock.error();
    std::string pid;
    std::ifstream(lock_path) >> pid;
    return already_run(region, "pid " + (pid.empty() ? std::string("?") : pid), "it holds " + lock_path);
  }
  std::ofstream(lock_path, std::ios::trunc) << ::getpid() << "\n";
  HADR_ASSIGN_OR_RETURN(const std::string dir_id, data_dir_id(data_dir));
  const std::string key = coord_key(region);
  const std::string value = "nonce=" + incarnation + " dir=" + dir_id + " pid=" + std::to_string(::getpid()) +
                            " host=" + host_name() + " process=" + process_name + " data_dir=" + data_dir;
  HADR_ASSIGN_OR_RETURN(const std::uint64_t version, claim_record(*coord, key, value, dir_id, region));
  std::unique_ptr<RegionMembership> membership(
      new RegionMembership(key, value, std::move(coord), std::move(lock).value(), clock));
  membership->version_ = version;
  return membership;
}

Result<std::uint64_t> RegionMembership::claim_record(Coord& coord, const std::string& key, const std::string& value,
                                                     const std::string& dir_id, const RegionId& region) {
  HADR_ASSIGN_OR_RETURN(const std::optional<CoordRecord> current, coord.get(key));
  std::uint64_t expected = 0;
  if (current) {
    if (field_of(current->value, "dir") != dir_id) {
      return already_run(region,
                         "pid " + field_of(current->value, "pid") + " on host " + field_of(current->value, "host"),
                         "data dir " + field_of(current->value, "data_dir") + ", coord record " + key +
                             " renewed within the last " + std::to_string(kTtl.count() / 1000) + " s");
    }
    expected = current->version;  // an earlier process of this data dir: it died (we hold the flock)
  }
  auto written = coord.put(CoordPut{.key = key, .value = value, .epoch = Epoch{0},
                                    .condition = CoordCondition::kVersionEquals, .expected_version = expected,
                                    .ttl = kTtl});
  if (!written.ok() && written.error().code == ErrorCode::kAborted) {
    return already_run(region, "another process that took it at the same moment", "coord record " + key);
  }
  if (!written.ok()) return written.error();
  return written->version;
}

Status RegionMembership::renew_if_due() {
  HADR_ASSERT(!released_);
  const MonoTime now = clock_.now_monotonic();
  if (now - renewed_at_ < kRenewInterval) return ok_status();
  auto written = coord_->put(CoordPut{.key = key_, .value = value_, .epoch = Epoch{0},
                                      .condition = CoordCondition::kVersionEquals, .expected_version = version_,
                                      .ttl = kTtl});
  if (written.ok()) {
    version_ = written->version;
    renewed_at_ = now;
    return ok_status();
  }
  if (written.error().code == ErrorCode::kAborted) {
    return failed_precondition("region membership lost: the coord record " + key_ +
                               " was changed by another process (" + written.error().detail +
                               "); this process stops so that only one writes the region's WAL");
  }
  if (now - renewed_at_ >= kTtl) {
    return unavailable("region membership lost: the coord record " + key_ + " could not be renewed for " +
                       std::to_string(kTtl.count() / 1000) + " s (" + written.error().detail +
                       "); another process may run the region now, so this one stops");
  }
  return ok_status();  // transient: retried at the next call
}

void RegionMembership::release() {
  if (released_) return;
  released_ = true;
  auto current = coord_->get(key_);
  if (current.ok() && current->has_value() && (*current)->value == value_) (void)coord_->remove(key_);
}

}  // namespace hadr
