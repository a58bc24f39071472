// The store's records on their own: keys and values round-trip, a bad record is refused
// naming its key, and a store of another range or peer is refused before anything is read.
#include "ring/store_records.h"

#include <gtest/gtest.h>

namespace wipam::ring {
namespace {

Address addr(const char* text) { return *Address::parse(text); }
Range universe() { return Cidr::parse("10.32.0.0/16")->range(); }

TEST(StoreRecordsTest, AllocationKeysRoundTripForBothFamilies) {
  for (const char* text : {"10.32.0.5", "0.0.0.0", "255.255.255.255", "fd00::1"}) {
    std::string key = allocation_key(addr(text));
    EXPECT_EQ(key.size(), 35u);
    EXPECT_EQ(address_from_key(key), addr(text)) << key;
  }
  EXPECT_EQ(allocation_key(addr("10.32.0.5")), "a/40000000000000000000000000a200005");
  EXPECT_FALSE(address_from_key("a/4zz"));
  EXPECT_FALSE(address_from_key("a/50000000000000000000000000a200005"));
  EXPECT_FALSE(address_from_key("a/4100000000000000000000000000000000"));  // too long
  EXPECT_FALSE(address_from_key("a/41" + std::string(31, '0')));           // beyond IPv4
}

TEST(StoreRecordsTest, AnAllocationValueRoundTripsAndABadOneNamesItsKey) {
  Allocation a{"container 7", 24};
  EXPECT_EQ(allocation_value(a), "24 container 7");
  std::string key = allocation_key(addr("10.32.0.5"));
  auto back = decode_allocation(key, allocation_value(a), universe());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->first, addr("10.32.0.5"));
  EXPECT_EQ(back->second, a);
  for (const char* bad : {"garbage", "99 owner", "-1 owner", ""}) {
    auto refused = decode_allocation(key, bad, universe());
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.status().code(), Code::kCorruption);
    EXPECT_NE(refused.status().message().find(key), std::string::npos);
  }
  EXPECT_FALSE(decode_allocation(allocation_key(addr("10.99.0.5")), "16 x", universe()).ok());
  Allocation gateway{"gateway:weave-10.32.5.0/24", 24, /*shared=*/true};
  EXPECT_EQ(allocation_value(gateway), "24s gateway:weave-10.32.5.0/24");
  EXPECT_EQ(decode_allocation(key, allocation_value(gateway), universe())->second, gateway);
  EXPECT_FALSE(decode_allocation(key, "24x owner", universe()).ok());
  EXPECT_FALSE(decode_allocation(key, "s owner", universe()).ok());
}

TEST(StoreRecordsTest, AShareRoundTripsAndABadOneNamesItsKey) {
  Share share{"gateway:weave-10.32.5.0/24", {PeerName(2), PeerName(0xa1)}};
  std::string key = share_key(addr("10.32.5.1"));
  EXPECT_EQ(key, "s/40000000000000000000000000a200501");
  EXPECT_EQ(share_value(share), "2 00:00:00:00:00:02 00:00:00:00:00:a1 gateway:weave-10.32.5.0/24");
  auto back = decode_share(key, share_value(share), universe());
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->first, addr("10.32.5.1"));
  EXPECT_EQ(back->second, share);
  Share alone{"g", {}};  // its last sharer holds it in our place
  EXPECT_EQ(decode_share(key, share_value(alone), universe())->second, alone);
  for (const char* bad :
       {"", "garbage", "2 00:00:00:00:00:02 owner", "1 nonsense owner", "1 00:00:00:00:00:02",
        "2 00:00:00:00:00:03 00:00:00:00:00:02 owner", "x 00:00:00:00:00:02 owner"}) {
    auto refused = decode_share(key, bad, universe());
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.status().code(), Code::kCorruption);
    EXPECT_NE(refused.status().message().find(key), std::string::npos);
  }
  EXPECT_FALSE(decode_share(share_key(addr("10.99.0.5")), "0 g", universe()).ok());
  EXPECT_FALSE(decode_share(allocation_key(addr("10.32.5.1")), "0 g", universe()).ok());
}

TEST(StoreRecordsTest, TheIdentityRecordIsWrittenAndReadOneWay) {
  std::string value = identity_value({PeerName(3), "host-c", 77});
  EXPECT_EQ(value, "00:00:00:00:00:03 77 host-c");
  EXPECT_EQ(identity_name(value), "00:00:00:00:00:03");
  EXPECT_TRUE(identity_is(value, PeerName(3)));
  EXPECT_FALSE(identity_is(value, PeerName(4)));
  EXPECT_FALSE(identity_is("00:00:00:00:00:03", PeerName(3)));  // no uid: not ours
}

