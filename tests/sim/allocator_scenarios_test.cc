// The allocator's behaviour, scenario by scenario, on a fault-free SimWorld: Weave's
// acceptance scenarios (W-n, Weave IPAM's own test scenarios) that apply to the
// allocator, and the places where we do better than Weave (§9): fair initial split, a
// clear error instead of a hang, rings created apart reported (and no new address handed
// out while they stand, since both networks own the same range).
#include <memory>

#include <gtest/gtest.h>

#include "tests/sim/sim_world.h"

namespace wipam::sim {
namespace {

using ring::Address;
using ring::Cidr;
using ring::EventKind;

using ring::Reply;

Cidr cidr(const char* text) { return *Cidr::parse(text); }
Address addr(const char* text) { return *Address::parse(text); }

Reply call(SimWorld& w, int peer, ring::Command command, Millis limit = Millis{20000}) {
  ring::RequestId id = w.submit(peer, std::move(command));
  w.run_until([&] { return w.reply(id).has_value(); }, limit);
  std::optional<Reply> r = w.reply(id);
  if (!r) {
    Reply none;
    none.status = Status::internal("no reply within the limit");
    return none;
  }
  return *r;
}

Reply allocate(SimWorld& w, int peer, const std::string& owner, const char* subnet) {
  return call(w, peer, ring::AllocateCommand{owner, cidr(subnet), std::nullopt});
}

std::string first_address(const Reply& r) {
  return r.status.ok() && !r.addresses.empty() ? r.addresses.front().to_string()
                                               : r.status.to_string();
}

SimOptions quiet(int peers, const char* universe, bool seed_mode = false) {
  SimOptions o;
  o.peers = peers;
  o.universe = cidr(universe);
  o.seed_mode = seed_mode;
  return o;
}

TEST(AllocatorScenarioTest, FirstAllocationInEachSubnetIsItsFirstHostAddress) {  // W-41
  SimWorld w(quiet(1, "10.0.0.0/16"));
  EXPECT_EQ(first_address(allocate(w, 0, "c1", "10.0.3.8/29")), "10.0.3.9/29");
  EXPECT_EQ(first_address(allocate(w, 0, "c1", "10.0.1.0/24")), "10.0.1.1/24");
  Reply lookup = call(w, 0, ring::LookupCommand{"c1"});
  ASSERT_EQ(lookup.addresses.size(), 2u);
  EXPECT_EQ(lookup.addresses[0].to_string(), "10.0.1.1/24");
  EXPECT_EQ(lookup.addresses[1].to_string(), "10.0.3.9/29");
  EXPECT_TRUE(w.check().ok()) << w.check().to_string();
}

TEST(AllocatorScenarioTest, AllocationIsIdempotentPerOwnerAndSubnet) {  // W-42
  SimWorld w(quiet(1, "10.0.0.0/24"));
  std::string a = first_address(allocate(w, 0, "c1", "10.0.0.0/24"));
  std::string b = first_address(allocate(w, 0, "c2", "10.0.0.0/24"));
  EXPECT_NE(a, b);
  EXPECT_EQ(first_address(allocate(w, 0, "c1", "10.0.0.0/24")), a);
}

TEST(AllocatorScenarioTest, ReleasedAddressesGoToTheNextOwnerLowestFirst) {  // W-43
  SimWorld w(quiet(1, "10.0.0.0/24"));
  allocate(w, 0, "c1", "10.0.0.0/25");    // .1
  allocate(w, 0, "c1", "10.0.0.128/25");  // .129
  allocate(w, 0, "c2", "10.0.0.0/24");    // .2
  Reply released = call(w, 0, ring::ReleaseOwnerCommand{"c1"});
  EXPECT_TRUE(released.status.ok());
  EXPECT_EQ(released.addresses.size(), 2u);
  EXPECT_EQ(first_address(allocate(w, 0, "c3", "10.0.0.0/24")), "10.0.0.1/24");
  EXPECT_TRUE(call(w, 0, ring::ReleaseOwnerCommand{"c1"}).status.ok());  // idempotent
}

TEST(AllocatorScenarioTest, ConsensusOfTwoPeersUnblocksTheFirstAllocation) {  // W-46, W-58
  SimWorld w(quiet(2, "10.32.0.0/12"));
  EXPECT_TRUE(w.allocator(0).ring().empty());
  Reply r = allocate(w, 0, "c1", "10.32.0.0/12");
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  w.run_until([&] { return w.converged(); }, Millis{5000});
  EXPECT_TRUE(w.converged());
  EXPECT_EQ(w.allocator(1).status().consensus, ring::ConsensusState::kAchieved);
}

TEST(AllocatorScenarioTest, ClaimBeforeTheRingExistsCompletesOnceItDoes) {  // W-47
  SimWorld w(quiet(2, "10.32.0.0/16"));
  Reply r = call(w, 1, ring::ClaimCommand{"c1", cidr("10.32.200.5/16")});
  EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_TRUE(w.allocator(1).allocations().contains(addr("10.32.200.5")));
}

TEST(AllocatorScenarioTest, ClaimInAnotherPeersFreeSpaceIsDonatedExactly) {  // W-49
  SimWorld w(quiet(2, "10.0.0.0/24", /*seed_mode=*/true));
  // Seeded: peer 0 owns .0/25, peer 1 owns .128/25.
  Reply r = call(w, 0, ring::ClaimCommand{"c1", cidr("10.0.0.200/24")});
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_EQ(w.allocator(0).ring().owner(addr("10.0.0.200")), w.name(0));
  EXPECT_EQ(first_address(allocate(w, 0, "c1", "10.0.0.192/26")), "10.0.0.200/26");
  EXPECT_TRUE(call(w, 0, ring::ClaimCommand{"c1", cidr("10.0.0.200/24")}).status.ok());
  EXPECT_TRUE(w.check().ok()) << w.check().to_string();
}

// W-50, with one deliberate difference: Weave let an anonymous claim of a held address
// succeed ("cannot prove it is a different container"); Docker's `--ip` reaches us
// anonymously, and a second container asking for an address in use must be refused.
TEST(AllocatorScenarioTest, ClaimOfAnAddressHeldByAnotherOwnerFails) {
  SimWorld w(quiet(1, "10.0.0.0/24"));
  ASSERT_TRUE(call(w, 0, ring::ClaimCommand{"c1", cidr("10.0.0.9/24")}).status.ok());
  EXPECT_TRUE(call(w, 0, ring::ClaimCommand{"c1", cidr("10.0.0.9/24")}).status.ok());
  Reply other = call(w, 0, ring::ClaimCommand{"c2", cidr("10.0.0.9/24")});
  EXPECT_EQ(other.status.code(), Code::kAlreadyExists);
  EXPECT_NE(other.status.message().find("already in use by c1"), std::string::npos);
  EXPECT_EQ(call(w, 0, ring::ClaimCommand{"", cidr("10.0.0.9/24")}).status.code(),
            Code::kAlreadyExists);
  ASSERT_TRUE(call(w, 0, ring::ClaimCommand{"", cidr("10.0.0.10/24")}).status.ok());
  EXPECT_EQ(call(w, 0, ring::ClaimCommand{"", cidr("10.0.0.10/24")}).status.code(),
            Code::kAlreadyExists);
}

TEST(AllocatorScenarioTest, ClaimOfAnAddressAllocatedOnAnotherPeerFails) {  // W-51
  SimWorld w(quiet(2, "10.0.0.0/24", /*seed_mode=*/true));
  std::string taken = first_address(allocate(w, 1, "c1", "10.0.0.128/25"));
  ASSERT_EQ(taken, "10.0.0.129/25");
  Reply r = call(w, 0, ring::ClaimCommand{"c2", cidr("10.0.0.129/24")});
  EXPECT_EQ(r.status.code(), Code::kAlreadyExists) << r.status.to_string();
  EXPECT_NE(r.status.message().find("in use on peer"), std::string::npos);
}

TEST(AllocatorScenarioTest, ExhaustionWithTheOtherPeerUnreachableFailsWithTheReason) {  // W-53
  SimOptions o = quiet(2, "10.0.0.0/28", /*seed_mode=*/true);
  o.op_deadline = Millis{3000};
  SimWorld w(o);
  w.partition({0, 1});
  // Peer 0 owns 10.0.0.0/29: hosts .1-.7 of the /28 (the network address is never used).
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(allocate(w, 0, "c" + std::to_string(i), "10.0.0.0/28").status.ok()) << i;
  }
  Reply r = allocate(w, 0, "late", "10.0.0.0/28");
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded);
  EXPECT_NE(r.status.message().find("owned by unreachable peers 00:00:00:00:00:02(peer-1)"),
            std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("rmpeer"), std::string::npos);
  EXPECT_EQ(w.allocator(0).pending_count(), 0u);
}

