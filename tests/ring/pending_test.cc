// The pending queue on its own: claims are retried before everything else, each kind in
// arrival order; deadlines, picks and shutdown take commands out in arrival order; and it
// says which ranges pending commands still need.
#include "ring/pending.h"

#include <gtest/gtest.h>

namespace wipam::ring {
namespace {

Cidr cidr(const char* text) { return *Cidr::parse(text); }

Pending allocate(RequestId id, Millis deadline = Millis{100}) {
  return {id, AllocateCommand{"a", cidr("10.0.1.0/24"), std::nullopt}, deadline, "space"};
}
Pending claim(RequestId id, Millis deadline = Millis{100}) {
  return {id, ClaimCommand{"c", cidr("10.0.2.7/24")}, deadline, "a peer"};
}

std::vector<RequestId> ids(const std::vector<Pending>& ps) {
  std::vector<RequestId> out;
  for (const Pending& p : ps) {
    out.push_back(p.id);
  }
  return out;
}

TEST(PendingQueueTest, RetriesClaimsFirstThenTheRestInArrivalOrder) {
  PendingQueue q;
  q.add(allocate(1));
  q.add(claim(2));
  q.add({3, PrimeCommand{}, Millis{100}, "the ring"});
  q.add(claim(4));
  std::vector<RequestId> tried;
  q.retry([&](Pending& p) {
    tried.push_back(p.id);
    return p.id % 2 == 0;  // the claims finish
  });
  EXPECT_EQ(tried, (std::vector<RequestId>{2, 4, 1, 3}));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.items().front().id, 1u);
}

TEST(PendingQueueTest, AnAttemptMayUpdateWhatACommandWaitsFor) {
  PendingQueue q;
  q.add(allocate(1));
  q.retry([](Pending& p) {
    p.waiting_for = "peer x";
    return false;
  });
  EXPECT_EQ(q.items().front().waiting_for, "peer x");
}

TEST(PendingQueueTest, ExpireTakesOutWhatReachedItsDeadline) {
  PendingQueue q;
  q.add(allocate(1, Millis{50}));
  q.add(claim(2, Millis{200}));
  q.add(allocate(3, Millis{100}));
  EXPECT_TRUE(q.expire(Millis{49}).empty());
  EXPECT_EQ(ids(q.expire(Millis{100})), (std::vector<RequestId>{1, 3}));  // inclusive
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(ids(q.take_all()), (std::vector<RequestId>{2}));
  EXPECT_TRUE(q.empty());
}

TEST(PendingQueueTest, TakeIfTakesOnlyThePicked) {
  PendingQueue q;
  q.add(allocate(1));
  q.add(claim(2));
  q.add(claim(3));
  std::vector<Pending> claims =
      q.take_if([](const Pending& p) { return std::holds_alternative<ClaimCommand>(p.command); });
  EXPECT_EQ(ids(claims), (std::vector<RequestId>{2, 3}));
  EXPECT_EQ(q.size(), 1u);
}

TEST(PendingQueueTest, NeedsTheSubnetsOfAllocationsAndTheAddressesOfClaims) {
  PendingQueue q;
  q.add(allocate(1));  // 10.0.1.0/24
  q.add(claim(2));     // 10.0.2.7
  EXPECT_TRUE(q.needs(cidr("10.0.0.0/16").range()));
  EXPECT_TRUE(q.needs(cidr("10.0.1.128/25").range()));
  EXPECT_TRUE(q.needs(cidr("10.0.2.7/32").range()));
  EXPECT_FALSE(q.needs(cidr("10.0.2.8/32").range()));
  EXPECT_FALSE(q.needs(cidr("10.0.3.0/24").range()));
  EXPECT_FALSE(PendingQueue().needs(cidr("10.0.0.0/8").range()));
}

}  // namespace
}  // namespace wipam::ring
