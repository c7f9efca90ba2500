// Test doubles shared by the gateway tests.
//   ScriptedSource  a Source that records every put, fails the next puts with scripted errors,
//                   and can run a hook inside put() — the deterministic stand-in for "another
//                   request arrives while this one is putting" (409, in-flight bound).
//   FlakySource     wraps a real Source and fails its next N puts with kUnavailable.
// Thread-safety: both guard their state with a mutex (the loopback test calls from server threads).
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "contracts/source.h"

namespace hadr::gateway_test {

class ScriptedSource final : public Source {
 public:
  Status put(std::span<const SourceMessage> batch) override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      ++put_calls_;
      hook = std::exchange(during_next_put_, nullptr);
    }
    if (hook) hook();
    std::lock_guard lock(mutex_);
    if (!failures_.empty()) {
      Error error = failures_.front();
      failures_.pop_front();
      return error;
    }
    stored_.insert(stored_.end(), batch.begin(), batch.end());
    return ok_status();
  }
  Result<std::vector<SourceMessage>> receive(std::size_t) override { return std::vector<SourceMessage>{}; }
  Status ack(std::span<const std::string>) override { return ok_status(); }
  Result<std::uint64_t> depth() override {
    std::lock_guard lock(mutex_);
    if (depth_error_) return *depth_error_;
    return static_cast<std::uint64_t>(stored_.size());
  }

  void fail_next_puts(Error error, int times) {
    std::lock_guard lock(mutex_);
    for (int index = 0; index < times; ++index) failures_.push_back(error);
  }
  void during_next_put(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    during_next_put_ = std::move(hook);
  }
  void fail_depth(std::optional<Error> error) {
    std::lock_guard lock(mutex_);
    depth_error_ = std::move(error);
  }
  std::vector<SourceMessage> stored() {
    std::lock_guard lock(mutex_);
    return stored_;
  }
  int put_calls() {
    std::lock_guard lock(mutex_);
    return put_calls_;
  }

 private:
  std::mutex mutex_;
  std::vector<SourceMessage> stored_;
  std::deque<Error> failures_;
  std::function<void()> during_next_put_;
  std::optional<Error> depth_error_;
  int put_calls_ = 0;
};

class FlakySource final : public Source {
 public:
  FlakySource(Source& inner, int failures) : inner_(inner), failures_left_(failures) {}
  Status put(std::span<const SourceMessage> batch) override {
    {
      std::lock_guard lock(mutex_);
      if (failures_left_ > 0) {
        --failures_left_;
        return unavailable("flaky source: injected failure");
      }
    }
    return inner_.put(batch);
  }
  Result<std::vector<SourceMessage>> receive(std::size_t max) override { return inner_.receive(max); }
  Status ack(std::span<const std::string> handles) override { return inner_.ack(handles); }
  Result<std::uint64_t> depth() override { return inner_.depth(); }

 private:
  Source& inner_;
  std::mutex mutex_;
  int failures_left_;
};

}  // namespace hadr::gateway_test