TEST(AllocatorScenarioTest, ExhaustionOfTheWholeRangeIsReportedAtOnce) {
  SimWorld w(quiet(2, "10.0.0.0/29", /*seed_mode=*/true));
  int granted = 0;
  Reply last;
  for (int i = 0; i < 8; ++i) {
    last = allocate(w, i % 2, "c" + std::to_string(i), "10.0.0.0/29");
    granted += last.status.ok() ? 1 : 0;
  }
  EXPECT_EQ(granted, 6);  // .1-.6: never the network or broadcast address
  EXPECT_EQ(last.status.code(), Code::kExhausted) << last.status.to_string();
  EXPECT_TRUE(w.check().ok()) << w.check().to_string();
}

TEST(AllocatorScenarioTest, ThreePeersAllocatingDoNotFragmentTheRing) {  // W-56
  for (std::uint64_t trial = 1; trial <= 100; ++trial) {
    SimOptions o = quiet(3, "10.32.0.0/12");
    o.seed = trial;
    SimWorld w(o);
    ASSERT_TRUE(allocate(w, 0, "a", "10.32.0.0/12").status.ok());
    ASSERT_TRUE(allocate(w, 1, "b", "10.32.0.0/12").status.ok());
    w.run_until([&] { return w.converged(); }, Millis{5000});
    EXPECT_LT(w.allocator(0).ring().entries().size(), 6u) << "trial " << trial;
  }
}

