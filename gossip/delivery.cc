#include "gossip/delivery.h"

#include <algorithm>

namespace wipam::gossip {

bool BroadcastWindow::accept(std::uint64_t seq) {
  if (!any_) {
    any_ = true;
    highest_ = seq;
    seen_.reset();
    seen_.set(0);
    return true;
  }
  if (seq > highest_) {
    std::uint64_t shift = seq - highest_;
    seen_ = shift >= kWindow ? std::bitset<kWindow>() : seen_ << shift;
    highest_ = seq;
    seen_.set(0);
    return true;
  }
  std::uint64_t age = highest_ - seq;
  if (age >= kWindow || seen_.test(age)) {
    return false;
  }
  seen_.set(age);
  return true;
}

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int failures,
                                        double unit_random) {
  using std::chrono::milliseconds;
  milliseconds cap = std::max(policy.max, policy.initial);
  milliseconds delay = policy.initial;
  for (int i = 1; i < failures && delay < cap; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, cap);
  double scale = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(delay.count()) * scale));
}

}  // namespace wipam::gossip
