#include "driver/daemon/effects_pipeline.h"

namespace wipam::driver {

EffectsPipeline::EffectsPipeline(WriteFn write, ReleaseFn release, FailFn fail)
    : write_(std::move(write)), release_(std::move(release)), fail_(std::move(fail)) {}

void EffectsPipeline::submit(ring::Effects effects) {
  if (!failed_.ok()) {
    fail_now(effects);
    return;
  }
  Store::Sync sync = Store::Sync::kNow;
  if (effects.writes.empty()) {
    // Nothing of its own to write. What it says may describe a release that is written
    // but not yet synced; then an empty synced write makes that durable before it leaves.
    bool says_something = !effects.replies.empty() || !effects.messages.empty();
    if (!unsynced_ || !says_something) {
      if (queue_.empty()) {
        release_(effects);  // nothing to wait for
        return;
      }
      queue_.push_back({std::move(effects), true});
      ++next_sequence_;
      release_ready();
      return;
    }
  } else if (only_forgets(effects)) {
    // A release: answered now, written now, synced with the next write that must be. The
    // store's log is one ordered file, so a later allocation of the same address is durable
    // only after this delete is; a crash before that loses the release (a leak reconcile
    // frees), never adds a holder.
    ring::Effects answer;
    answer.replies = std::move(effects.replies);
    effects.replies.clear();
    release_(answer);
    sync = Store::Sync::kWithNext;
  }
  unsynced_ = sync == Store::Sync::kWithNext;
  std::uint64_t sequence = next_sequence_++;
  std::vector<ring::StoreWrite> writes = std::move(effects.writes);
  queue_.push_back({std::move(effects), false});
  write_(
      std::move(writes), [this, sequence](Status status) { on_durable(sequence, status); }, sync);
}

bool EffectsPipeline::only_forgets(const ring::Effects& effects) {
  if (effects.writes.empty() || !effects.messages.empty()) {
    return false;
  }
  for (const ring::StoreWrite& w : effects.writes) {
    if (w.value.has_value()) {
      return false;
    }
  }
  return true;
}

void EffectsPipeline::on_durable(std::uint64_t sequence, const Status& status) {
  if (sequence < first_sequence_) {
    return;
  }
  Entry& entry = queue_[static_cast<std::size_t>(sequence - first_sequence_)];
  if (!status.ok() && failed_.ok()) {
    failed_ = status;
  }
  entry.durable = true;
  release_ready();
}

// Memory may now hold state the disk does not: nothing decided after the failed write, even
// on a later write that succeeded, may reach a client or a peer.
void EffectsPipeline::fail_now(ring::Effects& effects) {
  fail_(failed_, effects);  // rewrites the replies as errors
  effects.messages.clear();
  release_(effects);
}

void EffectsPipeline::release_ready() {
  while (!queue_.empty() && queue_.front().durable) {
    ring::Effects effects = std::move(queue_.front().effects);
    queue_.pop_front();
    ++first_sequence_;
    if (!failed_.ok()) {
      fail_now(effects);
      continue;
    }
    release_(effects);
  }
}

}  // namespace wipam::driver
