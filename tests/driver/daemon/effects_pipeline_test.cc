// The effects pipeline keeps the allocator's promise: the messages and replies of an
// Effects leave only after its writes and every earlier Effects' writes are durable, in
// the order the allocator returned them; Effects without writes wait behind earlier ones;
// a failed write turns its replies into errors and sends none of its messages.
#include "driver/daemon/effects_pipeline.h"

#include <deque>

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

ring::Effects effects(ring::RequestId reply_id, bool with_write) {
  ring::Effects fx;
  if (with_write) {
    fx.writes.push_back({"k" + std::to_string(reply_id), "v"});
  }
  fx.replies.push_back({reply_id, Status(), {}, {}});
  fx.messages.push_back(
      {ring::Delivery::kBroadcast, ring::PeerName(), ring::RingRequest{}, std::nullopt});
  return fx;
}

class EffectsPipelineTest : public ::testing::Test {
 protected:
  std::deque<std::function<void(Status)>> pending_writes_;
  std::vector<Store::Sync> syncs_;  // how each write asked to be made durable
  std::vector<ring::RequestId> released_;
  std::vector<ring::RequestId> failed_;
  std::size_t messages_ = 0;
  EffectsPipeline pipeline_{
      [this](std::vector<ring::StoreWrite>, std::function<void(Status)> done, Store::Sync sync) {
        pending_writes_.push_back(std::move(done));
        syncs_.push_back(sync);
      },
      [this](ring::Effects& fx) {
        messages_ += fx.messages.size();
        for (const ring::Reply& r : fx.replies) {
          (r.status.ok() ? released_ : failed_).push_back(r.id);
        }
      },
      [](const Status&, ring::Effects& fx) {
        for (ring::Reply& r : fx.replies) {
          r.status = Status::unavailable("write failed");
        }
      }};

  void complete_next(Status s = Status()) {
    auto done = std::move(pending_writes_.front());
    pending_writes_.pop_front();
    done(s);
  }
};

TEST_F(EffectsPipelineTest, EffectsWithoutWritesAndNothingPendingGoAtOnce) {
  pipeline_.submit(effects(1, false));
  EXPECT_EQ(released_, std::vector<ring::RequestId>{1});
  EXPECT_EQ(messages_, 1u);
}

TEST_F(EffectsPipelineTest, RepliesWaitForTheirWrites) {
  pipeline_.submit(effects(1, true));
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(messages_, 0u);
  complete_next();
  EXPECT_EQ(released_, std::vector<ring::RequestId>{1});
}

TEST_F(EffectsPipelineTest, LaterEffectsWaitBehindEarlierWrites) {
  pipeline_.submit(effects(1, true));
  pipeline_.submit(effects(2, false));
  pipeline_.submit(effects(3, true));
  EXPECT_TRUE(released_.empty());
  complete_next();
  EXPECT_EQ(released_, (std::vector<ring::RequestId>{1, 2}));
  complete_next();
  EXPECT_EQ(released_, (std::vector<ring::RequestId>{1, 2, 3}));
  EXPECT_EQ(pipeline_.waiting(), 0u);
}

// After a failed write memory may hold what the disk does not: nothing decided then or
// later leaves, even when a later write succeeds (a full disk with a little room again).
// Issue 15: a release is answered before its delete is durable, while an allocation after
// it still waits for both; the writer "crashing" between them (never completing) leaves the
// allocation unanswered, so no client learns of state the disk may lack.
TEST_F(EffectsPipelineTest, AReleaseIsAnsweredAtOnceAndALaterAllocationWaitsForItsDelete) {
  ring::Effects release;
  release.writes.push_back({"a/4000000000000000000000000000a0a01", std::nullopt});
  release.replies.push_back({1, Status(), {}, {}});
  pipeline_.submit(std::move(release));
  EXPECT_EQ(released_, std::vector<ring::RequestId>{1});
  ASSERT_EQ(pending_writes_.size(), 1u);  // the delete itself still goes to the store
  ring::Effects allocation;
  allocation.writes.push_back({"a/4000000000000000000000000000a0a01", "32 next"});
  allocation.replies.push_back({2, Status(), {}, {}});
  pipeline_.submit(std::move(allocation));
  EXPECT_EQ(released_, std::vector<ring::RequestId>{1}) << "answered before the write";
  complete_next();  // the delete lands; the writer dies before the allocation's write
  EXPECT_EQ(released_, std::vector<ring::RequestId>{1});
  complete_next();
  EXPECT_EQ(released_, (std::vector<ring::RequestId>{1, 2}));
}