TEST(AllocatorScenarioTest, InitialSplitIsFairForThreePeers) {  // beats Weave's 50/25/25
  SimWorld w(quiet(3, "10.32.0.0/12", /*seed_mode=*/true));
  for (const auto& [peer, owned] : w.allocator(0).ring().owned_by_peer()) {
    EXPECT_GE(owned, (ring::Uint128{1} << 20) / 3) << peer.to_string();
    EXPECT_LE(owned, (ring::Uint128{1} << 20) / 3 + 1) << peer.to_string();
  }
}

TEST(AllocatorScenarioTest, RmpeerLetsTheSurvivorAllocateFromTheDeadPeersSpace) {  // W-57
  SimWorld w(quiet(3, "10.0.0.0/24", /*seed_mode=*/true));
  ASSERT_TRUE(allocate(w, 1, "x", "10.0.0.0/24").status.ok());
  w.crash(1);
  w.crash(2);
  Reply refused = call(w, 0, ring::RemovePeerCommand{w.name(0), false});
  EXPECT_EQ(refused.status.code(), Code::kInvalidArgument);
  Reply taken = call(w, 0, ring::RemovePeerCommand{w.name(1), false});
  ASSERT_TRUE(taken.status.ok()) << taken.status.to_string();
  EXPECT_NE(taken.text.find("85 addresses taken over from 00:00:00:00:00:02"), std::string::npos)
      << taken.text;
  ASSERT_TRUE(call(w, 0, ring::RemovePeerCommand{w.name(2), false}).status.ok());
  for (const auto& [peer, owned] : w.allocator(0).ring().owned_by_peer()) {
    EXPECT_EQ(peer, w.name(0));
  }
  for (int i = 0; i < 250; ++i) {
    ASSERT_TRUE(allocate(w, 0, "c" + std::to_string(i), "10.0.0.0/24").status.ok()) << i;
  }
}

TEST(AllocatorScenarioTest, RmpeerOfAReachablePeerIsRefusedUnlessForced) {
  SimWorld w(quiet(2, "10.0.0.0/24", /*seed_mode=*/true));
  Reply r = call(w, 0, ring::RemovePeerCommand{w.name(1), false});
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status.message().find("is reachable"), std::string::npos);
}

