// Small pure pieces of delivery policy: the duplicate filter for flooded broadcasts and the
// reconnect back-off.
//
// BroadcastWindow remembers, per source incarnation, the last kWindow sequence numbers that
// arrived, in arrival order (at most 4 KiB per source). A number is new iff it is not among
// them. Nothing is ever judged too old or too far ahead, so a forged number (near UINT64_MAX,
// say) takes one slot and cannot make a real peer's numbers look stale. Copies of one
// broadcast arrive within a flood time; a copy later than kWindow newer broadcasts of the
// same source would be delivered twice, which the allocator's broadcasts (ring and Paxos
// merges) tolerate. Values owned by Mesh. Loop-confined (not thread-safe).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wipam::gossip {

class BroadcastWindow {
 public:
  static constexpr std::size_t kWindow = 512;

  // True iff `seq` is not among the last kWindow accepted; records it, forgetting the oldest.
  bool accept(std::uint64_t seq);
  // True iff `seq` is among the last kWindow recorded.
  bool seen(std::uint64_t seq) const;
  // Records `seq` (not checked), forgetting the oldest once kWindow are held.
  void record(std::uint64_t seq);

 private:
  std::vector<std::uint64_t> recent_;  // a ring of at most kWindow, oldest at next_
  std::size_t next_ = 0;
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
