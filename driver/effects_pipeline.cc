#include "driver/effects_pipeline.h"

namespace wipam::driver {

EffectsPipeline::EffectsPipeline(WriteFn write, ReleaseFn release, FailFn fail)
    : write_(std::move(write)), release_(std::move(release)), fail_(std::move(fail)) {}

void EffectsPipeline::submit(ring::Effects effects) {
  if (!failed_.ok()) {
    fail_now(effects);
    return;
  }
  if (effects.writes.empty() && queue_.empty()) {
    release_(effects);  // nothing to wait for
    return;
  }
  std::uint64_t sequence = next_sequence_++;
  bool has_writes = !effects.writes.empty();
  std::vector<ring::StoreWrite> writes = std::move(effects.writes);
  queue_.push_back({std::move(effects), !has_writes});
  if (has_writes) {
    write_(std::move(writes), [this, sequence](Status status) { on_durable(sequence, status); });
  } else {
    release_ready();
  }
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