TEST(AllocatorScenarioTest, AFreshPeerAskingTheOwnerOfEverythingGetsHalf) {  // W-60
  SimOptions o = quiet(2, "10.32.0.0/12", /*seed_mode=*/true);
  SimWorld w(o);
  // Peer 1 gives everything to peer 0 first: rmpeer of a crashed peer, then restart empty.
  w.crash(1);
  ASSERT_TRUE(call(w, 0, ring::RemovePeerCommand{w.name(1), false}).status.ok());
  w.restart(1);
  w.run_until([&] { return w.converged(); }, Millis{5000});
  ASSERT_TRUE(allocate(w, 1, "c", "10.32.0.0/12").status.ok());
  w.run_until([&] { return w.converged(); }, Millis{5000});
  auto owned = w.allocator(0).ring().owned_by_peer();
  EXPECT_EQ(owned[w.name(0)], ring::Uint128{1} << 19);
  EXPECT_EQ(owned[w.name(1)], ring::Uint128{1} << 19);
}

TEST(AllocatorScenarioTest, ObserversCannotVoteButCanTriggerAnElection) {  // W-69
  SimOptions o = quiet(2, "10.32.0.0/16");
  o.observers = 1;  // one elector with quorum 1, one observer
  SimWorld w(o);
  Reply r = allocate(w, 1, "c", "10.32.0.0/16");
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  // The ring was split among the electors only; the observer got space by donation.
  EXPECT_EQ(w.allocator(1).ring().seeds(), std::vector<ring::PeerName>{w.name(0)});
}

TEST(AllocatorScenarioTest, ANetworkOfOnlyObserversNeverInitialises) {
  SimOptions o = quiet(2, "10.32.0.0/16");
  o.observers = 2;
  o.op_deadline = Millis{2000};
  SimWorld w(o);
  Reply r = allocate(w, 0, "c", "10.32.0.0/16");
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded);
  EXPECT_NE(r.status.message().find("a ring from another peer"), std::string::npos)
      << r.status.message();
  EXPECT_EQ(w.allocator(0).status().summary, "priming");
}

TEST(AllocatorScenarioTest, QuorumOutOfReachFailsWithTheConsensusState) {
  SimOptions o = quiet(3, "10.32.0.0/16");
  o.op_deadline = Millis{2000};
  SimWorld w(o);
  w.partition({0, 1, 2});
  Reply r = allocate(w, 0, "c", "10.32.0.0/16");
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded);
  EXPECT_NE(r.status.message().find("consensus on the ring (quorum 2"), std::string::npos)
      << r.status.message();
}

TEST(AllocatorScenarioTest, SeededPeersAllocateWhileApartAndJoinWithoutConflict) {  // W-73
  SimWorld w(quiet(3, "10.32.0.0/16", /*seed_mode=*/true));
  w.partition({0, 1, 2});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(allocate(w, i, "c" + std::to_string(i), "10.32.0.0/16").status.ok());
  }
  w.heal();
  EXPECT_TRUE(w.run_until([&] { return w.converged(); }, Millis{10000}));
  EXPECT_TRUE(w.allocator(0).status().conflicts.empty());
  EXPECT_TRUE(w.check().ok()) << w.check().to_string();
}

TEST(AllocatorScenarioTest, RestartedPeerKeepsItsRingAndAddresses) {  // W-72
  SimWorld w(quiet(2, "10.32.0.0/16"));
  std::string before = first_address(allocate(w, 0, "c1", "10.32.0.0/16"));
  w.crash(0);
  w.crash(1);
  w.restart(0);
  EXPECT_FALSE(w.allocator(0).ring().empty());  // no new ring formed alone
  EXPECT_EQ(first_address(allocate(w, 0, "c1", "10.32.0.0/16")), before);
  EXPECT_NE(first_address(allocate(w, 0, "c2", "10.32.0.0/16")), before);
  EXPECT_TRUE(w.check().ok()) << w.check().to_string();
}

