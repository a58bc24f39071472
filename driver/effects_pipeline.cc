#include "driver/effects_pipeline.h"

namespace wipam::driver {

EffectsPipeline::EffectsPipeline(WriteFn write, ReleaseFn release, FailFn fail)
    : write_(std::move(write)), release_(std::move(release)), fail_(std::move(fail)) {}

void EffectsPipeline::submit(ring::Effects effects) {
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
  if (!status.ok()) {
    fail_(status, entry.effects);  // rewrites the replies as errors
    entry.effects.messages.clear();
  }
  entry.durable = true;
  release_ready();
}

void EffectsPipeline::release_ready() {
  while (!queue_.empty() && queue_.front().durable) {
    ring::Effects effects = std::move(queue_.front().effects);
    queue_.pop_front();
    ++first_sequence_;
    release_(effects);
  }
}

}  // namespace wipam::driver
