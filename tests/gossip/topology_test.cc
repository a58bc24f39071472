// Topology merging and routing, without sockets: a link counts only when both ends report
// it, newer entries replace older ones whatever the order, an older incarnation of
// ourselves makes us bump our version, unreachable entries are dropped and not relayed, the
// entry count is bounded, and discovery offers exactly the peers we are not linked to.
#include "gossip/topology.h"

#include <gtest/gtest.h>

namespace wipam::gossip {
namespace {

ring::PeerIdentity id(std::uint64_t n, std::uint64_t uid = 1) {
  return {ring::PeerName(n), "p" + std::to_string(n), uid};
}

PeerEntry entry(std::uint64_t n, std::uint64_t version, std::vector<std::uint64_t> links,
                std::uint64_t uid = 1) {
  PeerEntry e{id(n, uid), version, {}};
  for (std::uint64_t l : links) {
    e.links.push_back({ring::PeerName(l), "127.0.0." + std::to_string(l) + ":6783"});
  }
  return e;
}

Link link_to(std::uint64_t n) {
  return {ring::PeerName(n), "127.0.0." + std::to_string(n) + ":6783"};
}

TEST(TopologyTest, LinkReportedByBothEndsMakesAPeerReachable) {
  Topology t(id(1), 16);
  t.set_own_links({link_to(2)});
  EXPECT_FALSE(t.reachable(ring::PeerName(2)));
  t.merge({entry(2, 1, {1})});
  EXPECT_TRUE(t.reachable(ring::PeerName(2)));
  EXPECT_EQ(t.next_hop(ring::PeerName(2)), ring::PeerName(2));
}

TEST(TopologyTest, OneSidedLinkIsNotARoute) {
  Topology t(id(1), 16);
  t.set_own_links({link_to(2)});
  t.merge({entry(2, 1, {1, 3}), entry(3, 1, {})});
  EXPECT_FALSE(t.reachable(ring::PeerName(3)));
}

TEST(TopologyTest, DistantPeerIsRoutedThroughTheNeighbour) {
  Topology t(id(1), 16);
  t.set_own_links({link_to(2)});
  t.merge({entry(2, 1, {1, 3}), entry(3, 1, {2, 4}), entry(4, 1, {3})});
  EXPECT_EQ(t.next_hop(ring::PeerName(4)), ring::PeerName(2));
  EXPECT_EQ(t.distance(ring::PeerName(4)), 3);
  EXPECT_EQ(t.reachable_peers().size(), 3u);
}

TEST(TopologyTest, OlderEntryLosesWhateverTheOrder) {
  Topology t(id(1), 16);
  t.set_own_links({link_to(2)});
  t.merge({entry(2, 5, {1, 3}), entry(3, 1, {2})});
  EXPECT_TRUE(t.merge({entry(2, 4, {1})}).empty());
  EXPECT_TRUE(t.reachable(ring::PeerName(3)));
}

TEST(TopologyTest, ChangedEntriesAreReturnedForRelay) {
  Topology t(id(1), 16);
  t.set_own_links({link_to(2)});
  std::vector<PeerEntry> changed = t.merge({entry(2, 1, {1})});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_TRUE(t.merge({entry(2, 1, {1})}).empty()) << "a repeat is not news";
}

TEST(TopologyTest, UnreachableEntryIsDroppedAndNotRelayed) {
  Topology t(id(1), 16);
  std::vector<PeerEntry> changed = t.merge({entry(9, 3, {8})});
  EXPECT_TRUE(changed.empty());
  EXPECT_EQ(t.find(ring::PeerName(9)), nullptr);
}

TEST(TopologyTest, LosingTheLinkDropsPeersBehindIt) {
  Topology t(id(1), 16);
  t.set_own_links({link_to(2)});
  t.merge({entry(2, 1, {1, 3}), entry(3, 1, {2})});
  t.set_own_links({});
  EXPECT_FALSE(t.reachable(ring::PeerName(3)));
  EXPECT_EQ(t.entries().size(), 1u);
}

TEST(TopologyTest, OlderIncarnationOfOurselvesMakesUsBumpOurVersion) {
  Topology t(id(1, 7), 16);
  t.set_own_links({link_to(2)});
  t.merge({entry(2, 1, {1})});
  std::vector<PeerEntry> changed = t.merge({entry(1, 40, {}, 6)});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].identity.uid, 7u);
  EXPECT_EQ(changed[0].version, 41u);
}

TEST(TopologyTest, OurOwnEntryFromOthersIsIgnored) {
  Topology t(id(1, 7), 16);
  EXPECT_TRUE(t.merge({entry(1, 1, {5}, 7)}).empty());  // our own, echoed back
  EXPECT_TRUE(t.self_entry().links.empty());
}

TEST(TopologyTest, AForgedEntryWithOurUidMakesUsBumpPastItWithoutTakingItsLinks) {
  Topology t(id(1, 7), 16);
  std::vector<PeerEntry> changed = t.merge({entry(1, 40, {5}, 7)});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].version, 41u);
  EXPECT_TRUE(changed[0].links.empty());
}

TEST(TopologyTest, VersionsNearTheTopAreIgnoredSoNoneWraps) {
  Topology t(id(1, 7), 16);
  t.set_own_links({link_to(2)});
  t.merge({entry(2, 1, {1})});
  EXPECT_TRUE(t.merge({entry(1, UINT64_MAX, {}, 6)}).empty());
  EXPECT_TRUE(t.merge({entry(2, UINT64_MAX, {}, 1)}).empty());
  EXPECT_EQ(t.find(ring::PeerName(2))->version, 1u);  // the real entry still stands
  std::vector<PeerEntry> changed = t.merge({entry(1, kMaxTopologyVersion, {}, 6)});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].version, kMaxTopologyVersion + 1);  // bumped past, not wrapped
}

TEST(TopologyTest, EntryCountIsBounded) {
  Topology t(id(1), 2);
  t.set_own_links({link_to(2), link_to(3)});
  t.merge({entry(2, 1, {1}), entry(3, 1, {1})});
  EXPECT_EQ(t.entries().size(), 2u);
}

TEST(TopologyTest, DiscoveryOffersPeersWeAreNotLinkedTo) {
  Topology t(id(1), 16);
  t.set_own_links({link_to(2)});
  t.merge({entry(2, 1, {1, 3}), entry(3, 1, {2})});
  std::vector<Link> candidates = t.discovery_candidates();
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].peer, ring::PeerName(3));
  EXPECT_EQ(candidates[0].address, "127.0.0.3:6783");
}

}  // namespace
}  // namespace wipam::gossip