// Two allocators whose rings were each seeded by themselves alone (rings created apart, as
// with --ipalloc-init consensus=1 on both), over one range.
struct ApartPair {
  explicit ApartPair(const Cidr& universe) {
    a.self = {ring::PeerName(1), "a", 11};
    a.universe = universe;
    a.init = ring::SeedInit{{a.self.name}};
    b = a;
    b.self = {ring::PeerName(2), "b", 22};
    b.init = ring::SeedInit{{b.self.name}};
    alloc_a = std::make_unique<ring::Allocator>(a);
    alloc_b = std::make_unique<ring::Allocator>(b);
    EXPECT_TRUE(alloc_a->start(Millis{0}, {}).ok());
    EXPECT_TRUE(alloc_b->start(Millis{0}, {}).ok());
  }
  // B hears A's ring, as after a link that let it through.
  ring::Effects b_hears_a(Millis now) {
    ring::Effects fx = alloc_a->peer_up(now, b.self);
    EXPECT_FALSE(fx.messages.empty());
    return alloc_b->message(now, a.self.name, ring::encode_message(fx.messages.front().message));
  }
  Reply allocate_on_b(Millis now, ring::RequestId id, const std::string& owner) {
    ring::Effects fx = alloc_b->command(now, id, ring::AllocateCommand{owner, a.universe, {}});
    EXPECT_EQ(fx.replies.size(), 1u);
    return fx.replies.empty() ? Reply() : fx.replies[0];
  }
  ring::AllocatorConfig a, b;
  std::unique_ptr<ring::Allocator> alloc_a, alloc_b;
};

TEST(AllocatorScenarioTest, SeparatelyFormedRingsReportAConflictAndHandOutNothingNew) {  // W-70
  ApartPair p(cidr("10.32.0.0/16"));
  Reply before = p.allocate_on_b(Millis{1}, 1, "held");
  ASSERT_TRUE(before.status.ok());
  p.alloc_b->peer_up(Millis{1}, p.a.self);
  ring::Effects got = p.b_hears_a(Millis{2});
  ring::StatusReport status = p.alloc_b->status();
  const std::string line =
      "this peer's IP allocation was created apart from 00:00:00:00:00:01(a)'s (ours: seeds "
      "[00:00:00:00:00:02], theirs: seeds [00:00:00:00:00:01]); wipe the state of the smaller "
      "network and restart its peers";
  ASSERT_EQ(status.conflicts.size(), 1u);
  EXPECT_EQ(status.conflicts[0], line);
  ASSERT_EQ(status.ring_conflicts.size(), 1u);
  EXPECT_EQ(status.ring_conflicts[0].peer.uid, 11u);  // the incarnation seen up
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.summary, "not handing out addresses: " + line);
  ASSERT_FALSE(got.events.empty());
  EXPECT_EQ(got.events.back().level, ring::EventLevel::kError);
  EXPECT_EQ(got.events.back().message, line);
  // The shell is told, to stop linking with that peer.
  ASSERT_EQ(got.ring_conflicts.size(), 1u);
  EXPECT_EQ(got.ring_conflicts[0].peer.name, p.a.self.name);
  // Both networks own the whole range: a new address here could be A's too.
  Reply refused = p.allocate_on_b(Millis{3}, 2, "new");
  EXPECT_EQ(refused.status.code(), Code::kConflict);
  EXPECT_EQ(refused.status.message(), "not handing out addresses: " + line);
  // What an owner already holds is still its own.
  EXPECT_EQ(p.allocate_on_b(Millis{3}, 3, "held").addresses, before.addresses);
  // The same conflict again renews it without a second error line.
  ring::Effects again = p.b_hears_a(Millis{4});
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(again.ring_conflicts.size(), 1u);
}

TEST(AllocatorScenarioTest, ARefusedHandshakeRecordsTheConflictToo) {
  ApartPair p(cidr("10.32.0.0/16"));
  ring::Effects fx = p.alloc_b->ring_conflict(Millis{1}, p.a.self, {p.a.self.name});
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, EventKind::kRingConflict);
  ASSERT_EQ(fx.ring_conflicts.size(), 1u);
  EXPECT_EQ(p.allocate_on_b(Millis{2}, 1, "x").status.code(), Code::kConflict);
  EXPECT_NE(p.alloc_b->status().summary.find("created apart from 00:00:00:00:00:01(a)"),
            std::string::npos);
}