ring::Effects release_of(ring::RequestId id) {
  ring::Effects release;
  release.writes.push_back({"a/4000000000000000000000000000a0a01", std::nullopt});
  release.replies.push_back({id, Status(), {}, {}});
  return release;
}

// A pair costs one sync: the release's delete is written unsynced, and the allocation
// after it is synced, which makes the delete before it durable too (one ordered log).
TEST_F(EffectsPipelineTest, AReleaseIsNotSyncedOnItsOwnAndTheNextWriteIs) {
  pipeline_.submit(release_of(1));
  pipeline_.submit(effects(2, true));
  EXPECT_EQ(syncs_, (std::vector<Store::Sync>{Store::Sync::kWithNext, Store::Sync::kNow}));
  complete_next();
  EXPECT_EQ(released_, std::vector<ring::RequestId>{1});
  EXPECT_EQ(messages_, 0u) << "the allocation's message left before its sync";
  complete_next();
  EXPECT_EQ(released_, (std::vector<ring::RequestId>{1, 2}));
}

// A message or reply after an unsynced release may describe it (the address is free): it
// waits for an empty synced write. An Effects that says nothing does not cost one, nor does
// anything after a synced write.
TEST_F(EffectsPipelineTest, WhatIsSaidAfterAnUnsyncedReleaseWaitsForASync) {
  pipeline_.submit(release_of(1));
  complete_next();  // written, not synced
  pipeline_.submit(ring::Effects());
  EXPECT_EQ(syncs_.size(), 1u) << "an empty Effects forced a sync";
  pipeline_.submit(effects(2, false));
  ASSERT_EQ(syncs_, (std::vector<Store::Sync>{Store::Sync::kWithNext, Store::Sync::kNow}));
  EXPECT_EQ(released_, std::vector<ring::RequestId>{1});
  EXPECT_EQ(messages_, 0u);
  complete_next();
  EXPECT_EQ(released_, (std::vector<ring::RequestId>{1, 2}));
  EXPECT_EQ(messages_, 1u);
  pipeline_.submit(effects(3, false));  // the release is durable now
  EXPECT_EQ(released_, (std::vector<ring::RequestId>{1, 2, 3}));
  EXPECT_EQ(syncs_.size(), 2u);
}

TEST_F(EffectsPipelineTest, ADeleteWithAMessageOrAPutStillWaits) {
  ring::Effects with_message = effects(1, false);
  with_message.writes.push_back({"a/x", std::nullopt});
  pipeline_.submit(std::move(with_message));
  ring::Effects with_put = effects(2, true);
  with_put.messages.clear();
  with_put.writes.push_back({"a/y", std::nullopt});
  pipeline_.submit(std::move(with_put));
  EXPECT_TRUE(released_.empty());
  complete_next();
  complete_next();
  EXPECT_EQ(released_, (std::vector<ring::RequestId>{1, 2}));
}

TEST_F(EffectsPipelineTest, AFailedWriteSendsNothingOfItsOwnOrOfAnyLaterEffects) {
  pipeline_.submit(effects(1, true));
  pipeline_.submit(effects(2, true));
  complete_next(Status::unavailable("disk full"));
  EXPECT_FALSE(pipeline_.failure().ok());
  complete_next();
  pipeline_.submit(effects(3, false));
  pipeline_.submit(effects(4, true));
  EXPECT_EQ(failed_, (std::vector<ring::RequestId>{1, 2, 3, 4}));
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(messages_, 0u);
}

}  // namespace
}  // namespace wipam::driver
