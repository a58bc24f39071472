// Addresses, CIDRs and ranges: parsing of good and bad text, canonical printing, and the
// range arithmetic the ring and space build on, for IPv4 and IPv6.
#include "ring/address.h"

#include <gtest/gtest.h>

namespace wipam::ring {
namespace {

Address addr(const char* text) { return *Address::parse(text); }
Cidr cidr(const char* text) { return *Cidr::parse(text); }

TEST(AddressTest, ParsesAndPrintsIpv4) {
  Result<Address> a = Address::parse("10.32.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->value(), 0x0a200001u);
  EXPECT_EQ(a->to_string(), "10.32.0.1");
}

TEST(AddressTest, ParsesAndPrintsIpv6Canonically) {
  Result<Address> a = Address::parse("FD00:0:0::0001");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->is_v4());
  EXPECT_EQ(a->to_string(), "fd00::1");
  EXPECT_EQ(a->bits(), 128);
}

TEST(AddressTest, RejectsGarbageWithTheTextInTheMessage) {
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "10.0.0.1.2", "hello", "1::2::3", "10.0.0.1 ",
                          " 10.0.0.1", "::g", "10.0.0.-1"}) {
    Result<Address> a = Address::parse(bad);
    EXPECT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
    EXPECT_NE(a.status().message().find("'" + std::string(bad) + "'"), std::string::npos);
  }
}

TEST(AddressTest, OrdersByFamilyThenValue) {
  EXPECT_LT(addr("10.0.0.1"), addr("10.0.0.2"));
  EXPECT_LT(addr("255.255.255.255"), addr("::1"));
  EXPECT_EQ(addr("10.0.0.5") - addr("10.0.0.1"), 4u);
  EXPECT_EQ((addr("10.0.0.255") + 1).to_string(), "10.0.1.0");
}

TEST(CidrTest, ParsesSubnetAndInterfaceForms) {
  Result<Cidr> subnet = Cidr::parse_subnet("10.32.0.0/12");
  ASSERT_TRUE(subnet.ok());
  EXPECT_EQ(subnet->prefix_len(), 12);
  EXPECT_EQ(subnet->size(), 1u << 20);
  EXPECT_TRUE(subnet->is_subnet());
  EXPECT_EQ(subnet->to_string(), "10.32.0.0/12");

  Result<Cidr> iface = Cidr::parse("10.32.0.7/12");
  ASSERT_TRUE(iface.ok());
  EXPECT_FALSE(iface->is_subnet());
  EXPECT_EQ(iface->subnet().to_string(), "10.32.0.0/12");
  EXPECT_EQ(iface->to_string(), "10.32.0.7/12");
}

TEST(CidrTest, SubnetWithHostBitsNamesTheSubnetMeant) {
  Result<Cidr> c = Cidr::parse_subnet("10.32.0.1/12");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "10.32.0.1/12 has host bits set; did you mean 10.32.0.0/12?");
}

TEST(CidrTest, RejectsMalformedText) {
  for (const char* bad : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/1a",
                          "/24", "10.0.0/24", "fd00::/129", "10.0.0.0/024x", "10.0.0.0/0024"}) {
    EXPECT_FALSE(Cidr::parse(bad).ok()) << bad;
  }
}