TEST(AllocatorScenarioTest, AConflictEndsWhenThePeerReturnsAsAnotherIncarnation) {
  ApartPair p(cidr("10.32.0.0/16"));
  p.alloc_b->ring_conflict(Millis{1}, p.a.self, {p.a.self.name});
  p.alloc_b->peer_up(Millis{2}, p.a.self);  // the same incarnation: still apart
  EXPECT_FALSE(p.alloc_b->status().ring_conflicts.empty());
  ring::PeerIdentity wiped = p.a.self;
  wiped.uid = 12;
  ring::Effects fx = p.alloc_b->peer_up(Millis{3}, wiped);
  EXPECT_TRUE(p.alloc_b->status().ring_conflicts.empty());
  EXPECT_TRUE(p.alloc_b->status().ready);
  ASSERT_FALSE(fx.events.empty());
  EXPECT_EQ(fx.events.back().kind, EventKind::kRingConflictEnded);
  EXPECT_TRUE(p.allocate_on_b(Millis{4}, 1, "x").status.ok());
}

TEST(AllocatorScenarioTest, AConflictNobodyRenewsEndsAfterTheMemory) {
  ApartPair p(cidr("10.32.0.0/16"));
  Millis memory = p.b.conflict_memory;
  p.alloc_b->ring_conflict(Millis{1}, p.a.self, {p.a.self.name});
  p.alloc_b->ring_conflict(Millis{1} + memory / 2, p.a.self, {});  // a redial renews it
  p.alloc_b->tick(Millis{1} + memory);
  EXPECT_FALSE(p.alloc_b->status().ring_conflicts.empty());
  p.alloc_b->tick(Millis{1} + memory / 2 + memory);
  EXPECT_TRUE(p.alloc_b->status().ring_conflicts.empty());
  EXPECT_TRUE(p.allocate_on_b(Millis{2} + 2 * memory, 1, "x").status.ok());
}

TEST(AllocatorScenarioTest, WaitingCommandsFailWithTheConflict) {
  ApartPair p(cidr("10.32.0.0/16"));
  // A claim of an address another peer owns waits for it; a conflict then fails it.
  ring::AllocatorConfig joiner = p.b;
  joiner.init = ring::ObserverInit{};
  ring::Allocator observer(joiner);
  ASSERT_TRUE(observer.start(Millis{0}, {}).ok());
  ring::Effects waiting = observer.command(Millis{1}, 9, ring::PrimeCommand{});
  EXPECT_TRUE(waiting.replies.empty());
  ring::Effects a_ring = p.alloc_a->peer_up(Millis{1}, joiner.self);
  observer.message(Millis{2}, p.a.self.name, ring::encode_message(a_ring.messages.front().message));
  ring::Effects fx = observer.command(Millis{3}, 10, ring::ClaimCommand{"c", cidr("10.32.0.9/16")});
  EXPECT_TRUE(fx.replies.empty());  // waits for A to hand the address over
  ring::Effects failed =
      observer.ring_conflict(Millis{4}, {ring::PeerName(3), "c", 33}, {ring::PeerName(3)});
  ASSERT_EQ(failed.replies.size(), 1u);
  EXPECT_EQ(failed.replies[0].id, 10u);
  EXPECT_EQ(failed.replies[0].status.code(), Code::kConflict);
}

