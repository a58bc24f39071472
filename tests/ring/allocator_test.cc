// The allocator's rules, one short scenario each, on one or two allocators driven by hand:
// no simulation, no faults (tests/sim runs the same rules under both). Each test names the
// rule it states.
#include "ring/allocator.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/ring/hand_peers.h"

namespace wipam::ring {
namespace {

using hand::addr;
using hand::allocate;
using hand::cidr;
using hand::first;
using hand::Peers;
using hand::seeds;

TEST(AllocatorTest, AllocateHandsOutTheLowestFreeHostAndStoresIt) {
  Peers net(1, seeds(1));
  EXPECT_EQ(first(net.call(1, allocate("c1", "10.32.1.0/24"))), "10.32.1.1/24");
  EXPECT_EQ(net.store(1).at(allocation_key(addr("10.32.1.1"))), "24 c1");
  EXPECT_EQ(first(net.call(1, allocate("c2", "10.32.1.0/24"))), "10.32.1.2/24");
}

TEST(AllocatorTest, AllocateIsIdempotentForAnOwnerInASubnet) {
  Peers net(1, seeds(1));
  std::string a = first(net.call(1, allocate("c1", "10.32.1.0/24")));
  EXPECT_EQ(first(net.call(1, allocate("c1", "10.32.1.0/24"))), a);
  EXPECT_EQ(net.peer(1).allocations().size(), 1u);
  EXPECT_EQ(first(net.call(1, allocate("c1", "10.32.2.0/24"))), "10.32.2.1/24");
}

TEST(AllocatorTest, AnAnonymousAllocationIsRecordedUnderItsOwnAddress) {
  Peers net(1, seeds(1));
  EXPECT_EQ(first(net.call(1, allocate("", "10.32.1.0/24"))), "10.32.1.1/24");
  EXPECT_EQ(net.peer(1).allocations().at(addr("10.32.1.1")), "10.32.1.1");
  EXPECT_EQ(first(net.call(1, allocate("", "10.32.1.0/24"))), "10.32.1.2/24");  // never reused
}

TEST(AllocatorTest, AClaimTakesExactlyThatAddressOnceForItsOwner) {
  Peers net(1, seeds(1));
  EXPECT_EQ(first(net.call(1, ClaimCommand{"c1", cidr("10.32.0.9/24")})), "10.32.0.9/24");
  EXPECT_EQ(first(net.call(1, ClaimCommand{"c1", cidr("10.32.0.9/24")})), "10.32.0.9/24");
  std::optional<Reply> other = net.call(1, ClaimCommand{"c2", cidr("10.32.0.9/24")});
  EXPECT_EQ(other->status.code(), Code::kAlreadyExists);
  EXPECT_NE(other->status.message().find("already in use by c1"), std::string::npos);
  // An anonymous claim (Docker's --ip) of a held address fails too.
  EXPECT_EQ(net.call(1, ClaimCommand{"", cidr("10.32.0.9/24")})->status.code(),
            Code::kAlreadyExists);
}

TEST(AllocatorTest, ReleaseFreesOnlyForTheHolderAndIsIdempotent) {
  Peers net(1, seeds(1));
  net.call(1, allocate("c1", "10.32.1.0/24"));
  EXPECT_TRUE(net.call(1, ReleaseCommand{addr("10.32.1.1"), "someone-else"})->status.ok());
  EXPECT_TRUE(net.peer(1).allocations().contains(addr("10.32.1.1")));
  EXPECT_TRUE(net.call(1, ReleaseCommand{addr("10.32.1.1"), "c1"})->status.ok());
  EXPECT_FALSE(net.peer(1).allocations().contains(addr("10.32.1.1")));
  EXPECT_FALSE(net.store(1).contains(allocation_key(addr("10.32.1.1"))));
  EXPECT_TRUE(net.call(1, ReleaseCommand{addr("10.32.1.1"), std::nullopt})->status.ok());
  EXPECT_EQ(first(net.call(1, allocate("c2", "10.32.1.0/24"))), "10.32.1.1/24");  // free again
}

TEST(AllocatorTest, ReleasingAnOwnerFreesAndReturnsEveryAddressItHeld) {
  Peers net(1, seeds(1));
  net.call(1, allocate("c1", "10.32.1.0/24"));
  net.call(1, allocate("c1", "10.32.2.0/24"));
  net.call(1, allocate("c2", "10.32.1.0/24"));
  std::optional<Reply> released = net.call(1, ReleaseOwnerCommand{"c1"});
  ASSERT_EQ(released->addresses.size(), 2u);
  EXPECT_EQ(released->addresses[0].to_string(), "10.32.1.1/24");
  EXPECT_EQ(released->addresses[1].to_string(), "10.32.2.1/24");
  EXPECT_EQ(net.peer(1).allocations().size(), 1u);
  EXPECT_TRUE(net.call(1, ReleaseOwnerCommand{"c1"})->addresses.empty());  // idempotent
}

TEST(AllocatorTest, BindMovesAnAddressToItsRealOwnerAndLookupFindsIt) {
  Peers net(1, seeds(1));
  net.call(1, allocate("", "10.32.1.0/24"));
  EXPECT_TRUE(net.call(1, BindCommand{addr("10.32.1.1"), "container-7"})->status.ok());
  std::optional<Reply> found = net.call(1, LookupCommand{"container-7"});
  ASSERT_EQ(found->addresses.size(), 1u);
  EXPECT_EQ(found->addresses[0].to_string(), "10.32.1.1/24");  // its prefix is kept
  EXPECT_EQ(net.store(1).at(allocation_key(addr("10.32.1.1"))), "24 container-7");
  EXPECT_EQ(net.call(1, BindCommand{addr("10.32.1.2"), "x"})->status.code(), Code::kNotFound);
}

TEST(AllocatorTest, CommandsOutsideTheAllocationRangeAreRefused) {
  Peers net(1, seeds(1));
  EXPECT_EQ(net.call(1, allocate("c1", "10.99.0.0/24"))->status.code(), Code::kInvalidArgument);
  EXPECT_EQ(net.call(1, ClaimCommand{"c1", cidr("10.99.0.1/24")})->status.code(),
            Code::kInvalidArgument);
  EXPECT_EQ(net.call(1, allocate(std::string(2000, 'x'), "10.32.0.0/24"))->status.code(),
            Code::kInvalidArgument);
}

TEST(AllocatorTest, AFullSubnetFailsAtOnceWhenNoPeerHasSpace) {
  Peers net(1, seeds(1));
  EXPECT_EQ(first(net.call(1, allocate("a", "10.32.0.0/30"))), "10.32.0.1/30");
  EXPECT_EQ(first(net.call(1, allocate("b", "10.32.0.0/30"))), "10.32.0.2/30");
  std::optional<Reply> full = net.call(1, allocate("c", "10.32.0.0/30"), Millis{0});
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status.code(), Code::kExhausted);
  EXPECT_NE(full->status.message().find("no free addresses left"), std::string::npos);
}

TEST(AllocatorTest, ACommandWaitsForTheRingAndFailsAtItsDeadline) {
  Peers net(1, ConsensusInit{2});  // the second elector never comes
  std::optional<Reply> r = net.call(1, allocate("c1", "10.32.1.0/24"), Millis{0});
  EXPECT_FALSE(r);
  EXPECT_EQ(net.peer(1).pending_count(), 1u);
  StatusReport status = net.peer(1).status();
  EXPECT_EQ(status.consensus, ConsensusState::kWaiting);
  ASSERT_EQ(status.pending_allocates.size(), 1u);
  EXPECT_NE(status.pending_allocates[0].find("consensus on the ring (quorum 2, known 1)"),
            std::string::npos);
  net.run(Millis{15000});
  std::optional<Reply> late = net.reply(1);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status.code(), Code::kDeadlineExceeded);
  EXPECT_EQ(net.peer(1).pending_count(), 0u);
}

