// Asking for space on its own: what an ask says (AskOutcome), whom it asks, and that a denial
// sends the next ask elsewhere until every owner has said no.
#include "ring/space_requests.h"

#include <gtest/gtest.h>

namespace wipam::ring {
namespace {

AllocatorContext two_peer_ring() {
  AllocatorConfig c;
  c.self = {PeerName(1), "p1", 1};
  c.universe = *Cidr::parse("10.32.0.0/16");
  c.init = SeedInit{{PeerName(1), PeerName(2)}};
  AllocatorContext ctx(c);
  EXPECT_TRUE(ctx.ring.claim_for_peers({PeerName(1), PeerName(2)}).ok());
  ctx.take_own_ranges();
  return ctx;
}

Range upper() { return Cidr::parse("10.32.200.0/24")->range(); }

TEST(SpaceRequestsTest, NothingToAskForNeverSucceeds) {
  AllocatorContext ctx = two_peer_ring();
  SpaceRequests requests(ctx);
  AskResult r = requests.ask(Range());
  EXPECT_EQ(r.outcome, AskOutcome::kNever);
  EXPECT_EQ(r.reason.rfind("no free addresses", 0), 0u);
}

TEST(SpaceRequestsTest, OnlyAnUnreachableOwnerMeansWaitOrRmpeer) {
  AllocatorContext ctx = two_peer_ring();
  SpaceRequests requests(ctx);
  AskResult r = requests.ask(upper());
  EXPECT_EQ(r.outcome, AskOutcome::kUnreachable);
  EXPECT_NE(r.reason.find("rmpeer"), std::string::npos);
  EXPECT_TRUE(ctx.out.take().messages.empty());
}

TEST(SpaceRequestsTest, AReachableOwnerIsAskedOnceUntilItAnswers) {
  AllocatorContext ctx = two_peer_ring();
  ctx.reachable.insert(PeerName(2));
  SpaceRequests requests(ctx);
  EXPECT_EQ(requests.ask(upper()).outcome, AskOutcome::kAsked);
  EXPECT_EQ(requests.ask(upper()).outcome, AskOutcome::kAsked);
  Effects fx = ctx.out.take();
  ASSERT_EQ(fx.messages.size(), 1u);  // in flight: not asked twice
  EXPECT_EQ(fx.messages[0].to, PeerName(2));
  EXPECT_EQ(std::get<SpaceRequest>(fx.messages[0].message).wanted, upper());
}

TEST(SpaceRequestsTest, WhenEveryOwnerDeniedTheAskFails) {
  AllocatorContext ctx = two_peer_ring();
  ctx.reachable.insert(PeerName(2));
  SpaceRequests requests(ctx);
  ASSERT_EQ(requests.ask(upper()).outcome, AskOutcome::kAsked);
  requests.denied(PeerName(2), upper());
  AskResult r = requests.ask(upper());
  EXPECT_EQ(r.outcome, AskOutcome::kNever);
  EXPECT_EQ(r.reason,
            "no free addresses left in " + upper().to_string() + " on any reachable peer");
}

TEST(SpaceRequestsTest, AnUnansweredAskGoesElsewhereAfterTheTimeout) {
  AllocatorContext ctx = two_peer_ring();
  ctx.reachable.insert(PeerName(2));
  SpaceRequests requests(ctx);
  ctx.now = Millis{100};
  ASSERT_EQ(requests.ask(upper()).outcome, AskOutcome::kAsked);
  requests.expire(Millis{1000}, Millis{2000});
  EXPECT_EQ(requests.ask(upper()).outcome, AskOutcome::kAsked);  // still waiting for peer 2
  requests.expire(Millis{2100}, Millis{2000});
  EXPECT_EQ(requests.ask(upper()).outcome, AskOutcome::kNever);  // peer 2 counts as denied
}

}  // namespace
}  // namespace wipam::ring
