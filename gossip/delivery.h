// Small pure pieces of delivery policy: the duplicate filter for flooded broadcasts and the
// reconnect back-off.
//
// BroadcastWindow remembers, per source incarnation, the highest sequence number seen and
// which of the kWindow before it arrived: 128 bytes per source, however long it runs.
// Values owned by Mesh. Loop-confined (not thread-safe).
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>

namespace wipam::gossip {

class BroadcastWindow {
 public:
  static constexpr std::uint64_t kWindow = 1024;

  // True iff `seq` has not been accepted before and is not older than the window; records it.
  bool accept(std::uint64_t seq);

 private:
  bool any_ = false;
  std::uint64_t highest_ = 0;
  std::bitset<kWindow> seen_;  // bit i: highest_ - i was accepted
};

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{std::chrono::minutes(5)};
};

// How long to wait after the `failures`-th failed attempt in a row (1 for the first):
// initial * 2^(failures-1), capped at max, then scaled into [1/2, 1) of that by
// `unit_random` in [0, 1) so peers that failed together do not retry together.
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int failures,
                                        double unit_random);

}  // namespace wipam::gossip
