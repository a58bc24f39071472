// A release's Effects only delete its allocation's key and send nothing, so the shell may
// answer it before the delete is durable (issue 15; driver/daemon/effects_pipeline). An allocation
// and a claim always write their key, so they wait for it.
#include <gtest/gtest.h>

#include "ring/allocator.h"

namespace wipam::ring {
namespace {

class ReleaseEffectsTest : public ::testing::Test {
 protected:
  ReleaseEffectsTest() {
    AllocatorConfig config;
    config.self = {PeerName(1), "one", 1};
    config.universe = *Cidr::parse("10.32.0.0/16");
    config.init = SeedInit{{PeerName(1)}};
    allocator_ = std::make_unique<Allocator>(config);
    EXPECT_TRUE(allocator_->start(Millis{0}, {}).ok());
  }
  Effects run(Millis now, const Command& command) {
    return allocator_->command(now, id_++, command);
  }
  static bool only_deletes(const Effects& fx) {
    for (const StoreWrite& w : fx.writes) {
      if (w.value) {
        return false;
      }
    }
    return !fx.writes.empty() && fx.messages.empty();
  }

  std::unique_ptr<Allocator> allocator_;
  RequestId id_ = 1;
};

TEST_F(ReleaseEffectsTest, ReleasesOnlyDeleteAndAllocationsWrite) {
  const Cidr subnet = *Cidr::parse("10.32.1.0/24");
  for (int i = 0; i < 20; ++i) {
    Effects got = run(Millis{1 + i}, AllocateCommand{"c" + std::to_string(i), subnet, {}});
    ASSERT_EQ(got.replies.size(), 1u);
    ASSERT_TRUE(got.replies[0].status.ok());
    EXPECT_FALSE(only_deletes(got));
    Address a = got.replies[0].addresses.at(0).address();
    Effects freed = i % 2 == 0 ? run(Millis{1 + i}, ReleaseCommand{a, "c" + std::to_string(i)})
                               : run(Millis{1 + i}, ReleaseOwnerCommand{"c" + std::to_string(i)});
    ASSERT_EQ(freed.replies.size(), 1u);
    EXPECT_TRUE(only_deletes(freed)) << "release " << i << " writes or sends more";
  }
  Effects claimed = run(Millis{50}, ClaimCommand{"x", Cidr(*Address::parse("10.32.1.9"), 24)});
  EXPECT_FALSE(only_deletes(claimed));
}

}  // namespace
}  // namespace wipam::ring