TEST(AllocatorScenarioTest, RestartWithAnotherRangeRefusesAndDeletesNothing) {  // W-71, done safer
  ring::AllocatorConfig c;
  c.self = {ring::PeerName(1), "a", 1};
  c.universe = cidr("10.32.0.0/16");
  c.init = ring::SeedInit{{ring::PeerName(1)}};
  ring::Allocator::Stored store;
  {
    ring::Allocator a(c);
    Result<ring::Effects> fx = a.start(Millis{0}, store);
    ASSERT_TRUE(fx.ok());
    ring::Effects more = a.command(Millis{1}, 1, ring::AllocateCommand{"x", c.universe, {}});
    for (const auto* batch : {&*fx, &more}) {
      for (const ring::StoreWrite& w : batch->writes) {
        if (w.value) {
          store[w.key] = *w.value;
        }
      }
    }
  }
  // Weave discarded the state and allocated afresh, handing out addresses still in use.
  c.universe = cidr("10.40.0.0/16");
  ring::Allocator b(c);
  Result<ring::Effects> fx = b.start(Millis{0}, store);
  ASSERT_FALSE(fx.ok());
  EXPECT_EQ(fx.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(fx.status().message().find("10.32.0.0/16"), std::string::npos);
  // The same for another peer name: refused, nothing written.
  c.universe = cidr("10.32.0.0/16");
  c.self.name = ring::PeerName(2);
  ring::Allocator renamed(c);
  Result<ring::Effects> other = renamed.start(Millis{0}, store);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("another peer name"), std::string::npos);
}

TEST(AllocatorScenarioTest, CorruptStoredAllocationRefusesToStart) {
  ring::AllocatorConfig c;
  c.self = {ring::PeerName(1), "a", 1};
  c.universe = cidr("10.32.0.0/16");
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {ring::allocation_key(addr("10.32.0.5")), "garbage"},
           {ring::allocation_key(addr("10.32.0.5")), "99 owner"},
           {"a/4zz", "16 owner"},
           {ring::allocation_key(addr("10.99.0.5")), "16 owner"},
           {ring::kRingKey, "not cbor"},
           {ring::kPaxosKey, "\xff\xff"}}) {
    ring::Allocator a(c);
    Result<ring::Effects> fx = a.start(Millis{0}, {{key, value}});
    EXPECT_FALSE(fx.ok()) << key << " = " << value;
    EXPECT_EQ(fx.status().code(), Code::kCorruption);
  }
}

TEST(AllocatorScenarioTest, ShutdownCancelsWaitingCommandsAndRefusesNewOnes) {  // W-55
  ring::AllocatorConfig c;
  c.self = {ring::PeerName(1), "a", 1};
  c.universe = cidr("10.0.0.0/24");
  c.init = ring::ObserverInit{};  // waits for a ring that never comes
  ring::Allocator a(c);
  ASSERT_TRUE(a.start(Millis{0}, {}).ok());
  ring::Effects waiting = a.command(Millis{1}, 1, ring::AllocateCommand{"x", c.universe, {}});
  EXPECT_TRUE(waiting.replies.empty());
  ring::Effects stop = a.shutdown(Millis{2});
  ASSERT_EQ(stop.replies.size(), 1u);
  EXPECT_EQ(stop.replies[0].status.code(), Code::kCancelled);
  ring::Effects after = a.command(Millis{3}, 2, ring::AllocateCommand{"y", c.universe, {}});
  ASSERT_EQ(after.replies.size(), 1u);
  EXPECT_EQ(after.replies[0].status.code(), Code::kCancelled);
  EXPECT_TRUE(after.messages.empty());
}

TEST(AllocatorScenarioTest, GarbageFromAPeerIsRefusedAndChangesNothing) {
  SimWorld w(quiet(1, "10.0.0.0/24"));
  ASSERT_TRUE(allocate(w, 0, "c", "10.0.0.0/24").status.ok());
  ring::AllocatorConfig c;
  c.self = {ring::PeerName(1), "a", 1};
  c.universe = cidr("10.0.0.0/24");
  c.init = ring::SeedInit{{ring::PeerName(1)}};
  ring::Allocator a(c);
  ASSERT_TRUE(a.start(Millis{0}, {}).ok());
  std::vector<std::uint8_t> garbage = {0x82, 0x01, 0x5a, 0xff, 0xff, 0xff, 0xff};
  ring::Effects fx = a.message(Millis{1}, ring::PeerName(2), garbage);
  EXPECT_TRUE(fx.writes.empty());
  EXPECT_TRUE(fx.messages.empty());
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, EventKind::kBadMessage);
  EXPECT_TRUE(a.check_invariants().ok());
}

}  // namespace
}  // namespace wipam::sim