TEST(AllocatorTest, WaitingClaimsAreAnsweredBeforeWaitingAllocations) {
  Peers net(2, ConsensusInit{2});
  // Peer 2 will own the upper half; both wait for the ring, the allocation first.
  std::optional<Reply> a = net.call(2, allocate("c1", "10.32.200.0/24"), Millis{0});
  std::optional<Reply> c = net.call(2, ClaimCommand{"c2", cidr("10.32.200.1/24")}, Millis{0});
  EXPECT_FALSE(a || c);
  net.connect();
  net.run(Millis{10000}, 1);
  net.run(Millis{1000});
  EXPECT_EQ(first(net.reply(2)), "10.32.200.1/24");  // the claim got the address in use
  EXPECT_EQ(first(net.reply(1)), "10.32.200.2/24");
  EXPECT_EQ(net.peer(1).status().consensus, ConsensusState::kAchieved);
}

// The owner gives the biggest aligned free block of the subnet asked for, or its upper half
// when that block is more than half of what is free there.
TEST(AllocatorTest, APeerWithoutSpaceIsGivenTheUpperHalfOfTheSubnetByItsOwner) {
  Peers net(2, seeds(2));  // peer 1 owns 10.32.0.0/17, peer 2 the rest
  net.connect();
  EXPECT_EQ(first(net.call(1, allocate("c1", "10.32.200.0/24"))), "10.32.200.128/24");
  EXPECT_TRUE(net.saw_event(EventKind::kDonated));
  EXPECT_EQ(net.peer(2).ring().owner(addr("10.32.200.128")), PeerName(1));
  EXPECT_EQ(net.peer(2).ring().owner(addr("10.32.200.255")), PeerName(1));
  EXPECT_EQ(net.peer(2).ring().owner(addr("10.32.200.127")), PeerName(2));
  EXPECT_TRUE(net.peer(1).check_invariants().ok());
  EXPECT_TRUE(net.peer(2).check_invariants().ok());
}