TEST(CidrTest, RefusesIpv6BlocksReachingTheEndOfTheSpace) {
  EXPECT_FALSE(Cidr::parse("::/0").ok());
  EXPECT_FALSE(Cidr::parse("ff00::/8").ok());
  EXPECT_FALSE(Cidr::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128").ok());
  EXPECT_TRUE(Cidr::parse("fd00::/8").ok());
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0").ok());
  EXPECT_EQ(cidr("0.0.0.0/0").size(), Uint128{1} << 32);
}

TEST(CidrTest, HostRangeSkipsNetworkAndBroadcast) {
  EXPECT_EQ(cidr("10.0.3.8/29").host_range().to_string(), "10.0.3.9-10.0.3.14");
  EXPECT_EQ(cidr("10.0.0.0/30").host_range().size(), 2u);
  EXPECT_EQ(cidr("10.0.0.0/31").host_range().size(), 2u);
  EXPECT_EQ(cidr("10.0.0.1/32").host_range().size(), 1u);
  EXPECT_EQ(cidr("fd00::/64").host_range().start().to_string(), "fd00::1");
  EXPECT_EQ(cidr("fd00::/64").host_range().size(), (Uint128{1} << 64) - 1);
}

TEST(RangeTest, ContainmentOverlapAndIntersection) {
  Range a = cidr("10.0.0.0/24").range();
  Range b = cidr("10.0.0.128/25").range();
  Range c = cidr("10.0.1.0/24").range();
  EXPECT_TRUE(a.contains(b));
  EXPECT_FALSE(b.contains(a));
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_FALSE(a.overlaps(c));
  EXPECT_EQ(a.intersect(b), b);
  EXPECT_TRUE(a.intersect(c).empty());
  EXPECT_TRUE(a.contains(addr("10.0.0.255")));
  EXPECT_FALSE(a.contains(addr("10.0.1.0")));
  EXPECT_FALSE(a.contains(addr("::1")));
  EXPECT_EQ(a.offset_of(addr("10.0.0.9")), 9u);
  EXPECT_EQ(a.at(9), addr("10.0.0.9"));
}

TEST(RangeTest, MakeRejectsBackwardsAndMixedRanges) {
  EXPECT_FALSE(Range::make(addr("10.0.0.2"), addr("10.0.0.1")).ok());
  EXPECT_FALSE(Range::make(addr("10.0.0.2"), addr("::1")).ok());
  EXPECT_TRUE(Range::make(addr("10.0.0.2"), addr("10.0.0.2")).ok());
}

TEST(RangeTest, SplitsIntoTheFewestCidrs) {
  Range r(addr("10.0.0.1"), addr("10.0.0.9"));
  std::vector<Cidr> blocks = r.to_cidrs();
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0].to_string(), "10.0.0.1/32");
  EXPECT_EQ(blocks[1].to_string(), "10.0.0.2/31");
  EXPECT_EQ(blocks[2].to_string(), "10.0.0.4/30");
  EXPECT_EQ(blocks[3].to_string(), "10.0.0.8/32");
  EXPECT_EQ(r.to_string(), "10.0.0.1-10.0.0.8");
  EXPECT_EQ(cidr("10.32.0.0/12").range().to_string(), "10.32.0.0/12");
}

TEST(RangeTest, BiggestAlignedBlockPrefersTheHighestOnTies) {
  // [1, 9): blocks 1/32 2/31 4/30 8/32; the /30 is the biggest.
  EXPECT_EQ(Range(addr("10.0.0.1"), addr("10.0.0.9")).biggest_aligned_block().to_string(),
            "10.0.0.4/30");
  // [0, 48): /27 at 0 and /28 at 32.
  EXPECT_EQ(Range(addr("10.0.0.0"), addr("10.0.0.48")).biggest_aligned_block().to_string(),
            "10.0.0.0/27");
  // [2, 6): /31 at 2 and /31 at 4; the higher wins.
  EXPECT_EQ(Range(addr("10.0.0.2"), addr("10.0.0.6")).biggest_aligned_block().to_string(),
            "10.0.0.4/31");
  EXPECT_TRUE(Range(addr("10.0.0.2"), addr("10.0.0.2")).biggest_aligned_block().empty());
}

TEST(RangeTest, WholeIpv4SpaceHasARepresentableEnd) {
  Range all = cidr("0.0.0.0/0").range();
  EXPECT_EQ(all.size(), Uint128{1} << 32);
  EXPECT_TRUE(all.contains(addr("255.255.255.255")));
  EXPECT_EQ(all.to_string(), "0.0.0.0/0");
}

TEST(RangeTest, Ipv6ArithmeticNeedsNoNarrowing) {
  Range r = cidr("fd00::/16").range();
  EXPECT_EQ(r.size(), Uint128{1} << 112);
  Address mid = r.at(Uint128{1} << 111);
  EXPECT_EQ(mid.to_string(), "fd00:8000::");
  EXPECT_EQ(Range(r.start(), mid).to_string(), "fd00::/17");
  EXPECT_EQ(uint128_to_string(r.size()), "5192296858534827628530496329220096");
}

}  // namespace
}  // namespace wipam::ring
