// EffectsPipeline: carries out the allocator's Effects in the order it returned them.
//
// Writes go to the store at once (its writer thread group-commits them); the messages and
// replies of an Effects are released only when its writes, and every earlier Effects'
// writes, are durable. That is the promise the allocator relies on: nothing it says leaves
// this process before the state it says it from is on disk. One exception, by design: an
// Effects whose writes only delete keys and that sends no message (a release) is answered
// at once, and its deletes are written without a sync of their own (Store::Sync::kWithNext).
// They still go to the store in order, so the next synced write, such as a new allocation
// of the freed address, makes them durable first; an Effects that writes nothing but says
// something while such deletes are unsynced gets an empty synced write to wait for. After a
// write fails, no Effects (that one or any later) sends a message, and their replies go out
// as errors.
// Loop-confined.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "driver/store/store.h"
#include "ring/allocator.h"

namespace wipam::driver {

class EffectsPipeline {
 public:
  // Persists a batch and calls `done` on the loop thread, in submission order.
  using WriteFn = std::function<void(std::vector<ring::StoreWrite>,
                                     std::function<void(Status)> done, Store::Sync sync)>;
  // Sends what an Effects says once it may leave.
  using ReleaseFn = std::function<void(ring::Effects&)>;
  // A write failed: rewrite the replies in `failed` as errors; they are then released, its
  // messages are not.
  using FailFn = std::function<void(const Status&, ring::Effects& failed)>;

  EffectsPipeline(WriteFn write, ReleaseFn release, FailFn fail);

  void submit(ring::Effects effects);
  // Effects submitted and not yet released.
  std::size_t waiting() const { return queue_.size(); }
  // The first write failure; OK while every write so far succeeded.
  const Status& failure() const { return failed_; }

 private:
  struct Entry {
    ring::Effects effects;
    bool durable = false;
  };
  // True iff `effects` only deletes keys and sends no message: its replies may go early.
  static bool only_forgets(const ring::Effects& effects);
  void on_durable(std::uint64_t sequence, const Status& status);
  void release_ready();
  void fail_now(ring::Effects& effects);

  WriteFn write_;
  ReleaseFn release_;
  FailFn fail_;
  std::deque<Entry> queue_;           // bounded by the allocator's pending work; see submit()
  std::uint64_t first_sequence_ = 0;  // sequence number of queue_.front()
  std::uint64_t next_sequence_ = 0;
  bool unsynced_ = false;  // the last write submitted was a release's, not synced
  Status failed_;
};

}  // namespace wipam::driver