// A donation's ring goes to its taker at once; everyone else hears of a burst of donations
// in one broadcast per ring_broadcast_interval, not one each.
TEST(AllocatorTest, DonationsReachTheirTakerAtOnceAndEveryoneInOneBroadcastPerInterval) {
  Peers net(3, seeds(3));
  net.connect();
  auto ring_updates = [](const Effects& fx, Delivery delivery) {
    return std::count_if(fx.messages.begin(), fx.messages.end(), [&](const OutgoingMessage& m) {
      return m.delivery == delivery && std::holds_alternative<RingUpdate>(m.message);
    });
  };
  Range everything = cidr("10.32.0.0/16").range();
  Millis t = net.now() + Millis{60'000};
  Effects first = net.peer(2).message(t, PeerName(1), SpaceRequest{everything});
  EXPECT_EQ(ring_updates(first, Delivery::kUnicast), 1);
  EXPECT_EQ(ring_updates(first, Delivery::kBroadcast), 1);
  Effects second = net.peer(2).message(t + Millis{10}, PeerName(3), SpaceRequest{everything});
  EXPECT_EQ(ring_updates(second, Delivery::kUnicast), 1);
  EXPECT_EQ(ring_updates(second, Delivery::kBroadcast), 0);  // owed
  EXPECT_EQ(ring_updates(net.peer(2).tick(t + Millis{100}), Delivery::kBroadcast), 0);
  EXPECT_EQ(ring_updates(net.peer(2).tick(t + Millis{300}), Delivery::kBroadcast), 1);
  EXPECT_EQ(ring_updates(net.peer(2).tick(t + Millis{600}), Delivery::kBroadcast), 0);  // paid
}

TEST(AllocatorTest, AClaimInAnotherPeersRangeIsHandedOverExactly) {
  Peers net(2, seeds(2));
  net.connect();
  EXPECT_EQ(first(net.call(1, ClaimCommand{"c1", cidr("10.32.200.5/16")})), "10.32.200.5/16");
  EXPECT_EQ(net.peer(1).ring().owner(addr("10.32.200.5")), PeerName(1));
  EXPECT_EQ(net.peer(1).ring().owner(addr("10.32.200.6")), PeerName(2));
}

TEST(AllocatorTest, AClaimOfAnAddressItsOwnerUsesFails) {
  Peers net(2, seeds(2));
  net.connect();
  EXPECT_EQ(first(net.call(2, allocate("c1", "10.32.200.0/24"))), "10.32.200.1/24");
  std::optional<Reply> r = net.call(1, ClaimCommand{"c2", cidr("10.32.200.1/24")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code(), Code::kAlreadyExists);
  EXPECT_NE(r->status.message().find("already in use on peer"), std::string::npos);
}

TEST(AllocatorTest, RmpeerTakesOverAGonePeersRangesOnly) {
  Peers net(2, seeds(2));
  net.take(PeerName(1), net.peer(1).peer_up(net.now(), {PeerName(2), "p2", 2}));
  EXPECT_EQ(net.call(1, RemovePeerCommand{PeerName(2)})->status.code(),
            Code::kFailedPrecondition);  // reachable: refused unless forced
  EXPECT_EQ(net.call(1, RemovePeerCommand{PeerName(1)})->status.code(), Code::kInvalidArgument);
  net.take(PeerName(1), net.peer(1).peer_down(net.now(), PeerName(2)));
  std::optional<Reply> r = net.call(1, RemovePeerCommand{PeerName(2)});
  ASSERT_TRUE(r->status.ok()) << r->status.to_string();
  EXPECT_EQ(r->text, "32768 addresses taken over from 00:00:00:00:00:02(p2)");
  EXPECT_EQ(net.peer(1).ring().owner(addr("10.32.255.1")), PeerName(1));
  EXPECT_EQ(first(net.call(1, allocate("c1", "10.32.255.0/24"))), "10.32.255.1/24");
}

TEST(AllocatorTest, ARingCreatedApartStopsNewAddressesUntilTheConflictEnds) {
  Peers net(1, seeds(1));
  PeerIdentity stranger{PeerName(9), "p9", 9};
  Effects fx = net.peer(1).ring_conflict(net.now(), stranger, {PeerName(9)});
  ASSERT_EQ(fx.ring_conflicts.size(), 1u);
  EXPECT_EQ(net.call(1, allocate("c1", "10.32.1.0/24"))->status.code(), Code::kConflict);
  EXPECT_FALSE(net.peer(1).status().ready);
  // The stranger comes back as another incarnation (its state wiped): the conflict ends.
  net.take(PeerName(1), net.peer(1).peer_up(net.now(), {PeerName(9), "p9", 10}));
  EXPECT_EQ(first(net.call(1, allocate("c1", "10.32.1.0/24"))), "10.32.1.1/24");
}

TEST(AllocatorTest, AddressesHeldForAPeerAreReservedUntilItLetsThemGo) {
  Peers net(1, seeds(1));
  net.take(PeerName(1), net.peer(1).message(net.now(), PeerName(2),
                                            PeerMessage{HeldAddresses{{addr("10.32.0.7")}}}));
  EXPECT_EQ(net.peer(1).allocations().at(addr("10.32.0.7")), peer_owner(PeerName(2)));
  EXPECT_EQ(net.call(1, ClaimCommand{"c1", cidr("10.32.0.7/24")})->status.code(),
            Code::kAlreadyExists);
  EXPECT_EQ(net.peer(1).status().reserved_for_peers, 1u);
  net.take(PeerName(1), net.peer(1).message(net.now(), PeerName(2), PeerMessage{HeldAddresses{}}));
  EXPECT_EQ(first(net.call(1, ClaimCommand{"c1", cidr("10.32.0.7/24")})), "10.32.0.7/24");
}

TEST(AllocatorTest, ARestartRestoresEveryAllocationFromTheStore) {
  Peers net(1, seeds(1));
  net.call(1, allocate("c1", "10.32.1.0/24"));
  net.call(1, ClaimCommand{"c2", cidr("10.32.1.9/24")});
  Allocator again(Peers::config(1, seeds(1)));
  ASSERT_TRUE(again.start(Millis{0}, net.store(1)).ok());
  EXPECT_EQ(again.lookup("c2").at(0).to_string(), "10.32.1.9/24");
  Effects fx = again.command(Millis{1}, 1, allocate("c3", "10.32.1.0/24"));
  ASSERT_EQ(fx.replies.size(), 1u);
  EXPECT_EQ(fx.replies[0].addresses.at(0).to_string(), "10.32.1.2/24");
  EXPECT_TRUE(again.check_invariants().ok());
}

TEST(AllocatorTest, ShutdownCancelsWaitingCommandsAndLaterOnes) {
  Peers net(1, ObserverInit{});  // waits for a ring that never comes
  EXPECT_FALSE(net.call(1, allocate("c1", "10.32.1.0/24"), Millis{0}));
  Effects stop = net.peer(1).shutdown(net.now());
  ASSERT_EQ(stop.replies.size(), 1u);
  EXPECT_EQ(stop.replies[0].status.code(), Code::kCancelled);
  EXPECT_EQ(net.call(1, PrimeCommand{})->status.code(), Code::kCancelled);
}

}  // namespace
}  // namespace wipam::ring
