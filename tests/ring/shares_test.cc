// Shared claims (ring/shares.h): a gateway that every host's network names is held on every
// peer that claims it for the same owner, stays allocated until its last holder lets it go,
// and is never handed to another owner meanwhile. Three peers driven by hand.
#include "ring/shares.h"

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "ring/store_records.h"
#include "tests/ring/hand_peers.h"

namespace wipam::ring {
namespace {

using hand::addr;
using hand::cidr;
using hand::first;
using hand::Peers;
using hand::seeds;

const std::string kGateway = "gateway:weave-10.32.5.0/24";

ClaimCommand shared_claim(const char* address, const std::string& owner = kGateway) {
  return {owner, cidr(address), Sharing::kOffer};
}

// Three seeded, connected peers; the gateway's address lies in peer 1's space.
class SharesTest : public ::testing::Test {
 protected:
  SharesTest() : net_(3, seeds(3)) { net_.connect(); }

  // The `skip`-th address ".1" of peer `i`'s space, as "a.b.c.d/24" text.
  std::string owned_by(int i, int skip = 0) {
    for (int third = 0; third < 256; ++third) {
      std::string a = "10.32." + std::to_string(third) + ".1";
      if (net_.peer(1).ring().owner(addr(a.c_str())) == PeerName(i) && skip-- == 0) {
        return a + "/24";
      }
    }
    return "";
  }
  std::string holder(int peer, const std::string& cidr_text) {
    const auto& all = net_.peer(peer).allocations();
    auto it = all.find(cidr(cidr_text.c_str()).address());
    return it == all.end() ? "(free)" : it->second;
  }
  // The gateway address in peer 1's space, claimed for kGateway on each of `peers` in turn.
  std::string gateway_held_by(std::initializer_list<int> peers) {
    std::string g = owned_by(1);
    for (int i : peers) {
      EXPECT_EQ(first(net_.call(i, shared_claim(g.c_str()))), g) << "peer " << i;
    }
    return g;
  }
  // Peer `i` as it starts again from its store (the running one goes on beside it).
  std::unique_ptr<Allocator> restarted(int i) {
    auto again = std::make_unique<Allocator>(Peers::config(i, seeds(3)));
    EXPECT_TRUE(again->start(Millis{0}, net_.store(i)).ok());
    return again;
  }
  std::optional<Reply> release(int peer, const std::string& a, const std::string& owner) {
    return net_.call(peer, ReleaseCommand{cidr(a.c_str()).address(), owner});
  }
  // Hands `m` from peer `from` to peer `to` now, as the network would.
  void deliver(int from, int to, const PeerMessage& m) {
    net_.take(PeerName(to), net_.peer(to).message(net_.now(), PeerName(from), m));
  }