TEST(StoreRecordsTest, ParseIdentityReadsBackWhatIsWrittenAndNothingElse) {
  PeerIdentity self{PeerName(3), "host c", 77};
  EXPECT_EQ(parse_identity(identity_value(self)), self);
  PeerIdentity unnamed{PeerName(3), "", 77};
  EXPECT_EQ(parse_identity("00:00:00:00:00:03 77"), unnamed);
  for (const char* bad : {"", "00:00:00:00:00:03", "00:00:00:00:00:03 ", "0:0:0:0:0:3 77 h",
                          "00:00:00:00:00:03 x7 h", "00:00:00:00:00:03 7x h", "zz 77 h"}) {
    EXPECT_EQ(parse_identity(bad), std::nullopt) << bad;
  }
}

TEST(StoreRecordsTest, AStoreOfAnotherRangeOrPeerIsRefused) {
  Cidr range = *Cidr::parse("10.32.0.0/16");
  Stored ours;
  for (const StoreWrite& w : start_records(range, {PeerName(1), "a", 1})) {
    ours[w.key] = *w.value;
  }
  EXPECT_TRUE(check_stored_owner(ours, range, PeerName(1)).ok());
  EXPECT_TRUE(check_stored_owner({}, range, PeerName(1)).ok());
  Status other_range = check_stored_owner(ours, *Cidr::parse("10.40.0.0/16"), PeerName(1));
  EXPECT_EQ(other_range.code(), Code::kFailedPrecondition);
  EXPECT_NE(other_range.message().find("10.32.0.0/16"), std::string::npos);
  Status other_peer = check_stored_owner(ours, range, PeerName(2));
  EXPECT_NE(other_peer.message().find("another peer name (00:00:00:00:00:01)"), std::string::npos);
}

TEST(StoreRecordsTest, RestoreReadsRingConsensusAndAllocations) {
  Ring ring(universe(), PeerName(1));
  ASSERT_TRUE(ring.claim_for_peers({PeerName(1)}).ok());
  Stored stored;
  for (const StoreWrite& w : {ring_write(ring), allocation_write(addr("10.32.0.5"), {"c", 24}),
                              paxos_write(PaxosPersistent{})}) {
    stored[w.key] = *w.value;
  }
  Result<Restored> r = restore(stored, universe(), PeerName(1));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE(r->ring);
  EXPECT_EQ(*r->ring, ring);
  ASSERT_EQ(r->allocations.size(), 1u);
  EXPECT_EQ(r->allocations[0].second.owner, "c");
  EXPECT_FALSE(restore({}, universe(), PeerName(1))->ring);
  EXPECT_EQ(restore({{kRingKey, "not cbor"}}, universe(), PeerName(1)).status().code(),
            Code::kCorruption);
  Ring elsewhere(Cidr::parse("10.40.0.0/16")->range(), PeerName(1));
  ASSERT_TRUE(elsewhere.claim_for_peers({PeerName(1)}).ok());
  Status moved =
      restore({{kRingKey, *ring_write(elsewhere).value}}, universe(), PeerName(1)).status();
  EXPECT_NE(moved.message().find("covers"), std::string::npos);
}

TEST(StoreRecordsTest, ANoticeRoundTripsAndABadOneNamesItsKey) {
  SharesNotice notice{{{addr("10.32.5.1"), "gateway:g", {PeerName(2), PeerName(3)}}}};
  StoreWrite w = notice_write(PeerName(4), notice);
  EXPECT_EQ(w.key, "f/00:00:00:00:00:04");
  Result<Restored> r = restore({{w.key, *w.value}}, universe(), PeerName(1));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->notices.at(PeerName(4)), notice);
  EXPECT_FALSE(notice_delete(PeerName(4)).value);
  SharesNotice outside{{{addr("10.99.0.1"), "gateway:g", {PeerName(2)}}}};
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {w.key, "not cbor"},
           {"f/nobody", *w.value},
           {"f/0:0:0:0:0:4", *w.value},
           {w.key, *notice_write(PeerName(4), outside).value},
           {w.key, *ring_write(Ring(universe(), PeerName(1))).value}}) {
    Status refused = restore({{key, value}}, universe(), PeerName(1)).status();
    EXPECT_EQ(refused.code(), Code::kCorruption) << key;
    EXPECT_NE(refused.message().find(key), std::string::npos) << refused.to_string();
  }
}

}  // namespace
}  // namespace wipam::ring
