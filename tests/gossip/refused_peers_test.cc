// RefusedPeers refuses exactly the incarnation it was told about, forgets it when another
// incarnation of the name shows up, and stays within its bound, dropping the oldest name.
#include "gossip/refused_peers.h"

#include <gtest/gtest.h>

namespace wipam::gossip {
namespace {

ring::PeerIdentity peer(std::uint64_t name, std::uint64_t uid) {
  return {ring::PeerName(name), "p", uid};
}

TEST(RefusedPeersTest, RefusesThatIncarnationWithTheReason) {
  RefusedPeers refused(8);
  refused.refuse(peer(1, 10), Status::conflict("created apart"));
  std::optional<Status> why = refused.check(peer(1, 10));
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(why->message(), "created apart");
  EXPECT_FALSE(refused.check(peer(2, 10)).has_value());
}

TEST(RefusedPeersTest, AnotherIncarnationIsJudgedAfresh) {
  RefusedPeers refused(8);
  refused.refuse(peer(1, 10), Status::conflict("created apart"));
  EXPECT_FALSE(refused.check(peer(1, 11)).has_value());
  EXPECT_FALSE(refused.check(peer(1, 10)).has_value());  // the old one is forgotten too
  EXPECT_EQ(refused.size(), 0u);
}

TEST(RefusedPeersTest, TheOldestNameGoesFirstAtTheBound) {
  RefusedPeers refused(2);
  refused.refuse(peer(1, 10), Status::conflict("a"));
  refused.refuse(peer(2, 10), Status::conflict("b"));
  refused.refuse(peer(1, 10), Status::conflict("a again"));  // no new name: nothing dropped
  refused.refuse(peer(3, 10), Status::conflict("c"));
  EXPECT_EQ(refused.size(), 2u);
  EXPECT_FALSE(refused.check(peer(1, 10)).has_value());
  EXPECT_TRUE(refused.check(peer(2, 10)).has_value());
  EXPECT_TRUE(refused.check(peer(3, 10)).has_value());
}

}  // namespace
}  // namespace wipam::gossip