  Peers net_;
};

TEST_F(SharesTest, EveryPeerClaimingTheGatewayForTheSameOwnerHoldsIt) {
  std::string g = owned_by(1);
  ASSERT_FALSE(g.empty());
  for (int i : {1, 2, 3}) {
    EXPECT_EQ(first(net_.call(i, shared_claim(g.c_str()))), g) << "peer " << i;
    EXPECT_EQ(holder(i, g), kGateway) << "peer " << i;
  }
  // The holder knows who shares it, durably; nobody reports a duplicate.
  std::string stored = net_.store(1).at(share_key(cidr(g.c_str()).address()));
  EXPECT_EQ(stored, "2 00:00:00:00:00:02 00:00:00:00:00:03 " + kGateway);
  EXPECT_FALSE(net_.saw_event(EventKind::kDuplicate));
  EXPECT_TRUE(net_.saw_event(EventKind::kShared));
  // Asking again is idempotent.
  EXPECT_EQ(first(net_.call(2, shared_claim(g.c_str()))), g);
  for (int i : {1, 2, 3}) {
    EXPECT_TRUE(net_.peer(i).check_invariants().ok());
  }
}

TEST_F(SharesTest, AnAddressHeldForAnotherOwnerIsNeverShared) {
  std::string g = owned_by(1);
  ASSERT_EQ(first(net_.call(1, ClaimCommand{"container-7", cidr(g.c_str())})), g);
  std::optional<Reply> r = net_.call(2, shared_claim(g.c_str()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code(), Code::kAlreadyExists);
  EXPECT_NE(r->status.message().find("already in use on peer"), std::string::npos);
  EXPECT_EQ(holder(2, g), "(free)");
  // Nor is a shared gateway given to a plain claim of its owner, or to another pool's.
  std::string g2 = owned_by(1, 1);
  ASSERT_TRUE(release(1, g, "container-7")->status.ok());
  ASSERT_EQ(first(net_.call(1, shared_claim(g2.c_str()))), g2);
  EXPECT_EQ(net_.call(2, ClaimCommand{kGateway, cidr(g2.c_str())})->status.code(),
            Code::kAlreadyExists);
  EXPECT_EQ(net_.call(2, shared_claim(g2.c_str(), "gateway:weave-other"))->status.code(),
            Code::kAlreadyExists);
  EXPECT_EQ(net_.call(2, ClaimCommand{"", cidr(g2.c_str()), Sharing::kJoin})->status.code(),
            Code::kAlreadyExists);
}

// A swarm manager's allocation is offered; the nodes running its tasks join it anonymously.
TEST_F(SharesTest, AnOfferedAllocationIsJoinedByAnonymousClaimsOnOtherPeers) {
  std::string subnet = owned_by(1);
  std::optional<Reply> task =
      net_.call(1, AllocateCommand{"", cidr(subnet.c_str()), std::nullopt, /*offer_share=*/true});
  ASSERT_TRUE(task && task->status.ok());
  std::string t = task->addresses.at(0).to_string();
  Address a = task->addresses.at(0).address();
  for (int i : {2, 3}) {
    EXPECT_EQ(first(net_.call(i, ClaimCommand{"", cidr(t.c_str()), Sharing::kJoin})), t);
    EXPECT_EQ(holder(i, t), a.to_string());
  }
  // A node's events bind its container: the shared owner stays, on every holder.
  ASSERT_TRUE(net_.call(2, BindCommand{a, std::string(64, 'c')})->status.ok());
  EXPECT_EQ(holder(2, t), a.to_string());
  net_.run(Millis{200});
  EXPECT_FALSE(net_.saw_event(EventKind::kDuplicate));
  // The manager lets go first: a node still running the task keeps it.
  ASSERT_TRUE(release(1, t, a.to_string())->status.ok());
  EXPECT_TRUE(is_peer_owner(holder(1, t)));
  ASSERT_TRUE(release(2, t, a.to_string())->status.ok());
  ASSERT_TRUE(release(3, t, a.to_string())->status.ok());
  net_.run(Millis{200});
  EXPECT_EQ(holder(1, t), "(free)");
}

TEST_F(SharesTest, AJoinNeverTakesWhatWasNotOffered) {
  std::string subnet = owned_by(1);
  std::optional<Reply> plain =
      net_.call(1, AllocateCommand{"", cidr(subnet.c_str()), std::nullopt});
  ASSERT_TRUE(plain && plain->status.ok());
  std::string p = plain->addresses.at(0).to_string();
  std::optional<Reply> r = net_.call(2, ClaimCommand{"", cidr(p.c_str()), Sharing::kJoin});
  EXPECT_EQ(r->status.code(), Code::kAlreadyExists);
  EXPECT_NE(r->status.message().find("already in use on peer"), std::string::npos);
  // A free address is handed over and held alone: nobody may join it.
  std::string free = owned_by(1, 2);
  ASSERT_EQ(first(net_.call(2, ClaimCommand{"", cidr(free.c_str()), Sharing::kJoin})), free);
  EXPECT_EQ(net_.call(3, ClaimCommand{"", cidr(free.c_str()), Sharing::kJoin})->status.code(),
            Code::kAlreadyExists);
}

TEST_F(SharesTest, AHostileShareRequestForAReservationOrAnAnonymousAddressIsDenied) {
  std::string a = owned_by(1);
  Address address = cidr(a.c_str()).address();
  ASSERT_EQ(first(net_.call(1, ClaimCommand{"", cidr(a.c_str())})), a);  // anonymous
  for (const std::string& owner : {address.to_string(), peer_owner(PeerName(1))}) {
    Effects fx = net_.peer(1).message(net_.now(), PeerName(2), ShareRequest{address, owner});
    bool denied = false;
    for (const OutgoingMessage& m : fx.messages) {
      denied |= std::holds_alternative<SpaceDenied>(m.message);
      EXPECT_FALSE(std::holds_alternative<ShareGranted>(m.message)) << owner;
    }
    EXPECT_TRUE(denied) << owner;
  }
  EXPECT_EQ(holder(1, a), address.to_string());
}

TEST_F(SharesTest, TheAddressStaysAllocatedUntilItsLastHolderReleasesIt) {
  std::string g = owned_by(1);
  for (int i : {1, 2, 3}) {
    ASSERT_EQ(first(net_.call(i, shared_claim(g.c_str()))), g);
  }
  ASSERT_TRUE(release(1, g, kGateway)->status.ok());
  EXPECT_EQ(holder(1, g), peer_owner(PeerName(2)));  // kept for a sharer
  EXPECT_EQ(net_.call(1, ClaimCommand{"c9", cidr(g.c_str())})->status.code(), Code::kAlreadyExists);
  ASSERT_TRUE(release(2, g, kGateway)->status.ok());
  net_.run(Millis{200});
  EXPECT_EQ(holder(2, g), "(free)");
  EXPECT_EQ(holder(1, g), peer_owner(PeerName(3)));
  EXPECT_EQ(net_.call(1, ClaimCommand{"c9", cidr(g.c_str())})->status.code(), Code::kAlreadyExists);
  ASSERT_TRUE(release(3, g, kGateway)->status.ok());
  net_.run(Millis{200});
  EXPECT_EQ(holder(1, g), "(free)");
  EXPECT_EQ(net_.store(1).count(share_key(cidr(g.c_str()).address())), 0u);
  EXPECT_EQ(first(net_.call(1, ClaimCommand{"c9", cidr(g.c_str())})), g);
  EXPECT_TRUE(net_.peer(1).check_invariants().ok());
}

TEST_F(SharesTest, AHolderThatReleasedItTakesItBackBesideItsSharer) {
  std::string g = gateway_held_by({1, 2});
  ASSERT_TRUE(release(1, g, kGateway)->status.ok());
  ASSERT_EQ(holder(1, g), peer_owner(PeerName(2)));
  EXPECT_EQ(first(net_.call(1, shared_claim(g.c_str()))), g);  // the network comes back
  EXPECT_EQ(holder(1, g), kGateway);
  ASSERT_TRUE(release(2, g, kGateway)->status.ok());
  net_.run(Millis{200});
  EXPECT_EQ(holder(1, g), kGateway);  // peer 2 let go; peer 1 still holds it
  EXPECT_TRUE(net_.peer(1).check_invariants().ok());
}

TEST_F(SharesTest, AFreeAddressIsHandedOverAndThenSharedByItsNewOwner) {
  std::string g = owned_by(1);
  ASSERT_EQ(first(net_.call(2, shared_claim(g.c_str()))), g);
  EXPECT_EQ(net_.peer(1).ring().owner(cidr(g.c_str()).address()), PeerName(2));
  ASSERT_EQ(first(net_.call(3, shared_claim(g.c_str()))), g);
  EXPECT_EQ(holder(2, g), kGateway);
  EXPECT_EQ(holder(3, g), kGateway);
}

TEST_F(SharesTest, WhenTheRingMovesASharedAddressItsHoldersShareItWithTheNewOwner) {
  std::string g = owned_by(1);
  for (int i : {1, 2, 3}) {
    ASSERT_EQ(first(net_.call(i, shared_claim(g.c_str()))), g);
  }
  net_.kill(1);
  std::optional<Reply> rm = net_.call(2, RemovePeerCommand{PeerName(1)});
  ASSERT_TRUE(rm && rm->status.ok()) << (rm ? rm->status.to_string() : "no reply");
  net_.run(Millis{2000});  // peer 3 learns the ring and tells peer 2 what it holds there
  EXPECT_EQ(net_.peer(2).ring().owner(cidr(g.c_str()).address()), PeerName(2));
  EXPECT_FALSE(net_.saw_event(EventKind::kDuplicate));
  EXPECT_EQ(net_.store(2).at(share_key(cidr(g.c_str()).address())),
            "1 00:00:00:00:00:03 " + kGateway);
  ASSERT_TRUE(release(2, g, kGateway)->status.ok());
  EXPECT_EQ(holder(2, g), peer_owner(PeerName(3)));
  ASSERT_TRUE(release(3, g, kGateway)->status.ok());
  net_.run(Millis{200});
  EXPECT_EQ(holder(2, g), "(free)");
  EXPECT_TRUE(net_.peer(2).check_invariants().ok());
}

// A join that found the address free holds it alone; a peer that says it shares it for the
// same owner (it joined the holder's offer before an rmpeer whose taker never heard of it,
// say) shares it, not a duplicate. For another owner it is one.
TEST_F(SharesTest, AHolderAloneSharesWithAPeerHoldingItForTheSameOwner) {
  std::string g = owned_by(1);
  Address a = cidr(g.c_str()).address();
  ASSERT_EQ(first(net_.call(1, ClaimCommand{kGateway, cidr(g.c_str()), Sharing::kJoin})), g);
  deliver(3, 1, HeldAddresses{{}, {{a, kGateway}}});
  net_.run();
  EXPECT_FALSE(net_.saw_event(EventKind::kDuplicate));
  EXPECT_EQ(net_.store(1).at(share_key(a)), "1 00:00:00:00:00:03 " + kGateway);
  deliver(2, 1, HeldAddresses{{}, {{a, "gateway:weave-other"}}});
  EXPECT_TRUE(net_.saw_event(EventKind::kDuplicate));
}

// The network may reorder a sharer's messages: a held-addresses it sent before its share was
// granted (without the address) arriving after the grant's must not end the share.
TEST_F(SharesTest, AnOutOfDateHeldAddressesDoesNotEndAShare) {
  std::string g = gateway_held_by({1, 2});
  auto shared = [&] { return net_.store(1)[share_key(cidr(g.c_str()).address())]; };
  ASSERT_EQ(shared(), "1 00:00:00:00:00:02 " + kGateway);
  deliver(2, 1, HeldAddresses{{}, {}, {}, 2, 1});
  EXPECT_EQ(shared(), "1 00:00:00:00:00:02 " + kGateway);
  // Nor does one it sent before asking again (its share-request orders it too).
  Address a = cidr(g.c_str()).address();
  deliver(2, 1, ShareRequest{a, kGateway, 2, 500});
  deliver(2, 1, HeldAddresses{{}, {}, {}, 2, 400});
  EXPECT_EQ(shared(), "1 00:00:00:00:00:02 " + kGateway);
  // A later one without it does: the sharer let go.
  deliver(2, 1, HeldAddresses{{}, {}, {}, 2, 1000});
  EXPECT_EQ(shared(), "0 " + kGateway);
}

// A run without an incarnation id has no order to keep: its held-addresses are taken as
// they come, so a restart that counts from 1 again is never ignored.
TEST_F(SharesTest, HeldAddressesWithoutAnIncarnationAreTakenAsTheyCome) {
  std::string g = gateway_held_by({1, 2});
  Address a = cidr(g.c_str()).address();
  auto shared = [&] { return net_.store(1)[share_key(a)]; };
  deliver(2, 1, HeldAddresses{{}, {{a, kGateway}}, {}, 0, 5});
  EXPECT_EQ(shared(), "1 00:00:00:00:00:02 " + kGateway);
  deliver(2, 1, HeldAddresses{{}, {}, {}, 0, 3});
  EXPECT_EQ(shared(), "0 " + kGateway);
}

// A sharer that asked to share, and sent its held-addresses before the grant reached it,
// lists the share as asked: the holder keeps the grant on its way, which the sharer's claim
// then takes. Without that, the holder ended the share and gave the address to another owner.
TEST_F(SharesTest, AHeldAddressesSentWhileAShareIsAskedKeepsTheGrant) {
  std::string kept = gateway_held_by({1, 2});
  std::string asked = owned_by(1, 1);
  Address a = cidr(asked.c_str()).address();
  ASSERT_EQ(first(net_.call(1, shared_claim(asked.c_str()))), asked);
  // Peer 2 asks; its ask is lost on the way, and its held-addresses (after a release) goes.
  Result<Effects> ask = net_.peer(2).command(net_.now(), 900, shared_claim(asked.c_str()));
  ASSERT_TRUE(ask.ok() && ask->messages.size() == 1);
  auto request = std::get<ShareRequest>(ask->messages.front().message);
  Result<Effects> told =
      net_.peer(2).command(net_.now(), 901, ReleaseCommand{cidr(kept.c_str()).address(), kGateway});
  ASSERT_TRUE(told.ok());
  const HeldAddresses* held = nullptr;
  for (const OutgoingMessage& m : told->messages) {
    held = held != nullptr ? held : std::get_if<HeldAddresses>(&m.message);
  }
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->asked, (std::vector<SharedHolding>{{a, kGateway}}));
  // The grant, then that held-addresses, reach peer 1 (the network reordered them).
  EXPECT_LT(request.sequence, held->sequence);
  deliver(2, 1, request);
  deliver(2, 1, *held);
  EXPECT_EQ(net_.store(1)[share_key(a)], "1 00:00:00:00:00:02 " + kGateway);
  net_.run(Millis{500});
  ASSERT_TRUE(net_.reply(900) && net_.reply(900)->status.ok());
  ASSERT_TRUE(release(1, asked, kGateway)->status.ok());
  EXPECT_EQ(holder(1, asked), peer_owner(PeerName(2)));
  EXPECT_EQ(net_.call(3, ClaimCommand{"container-9", cidr(asked.c_str())})->status.code(),
            Code::kAlreadyExists);
  // Once it no longer waits, its held-addresses ends the share.
  deliver(2, 1, HeldAddresses{{}, {}, {}, 2, 1'000'000});
  EXPECT_EQ(holder(1, asked), "(free)");
  EXPECT_TRUE(net_.peer(1).check_invariants().ok());
}

// The holder dies and is removed while a sharer is away: the taker heard the holder's shares
// (share_notices.h), so it keeps the address for the sharer and never hands it out.
TEST_F(SharesTest, AnRmpeerKeepsASharedAddressForASharerThatIsAway) {
  Peers net(4, seeds(4));
  net.connect();
  Address g = net.peer(1).ring().owned_ranges(PeerName(1)).front().start() + 1;
  Cidr gc(g, 24);
  ASSERT_EQ(first(net.call(1, ClaimCommand{kGateway, gc, Sharing::kOffer})), gc.to_string());
  ASSERT_EQ(first(net.call(4, ClaimCommand{kGateway, gc, Sharing::kJoin})), gc.to_string());
  ASSERT_TRUE(net.peer(2).shares_heard_from(PeerName(1)) != nullptr);
  net.kill(4);
  net.kill(1);
  std::optional<Reply> rm = net.call(2, RemovePeerCommand{PeerName(1)});
  ASSERT_TRUE(rm && rm->status.ok()) << (rm ? rm->status.to_string() : "no reply");
  EXPECT_EQ(net.peer(2).allocations().at(g), peer_owner(PeerName(4)));
  EXPECT_TRUE(net.saw_event(EventKind::kShared));
  EXPECT_EQ(net.call(3, ClaimCommand{"container-9", gc})->status.code(), Code::kAlreadyExists);
  EXPECT_EQ(net.peer(2).shares_heard_from(PeerName(1)), nullptr);
  // Back, the sharer still holds it; its release frees it.
  net.revive(4);
  net.run(Millis{2000});
  EXPECT_FALSE(net.saw_event(EventKind::kDuplicate));
  EXPECT_EQ(net.peer(4).allocations().at(g), kGateway);
  ASSERT_TRUE(net.call(4, ReleaseCommand{g, kGateway})->status.ok());
  net.run(Millis{500});
  EXPECT_FALSE(net.peer(2).allocations().contains(g));
  for (int i : {2, 3, 4}) {
    EXPECT_TRUE(net.peer(i).check_invariants().ok()) << "peer " << i;
  }
}

// The taker keeps the address from the moment it takes the space over, before any live
// sharer's held-addresses reach it: a claim in that same instant is refused.
TEST_F(SharesTest, AnRmpeerKeepsASharedAddressBeforeTheLiveSharersSpeak) {
  std::string g = gateway_held_by({1, 3});
  net_.kill(1);
  net_.take(PeerName(2), net_.peer(2).command(net_.now(), 950, RemovePeerCommand{PeerName(1)}));
  net_.take(PeerName(2),
            net_.peer(2).command(net_.now(), 951, ClaimCommand{"container-9", cidr(g.c_str())}));
  net_.run(Millis{1000});
  ASSERT_TRUE(net_.reply(950) && net_.reply(950)->status.ok());
  ASSERT_TRUE(net_.reply(951));
  EXPECT_EQ(net_.reply(951)->status.code(), Code::kAlreadyExists);
  EXPECT_EQ(holder(2, g), peer_owner(PeerName(3)));
  EXPECT_EQ(holder(3, g), kGateway);
  EXPECT_FALSE(net_.saw_event(EventKind::kDuplicate));
}

// A restarted peer still knows what the others share: the notices are in its store.
TEST_F(SharesTest, TheSharesHeardSurviveARestart) {
  std::string g = gateway_held_by({1, 3});
  std::unique_ptr<Allocator> again = restarted(2);
  ASSERT_NE(again->shares_heard_from(PeerName(1)), nullptr);
  EXPECT_EQ(*again->shares_heard_from(PeerName(1)), net_.peer(1).shares_notice());
  ASSERT_EQ(net_.peer(1).shares_notice().shares.size(), 1u);
  EXPECT_EQ(net_.peer(1).shares_notice().shares[0].holders, std::vector{PeerName(3)});
}

// Two hosts create the network at once: the owner of the free gateway hands it to the first
// asker, and the second, whose ring is a moment old, must not be told it is in use.
TEST_F(SharesTest, ClaimsRacingForAFreeGatewayAllSucceed) {
  std::string g = owned_by(1);
  // A donation a moment ago: the next one's broadcast waits for ring_broadcast_interval.
  Address other = cidr(owned_by(1, 1).c_str()).address();
  deliver(3, 1, SpaceRequest{Range(other, other + 1)});
  net_.take(PeerName(2), net_.peer(2).command(net_.now(), 900, shared_claim(g.c_str())));
  net_.take(PeerName(3), net_.peer(3).command(net_.now(), 901, shared_claim(g.c_str())));
  net_.run(Millis{3000});
  EXPECT_EQ(first(net_.reply(900)), g);
  EXPECT_EQ(first(net_.reply(901)), g);
  EXPECT_EQ(holder(2, g), kGateway);
  EXPECT_EQ(holder(3, g), kGateway);
  EXPECT_FALSE(net_.saw_event(EventKind::kDuplicate));
}

TEST_F(SharesTest, TheHolderRemembersItsSharersAcrossARestart) {
  std::string g = gateway_held_by({1, 2});
  std::unique_ptr<Allocator> again = restarted(1);
  Effects fx = again->command(Millis{1}, 1, ReleaseCommand{cidr(g.c_str()).address(), kGateway});
  ASSERT_EQ(fx.replies.size(), 1u);
  EXPECT_EQ(again->allocations().at(cidr(g.c_str()).address()), peer_owner(PeerName(2)));
  EXPECT_TRUE(again->check_invariants().ok());
}

}  // namespace
}  // namespace wipam::ring
