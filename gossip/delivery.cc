#include "gossip/delivery.h"

#include <algorithm>

namespace wipam::gossip {

bool BroadcastWindow::accept(std::uint64_t seq) {
  if (seen(seq)) {
    return false;
  }
  record(seq);
  return true;
}

bool BroadcastWindow::seen(std::uint64_t seq) const {
  // A linear scan: 512 numbers in 4 KiB are one cache-friendly pass, cheaper than a set.
  return std::find(recent_.begin(), recent_.end(), seq) != recent_.end();
}

void BroadcastWindow::record(std::uint64_t seq) {
  if (recent_.size() < kWindow) {
    recent_.push_back(seq);
  } else {
    recent_[next_] = seq;
    next_ = (next_ + 1) % kWindow;
  }
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
