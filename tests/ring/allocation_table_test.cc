// The allocation table on its own: by address and by owner always agree, a re-record moves an
// address to its new owner, and ranges and lookups come out ascending.
#include "ring/allocation_table.h"

#include <gtest/gtest.h>

namespace wipam::ring {
namespace {

Address addr(const char* text) { return *Address::parse(text); }

TEST(AllocationTableTest, RecordsByAddressAndByOwner) {
  AllocationTable t;
  t.set(addr("10.0.0.9"), "c1", 24);
  t.set(addr("10.0.0.2"), "c1", 16);
  t.set(addr("10.0.0.5"), "c2", 24);
  EXPECT_EQ(t.size(), 3u);
  ASSERT_NE(t.find(addr("10.0.0.9")), nullptr);
  EXPECT_EQ(*t.find(addr("10.0.0.9")), (Allocation{"c1", 24}));
  EXPECT_EQ(t.find(addr("10.0.0.1")), nullptr);
  std::vector<Cidr> c1 = t.lookup("c1");
  ASSERT_EQ(c1.size(), 2u);
  EXPECT_EQ(c1[0].to_string(), "10.0.0.2/16");
  EXPECT_EQ(c1[1].to_string(), "10.0.0.9/24");
  EXPECT_EQ(t.owners().at(addr("10.0.0.5")), "c2");
  EXPECT_TRUE(t.lookup("nobody").empty());
  EXPECT_EQ(t.addresses_of("nobody"), nullptr);
}

TEST(AllocationTableTest, SettingAHeldAddressMovesItToTheNewOwner) {
  AllocationTable t;
  t.set(addr("10.0.0.9"), "c1", 24);
  t.set(addr("10.0.0.9"), "c2", 24);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.addresses_of("c1"), nullptr);  // an owner with nothing left is gone
  ASSERT_NE(t.addresses_of("c2"), nullptr);
  EXPECT_EQ(t.addresses_of("c2")->size(), 1u);
  EXPECT_EQ(t.owners().at(addr("10.0.0.9")), "c2");
}

TEST(AllocationTableTest, EraseForgetsEverywhereAndSaysWhetherItHeld) {
  AllocationTable t;
  t.set(addr("10.0.0.9"), "c1", 24);
  EXPECT_TRUE(t.erase(addr("10.0.0.9")));
  EXPECT_FALSE(t.erase(addr("10.0.0.9")));
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(t.owners().empty());
  EXPECT_TRUE(t.lookup("c1").empty());
}

TEST(AllocationTableTest, InRangeListsTheHeldAddressesOfARangeAscending) {
  AllocationTable t;
  for (const char* a : {"10.0.0.1", "10.0.0.4", "10.0.0.7", "10.0.0.8", "10.0.1.0"}) {
    t.set(addr(a), "c", 24);
  }
  std::vector<Address> got = t.in_range(Range(addr("10.0.0.4"), addr("10.0.0.8")));
  ASSERT_EQ(got.size(), 2u);  // half open: .8 is outside
  EXPECT_EQ(got[0], addr("10.0.0.4"));
  EXPECT_EQ(got[1], addr("10.0.0.7"));
  EXPECT_TRUE(t.in_range(Range(addr("10.0.0.2"), addr("10.0.0.2"))).empty());
}

TEST(AllocationTableTest, PeerOwnersAreRecognised) {
  EXPECT_EQ(peer_owner(PeerName(2)), "peer:00:00:00:00:00:02");
  EXPECT_TRUE(is_peer_owner(peer_owner(PeerName(2))));
  EXPECT_FALSE(is_peer_owner("container-peer:1"));
}

}  // namespace
}  // namespace wipam::ring
