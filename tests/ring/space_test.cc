// Space: the scenarios Weave's space tests pin down (W-30..W-37 in weave-ipam.md §8.2), each
// operation's good path, and the bad inputs the allocator may pass on -- freeing twice,
// freeing or claiming outside owned ranges, claiming twice, removing ranges that hold
// allocations or are not owned, overlapping adds and the wrong address family -- each of
// which must be refused with a message naming the address and leave the space unchanged.
// Ranges are IPv4 unless a test says IPv6; IPv6 cases use /64s to show that nothing scales
// with the number of addresses.
#include "ring/space.h"

#include <ostream>
#include <string>

#include <gtest/gtest.h>

namespace wipam::ring {

// Lets GoogleTest print ranges in failures ("10.0.0.32/27"); identical in every test file.
inline void PrintTo(const Range& r, std::ostream* os) { *os << r.to_string(); }

namespace {

Address addr(const char* text) { return *Address::parse(text); }
Range cidr(const char* text) { return Cidr::parse(text)->range(); }
Range span(const char* first, const char* end) { return Range(addr(first), addr(end)); }

// 10.0.0.0 + n: small integer offsets keep the donation examples readable.
Address at(std::uint32_t n) { return Address::v4(0x0a000000u + n); }
Range offsets(std::uint32_t start, std::uint32_t end) { return Range(at(start), at(end)); }

bool mentions(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

class SpaceTest : public ::testing::Test {
 protected:
  // Adds `r` and checks the space is still well formed.
  void own(const Range& r) {
    ASSERT_TRUE(space_.add(r).ok()) << r.to_string();
    ASSERT_TRUE(space_.check_invariants().ok());
  }
  // Allocates every address of `r` by claiming it.
  void claim_all(const Range& r) {
    for (Uint128 i = 0; i < r.size(); ++i) {
      ASSERT_TRUE(space_.claim(r.at(i)).ok()) << r.at(i).to_string();
    }
  }
  void expect_intact() { EXPECT_TRUE(space_.check_invariants().ok()); }

  Space space_;
};

TEST_F(SpaceTest, NewSpaceOwnsNothingAndHasNothingFree) {
  EXPECT_TRUE(space_.owned_ranges().empty());
  EXPECT_EQ(space_.free_count(), 0u);
  EXPECT_EQ(space_.allocated_count(), 0u);
  EXPECT_FALSE(space_.owns(addr("10.0.0.1")));
  EXPECT_FALSE(space_.is_allocated(addr("10.0.0.1")));
  EXPECT_EQ(space_.free_fragment_count(), 0u);
}

// W-30
TEST_F(SpaceTest, AdjacentRangesCoalesceAndAreReportedSorted) {
  own(cidr("10.0.1.0/24"));
  own(cidr("10.0.3.0/24"));
  own(cidr("10.0.0.0/24"));
  EXPECT_EQ(space_.owned_ranges(), (std::vector<Range>{cidr("10.0.0.0/23"), cidr("10.0.3.0/24")}));
  own(cidr("10.0.2.0/24"));
  EXPECT_EQ(space_.owned_ranges(), std::vector<Range>{cidr("10.0.0.0/22")});
  EXPECT_EQ(space_.free_count(), 1024u);
  EXPECT_EQ(space_.free_fragment_count(), 1u);
}

// W-30
TEST_F(SpaceTest, RemovingTheMiddleOfARangeLeavesTwoRanges) {
  own(cidr("10.0.0.0/22"));
  ASSERT_TRUE(space_.remove(cidr("10.0.1.0/24")).ok());
  expect_intact();
  EXPECT_EQ(space_.owned_ranges(), (std::vector<Range>{cidr("10.0.0.0/24"), cidr("10.0.2.0/23")}));
  EXPECT_EQ(space_.free_count(), 768u);
  EXPECT_FALSE(space_.owns(addr("10.0.1.7")));
}

TEST_F(SpaceTest, RemovingAWholeRangeLeavesNothingAndAllowsTheOtherFamily) {
  own(cidr("10.0.0.0/24"));
  ASSERT_TRUE(space_.remove(cidr("10.0.0.0/24")).ok());
  EXPECT_TRUE(space_.owned_ranges().empty());
  EXPECT_EQ(space_.free_count(), 0u);
  own(cidr("fd00::/64"));
  EXPECT_TRUE(space_.owns(addr("fd00::1")));
}

TEST_F(SpaceTest, AddingAnOverlappingRangeIsRefusedAndChangesNothing) {
  own(cidr("10.0.1.0/24"));
  Status s = space_.add(cidr("10.0.0.0/23"));
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_TRUE(mentions(s, "10.0.1.0/24")) << s.to_string();
  EXPECT_EQ(space_.add(span("10.0.1.255", "10.0.2.1")).code(), Code::kAlreadyExists);
  EXPECT_EQ(space_.add(cidr("10.0.1.0/24")).code(), Code::kAlreadyExists);
  EXPECT_EQ(space_.owned_ranges(), std::vector<Range>{cidr("10.0.1.0/24")});
  EXPECT_EQ(space_.free_count(), 256u);
  expect_intact();
}

TEST_F(SpaceTest, AddingAnEmptyRangeIsRefused) {
  Status s = space_.add(span("10.0.0.5", "10.0.0.5"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_TRUE(space_.owned_ranges().empty());
}

TEST_F(SpaceTest, AddingTheOtherFamilyIsRefused) {
  own(cidr("10.0.0.0/24"));
  Status s = space_.add(cidr("fd00::/64"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_TRUE(mentions(s, "fd00::/64")) << s.to_string();
  EXPECT_TRUE(mentions(s, "IPv4")) << s.to_string();
  EXPECT_EQ(space_.owned_ranges(), std::vector<Range>{cidr("10.0.0.0/24")});
}

// W-31
TEST_F(SpaceTest, AllocatingFromAnEmptySpaceIsExhausted) {
  Result<Address> a = space_.allocate(cidr("10.0.0.0/24"));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kExhausted);
  EXPECT_TRUE(mentions(a.status(), "10.0.0.0/24")) << a.status().to_string();
}

// W-31
TEST_F(SpaceTest, AllocateReturnsTheLowestFreeAddress) {
  own(cidr("10.0.0.0/24"));
  Range hosts = Cidr::parse("10.0.0.0/24")->host_range();
  EXPECT_EQ(*space_.allocate(hosts), addr("10.0.0.1"));
  EXPECT_EQ(*space_.allocate(hosts), addr("10.0.0.2"));
  ASSERT_TRUE(space_.claim(addr("10.0.0.3")).ok());
  EXPECT_EQ(*space_.allocate(hosts), addr("10.0.0.4"));
  EXPECT_EQ(space_.allocated_count(), 4u);
  EXPECT_EQ(space_.free_count(), 252u);
  expect_intact();
}

TEST_F(SpaceTest, AllocateReusesAJustFreedAddressFirst) {
  own(cidr("10.0.0.0/24"));
  Range hosts = Cidr::parse("10.0.0.0/24")->host_range();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(space_.allocate(hosts).ok());
  }
  ASSERT_TRUE(space_.free(addr("10.0.0.4")).ok());
  EXPECT_EQ(*space_.allocate(hosts), addr("10.0.0.4"));
  EXPECT_EQ(*space_.allocate(hosts), addr("10.0.0.11"));
}

TEST_F(SpaceTest, AllocateOnlyUsesOwnedAddressesInsideTheRangeAsked) {
  own(cidr("10.0.0.0/24"));
  own(cidr("10.0.2.0/24"));
  EXPECT_EQ(space_.allocate(cidr("10.0.1.0/24")).status().code(), Code::kExhausted);
  EXPECT_EQ(*space_.allocate(span("10.0.0.250", "10.0.2.9")), addr("10.0.0.250"));
  // The host range of the /22 skips its network address 10.0.0.0.
  EXPECT_EQ(*space_.allocate(Cidr::parse("10.0.0.0/22")->host_range()), addr("10.0.0.1"));
  for (const char* expected :
       {"10.0.0.251", "10.0.0.252", "10.0.0.253", "10.0.0.254", "10.0.0.255"}) {
    EXPECT_EQ(*space_.allocate(span("10.0.0.251", "10.0.2.0")), addr(expected));
  }
  EXPECT_EQ(space_.allocate(span("10.0.0.251", "10.0.2.0")).status().code(), Code::kExhausted);
  EXPECT_EQ(*space_.allocate(span("10.0.0.251", "10.0.3.0")), addr("10.0.2.0"));
}

TEST_F(SpaceTest, AllocateWhenEverythingOwnedThereIsTakenIsExhaustedAndSaysSo) {
  own(cidr("10.0.0.0/30"));
  claim_all(cidr("10.0.0.0/30"));
  Result<Address> a = space_.allocate(cidr("10.0.0.0/24"));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kExhausted);
  EXPECT_TRUE(mentions(a.status(), "all 4 addresses")) << a.status().to_string();
}

TEST_F(SpaceTest, AllocateFromAnEmptyRangeIsRefused) {
  own(cidr("10.0.0.0/24"));
  EXPECT_EQ(space_.allocate(span("10.0.0.9", "10.0.0.9")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(space_.free_count(), 256u);
}

TEST_F(SpaceTest, AllocateFromTheOtherFamilyIsRefused) {
  own(cidr("10.0.0.0/24"));
  Result<Address> a = space_.allocate(cidr("fd00::/64"));
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(mentions(a.status(), "fd00::/64")) << a.status().to_string();
}

// W-32
TEST_F(SpaceTest, ClaimTakesAFreeAddressOutOfTheFreeSet) {
  own(cidr("10.0.0.0/24"));
  ASSERT_TRUE(space_.claim(addr("10.0.0.7")).ok());
  EXPECT_TRUE(space_.is_allocated(addr("10.0.0.7")));
  EXPECT_FALSE(space_.is_allocated(addr("10.0.0.6")));
  EXPECT_EQ(space_.free_count(), 255u);
  EXPECT_EQ(space_.free_count(span("10.0.0.0", "10.0.0.8")), 7u);
  EXPECT_EQ(space_.free_fragment_count(), 2u);
  expect_intact();
}

TEST_F(SpaceTest, ClaimingTwiceIsRefusedNamingTheAddress) {
  own(cidr("10.0.0.0/24"));
  ASSERT_TRUE(space_.claim(addr("10.0.0.7")).ok());
  Status s = space_.claim(addr("10.0.0.7"));
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_TRUE(mentions(s, "10.0.0.7")) << s.to_string();
  EXPECT_EQ(space_.allocated_count(), 1u);
}

TEST_F(SpaceTest, ClaimingOutsideOwnedRangesIsRefusedNamingTheAddress) {
  own(cidr("10.0.0.0/24"));
  Status s = space_.claim(addr("10.0.1.0"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(mentions(s, "10.0.1.0")) << s.to_string();
  EXPECT_EQ(space_.claim(addr("9.255.255.255")).code(), Code::kNotFound);
  EXPECT_EQ(space_.allocated_count(), 0u);
}

TEST_F(SpaceTest, ClaimingInAnEmptySpaceIsRefused) {
  EXPECT_EQ(space_.claim(addr("10.0.0.1")).code(), Code::kNotFound);
  EXPECT_EQ(space_.claim(addr("fd00::1")).code(), Code::kNotFound);
}

TEST_F(SpaceTest, ClaimingAndFreeingTheOtherFamilyAreRefused) {
  own(cidr("fd00::/64"));
  Status claim = space_.claim(addr("10.0.0.1"));
  EXPECT_EQ(claim.code(), Code::kInvalidArgument);
  EXPECT_TRUE(mentions(claim, "10.0.0.1")) << claim.to_string();
  EXPECT_TRUE(mentions(claim, "IPv6")) << claim.to_string();
  EXPECT_EQ(space_.free(addr("10.0.0.1")).code(), Code::kInvalidArgument);
  EXPECT_FALSE(space_.owns(addr("10.0.0.1")));
  EXPECT_EQ(space_.allocated_count(), 0u);
}

// W-33
TEST_F(SpaceTest, FreeingAnAddressTwiceIsRefused) {
  own(cidr("10.0.0.0/24"));
  ASSERT_TRUE(space_.claim(addr("10.0.0.9")).ok());
  ASSERT_TRUE(space_.free(addr("10.0.0.9")).ok());
  Status s = space_.free(addr("10.0.0.9"));
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(mentions(s, "10.0.0.9")) << s.to_string();
  EXPECT_EQ(space_.free_count(), 256u);
  EXPECT_EQ(space_.free_fragment_count(), 1u);
  expect_intact();
}

// W-33
TEST_F(SpaceTest, FreeingAnAddressNeverAllocatedIsRefused) {
  own(cidr("10.0.0.0/24"));
  Status s = space_.free(addr("10.0.0.200"));
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(mentions(s, "already free")) << s.to_string();
  EXPECT_EQ(space_.free_count(), 256u);
}

// W-33
TEST_F(SpaceTest, FreeingOutsideTheSpaceIsRefused) {
  own(cidr("10.0.0.0/24"));
  Status s = space_.free(addr("10.0.1.1"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(mentions(s, "10.0.1.1")) << s.to_string();
  EXPECT_EQ(Space().free(addr("10.0.0.1")).code(), Code::kNotFound);
  EXPECT_EQ(space_.free_count(), 256u);
}

TEST_F(SpaceTest, FreeingJoinsTheFreeRunsOnBothSides) {
  own(cidr("10.0.0.0/24"));
  claim_all(span("10.0.0.10", "10.0.0.13"));
  EXPECT_EQ(space_.free_fragment_count(), 2u);
  ASSERT_TRUE(space_.free(addr("10.0.0.11")).ok());
  EXPECT_EQ(space_.free_fragment_count(), 3u);
  ASSERT_TRUE(space_.free(addr("10.0.0.10")).ok());
  ASSERT_TRUE(space_.free(addr("10.0.0.12")).ok());
  EXPECT_EQ(space_.free_fragment_count(), 1u);
  EXPECT_EQ(space_.allocated_count(), 0u);
  expect_intact();
}

// W-34
TEST_F(SpaceTest, FreeCountsAreRightOverallAndInsideSubRanges) {
  own(cidr("10.0.0.0/24"));
  own(cidr("10.0.2.0/24"));
  claim_all(span("10.0.0.100", "10.0.0.200"));
  claim_all(span("10.0.2.0", "10.0.2.10"));
  EXPECT_EQ(space_.free_count(), 512u - 110u);
  EXPECT_EQ(space_.allocated_count(), 110u);
  EXPECT_EQ(space_.free_count(cidr("10.0.0.0/25")), 100u);
  EXPECT_EQ(space_.free_count(cidr("10.0.1.0/24")), 0u);
  EXPECT_EQ(space_.free_count(cidr("10.0.0.0/22")), 402u);
  EXPECT_EQ(space_.free_count(span("10.0.0.150", "10.0.2.5")), 56u);
  EXPECT_EQ(space_.allocated_count(span("10.0.0.150", "10.0.2.5")), 55u);
  EXPECT_EQ(space_.allocated_count(cidr("10.0.1.0/24")), 0u);
  EXPECT_EQ(space_.free_count(span("10.0.0.7", "10.0.0.7")), 0u);
  EXPECT_EQ(space_.free_count(cidr("fd00::/64")), 0u);
  EXPECT_EQ(space_.allocated_count(cidr("fd00::/64")), 0u);
}

TEST_F(SpaceTest, HasAllocationsIsTrueIffSomeAddressInTheRangeIsAllocated) {
  own(cidr("10.0.0.0/24"));
  ASSERT_TRUE(space_.claim(addr("10.0.0.64")).ok());
  EXPECT_TRUE(space_.has_allocations(cidr("10.0.0.64/26")));
  EXPECT_TRUE(space_.has_allocations(cidr("10.0.0.0/16")));
  EXPECT_FALSE(space_.has_allocations(cidr("10.0.0.0/26")));
  EXPECT_FALSE(space_.has_allocations(span("10.0.0.65", "10.0.1.0")));
  EXPECT_FALSE(space_.has_allocations(cidr("10.0.1.0/24")));
}

TEST_F(SpaceTest, RemovingARangeWithAllocationsIsRefusedAndChangesNothing) {
  own(cidr("10.0.0.0/24"));
  ASSERT_TRUE(space_.claim(addr("10.0.0.130")).ok());
  ASSERT_TRUE(space_.claim(addr("10.0.0.140")).ok());
  Status s = space_.remove(cidr("10.0.0.128/25"));
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(mentions(s, "10.0.0.130")) << s.to_string();
  EXPECT_TRUE(mentions(s, "2 of its addresses")) << s.to_string();
  EXPECT_EQ(space_.owned_ranges(), std::vector<Range>{cidr("10.0.0.0/24")});
  EXPECT_EQ(space_.free_count(), 254u);
  expect_intact();
}

TEST_F(SpaceTest, RemovingARangeNotWhollyOwnedIsRefusedAndChangesNothing) {
  own(cidr("10.0.0.0/24"));
  Status s = space_.remove(cidr("10.0.0.0/23"));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(mentions(s, "10.0.1.0")) << s.to_string();
  EXPECT_EQ(space_.remove(cidr("10.0.5.0/24")).code(), Code::kNotFound);
  EXPECT_EQ(space_.remove(span("10.0.0.0", "10.0.0.1")).code(), Code::kOk);
  EXPECT_EQ(space_.remove(span("10.0.0.0", "10.0.0.1")).code(), Code::kNotFound);
  EXPECT_EQ(space_.owned_ranges(), std::vector<Range>{span("10.0.0.1", "10.0.1.0")});
  expect_intact();
}

TEST_F(SpaceTest, RemovingFromAnEmptySpaceIsRefused) {
  EXPECT_EQ(space_.remove(cidr("10.0.0.0/24")).code(), Code::kNotFound);
}

TEST_F(SpaceTest, RemovingAnEmptyOrOtherFamilyRangeIsRefused) {
  own(cidr("10.0.0.0/24"));
  EXPECT_EQ(space_.remove(span("10.0.0.4", "10.0.0.4")).code(), Code::kInvalidArgument);
  EXPECT_EQ(space_.remove(cidr("fd00::/120")).code(), Code::kInvalidArgument);
  EXPECT_EQ(space_.free_count(), 256u);
}

TEST_F(SpaceTest, OwnsAndIsAllocatedFollowClaimAndFree) {
  own(cidr("10.0.0.0/29"));
  EXPECT_TRUE(space_.owns(addr("10.0.0.0")));
  EXPECT_TRUE(space_.owns(addr("10.0.0.7")));
  EXPECT_FALSE(space_.owns(addr("10.0.0.8")));
  EXPECT_FALSE(space_.owns(addr("::a00:1")));  // same value, other family
  ASSERT_TRUE(space_.claim(addr("10.0.0.7")).ok());
  EXPECT_TRUE(space_.is_allocated(addr("10.0.0.7")));
  ASSERT_TRUE(space_.free(addr("10.0.0.7")).ok());
  EXPECT_FALSE(space_.is_allocated(addr("10.0.0.7")));
  EXPECT_FALSE(space_.is_allocated(addr("10.0.0.8")));
}

TEST_F(SpaceTest, TheLastIpv4AddressCanBeOwnedAllocatedAndFreed) {
  own(cidr("255.255.255.0/24"));
  ASSERT_TRUE(space_.claim(addr("255.255.255.255")).ok());
  EXPECT_EQ(space_.free_count(cidr("255.255.255.128/25")), 127u);
  EXPECT_EQ(space_.choose_donation(cidr("255.255.255.0/24")), cidr("255.255.255.64/26"));
  ASSERT_TRUE(space_.free(addr("255.255.255.255")).ok());
  EXPECT_EQ(space_.choose_donation(cidr("255.255.255.0/24")), cidr("255.255.255.128/25"));
  ASSERT_TRUE(space_.remove(cidr("255.255.255.128/25")).ok());
  expect_intact();
}

TEST_F(SpaceTest, Ipv6Slash64CountsAllocatesAndDonatesWithoutScanning) {
  own(cidr("fd00::/64"));
  EXPECT_EQ(space_.free_count(), Uint128{1} << 64);
  Range hosts = Cidr::parse("fd00::/64")->host_range();
  EXPECT_EQ(*space_.allocate(hosts), addr("fd00::1"));
  ASSERT_TRUE(space_.claim(addr("fd00::ffff:ffff:ffff:fffe")).ok());
  EXPECT_EQ(space_.free_count(), (Uint128{1} << 64) - 2);
  EXPECT_EQ(space_.free_count(cidr("fd00::/65")), (Uint128{1} << 63) - 1);
  EXPECT_EQ(space_.allocated_count(cidr("fd00::8000:0:0:0/65")), 1u);
  // Neither /65 is wholly free, so the biggest aligned blocks are /66s; the higher wins.
  EXPECT_EQ(space_.choose_donation(cidr("fd00::/64")), cidr("fd00::8000:0:0:0/66"));
  ASSERT_TRUE(space_.remove(cidr("fd00::8000:0:0:0/66")).ok());
  EXPECT_EQ(space_.free_fragment_count(), 4u);
  expect_intact();
}

TEST_F(SpaceTest, Ipv6RangeEndingJustBelowTheTopOfTheSpaceWorks) {
  Address last = Address::v6(~Uint128{0} - 1);  // the highest address a Range can hold
  own(Range(last - 255, last + 1));
  ASSERT_TRUE(space_.claim(last).ok());
  EXPECT_EQ(space_.free_count(), 255u);
  Result<Address> a = space_.allocate(Range(last - 1, last + 1));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, last - 1);
  EXPECT_EQ(space_.remove(Range(last - 255, last + 1)).code(), Code::kFailedPrecondition);
  expect_intact();
}

// W-35
TEST_F(SpaceTest, DonationFromAFreshBlockIsItsUpperHalf) {
  own(cidr("10.0.0.0/26"));
  EXPECT_EQ(space_.choose_donation(cidr("10.0.0.0/26")), cidr("10.0.0.32/27"));
  EXPECT_EQ(space_.free_count(), 64u);  // choosing changes nothing
}

// W-35
TEST_F(SpaceTest, RepeatedDonationsEventuallyGiveEverythingAway) {
  own(cidr("10.0.0.0/26"));
  int donations = 0;
  for (Range d = space_.choose_donation(cidr("10.0.0.0/26")); !d.empty();
       d = space_.choose_donation(cidr("10.0.0.0/26"))) {
    EXPECT_TRUE(d.is_cidr()) << d.to_string();
    ASSERT_TRUE(space_.remove(d).ok()) << d.to_string();
    ++donations;
    ASSERT_LE(donations, 64);
  }
  EXPECT_EQ(space_.free_count(), 0u);
  EXPECT_TRUE(space_.owned_ranges().empty());
  EXPECT_EQ(donations, 7);  // 32, 16, 8, 4, 2, 1, 1
}

// W-36
TEST_F(SpaceTest, DonationPicksTheBiggestAlignedBlockAndTheHigherOnTies) {
  own(offsets(0, 64));
  // Free runs [1,20) and [40,64): the aligned blocks are [8,16) and [48,64) (16 wins).
  claim_all(offsets(0, 1));
  claim_all(offsets(20, 40));
  EXPECT_EQ(space_.choose_donation(offsets(0, 64)), offsets(48, 64));
  // Equal blocks [4,8) and [52,56) inside runs [3,9) and [50,57): the higher one is chosen.
  claim_all(offsets(1, 3));
  claim_all(offsets(9, 20));
  claim_all(offsets(40, 50));
  claim_all(offsets(57, 64));
  EXPECT_EQ(space_.choose_donation(offsets(0, 64)), offsets(52, 56));
}

// W-36
TEST_F(SpaceTest, DonationIsAtMostHalfOfTheFreeSpaceInTheRangeAsked) {
  own(offsets(0, 64));
  claim_all(offsets(0, 32));
  claim_all(offsets(48, 64));
  // Free [32,48) is all the free space: give its upper half.
  EXPECT_EQ(space_.choose_donation(offsets(0, 64)), offsets(40, 48));
  ASSERT_TRUE(space_.free(at(0)).ok());
  ASSERT_TRUE(space_.free(at(1)).ok());
  // 16 of 18 free is still more than half.
  EXPECT_EQ(space_.choose_donation(offsets(0, 64)), offsets(40, 48));
}

// W-36
TEST_F(SpaceTest, DonationFromScatteredSingleFreeAddressesIsOneOfThem) {
  own(offsets(0, 3));
  ASSERT_TRUE(space_.claim(at(0)).ok());
  ASSERT_TRUE(space_.claim(at(2)).ok());
  Range d = space_.choose_donation(offsets(0, 3));
  EXPECT_EQ(d, offsets(1, 2));
  ASSERT_TRUE(space_.remove(d).ok());
  EXPECT_TRUE(space_.choose_donation(offsets(0, 3)).empty());
}

// W-36
TEST_F(SpaceTest, AFullSpaceDonatesNothing) {
  own(cidr("10.0.0.0/28"));
  claim_all(cidr("10.0.0.0/28"));
  Range d = space_.choose_donation(cidr("10.0.0.0/28"));
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.start(), addr("10.0.0.0"));
}

// W-37
TEST_F(SpaceTest, FilledThenMostlyFreedBlockDonatesSixteenAndKeepsTheRest) {
  own(offsets(0, 48));
  claim_all(offsets(0, 48));
  for (std::uint32_t i = 0; i < 47; ++i) {
    ASSERT_TRUE(space_.free(at(i)).ok());
  }
  Range d = space_.choose_donation(offsets(0, 48));
  EXPECT_EQ(d, offsets(16, 32));
  ASSERT_TRUE(space_.remove(d).ok());
  EXPECT_EQ(space_.owned_ranges(), (std::vector<Range>{offsets(0, 16), offsets(32, 48)}));
  EXPECT_EQ(space_.free_count(offsets(0, 48)), 31u);
  EXPECT_TRUE(space_.is_allocated(at(47)));
}

TEST_F(SpaceTest, DonationOnlyComesFromInsideTheRangeAsked) {
  own(cidr("10.0.0.0/24"));
  // The biggest block overall is 10.0.0.0/24, but only .100-.139 is wanted.
  Range d = space_.choose_donation(span("10.0.0.100", "10.0.0.140"));
  EXPECT_EQ(d, cidr("10.0.0.112/28"));
  // A single wanted address that is free is given whole.
  EXPECT_EQ(space_.choose_donation(span("10.0.0.9", "10.0.0.10")), cidr("10.0.0.9/32"));
}

TEST_F(SpaceTest, DonationOutsideOwnedRangesOrOfTheOtherFamilyIsEmpty) {
  own(cidr("10.0.0.0/24"));
  EXPECT_TRUE(space_.choose_donation(cidr("10.0.1.0/24")).empty());
  EXPECT_TRUE(space_.choose_donation(cidr("fd00::/64")).empty());
  EXPECT_TRUE(space_.choose_donation(span("10.0.0.9", "10.0.0.9")).empty());
  EXPECT_TRUE(Space().choose_donation(cidr("10.0.0.0/24")).empty());
}

TEST_F(SpaceTest, ManyFragmentsKeepCountsAndDonationsExact) {
  own(cidr("10.0.0.0/16"));
  // Allocate every other address: 32768 single-address free runs.
  for (std::uint32_t i = 0; i < 65536; i += 2) {
    ASSERT_TRUE(space_.claim(Address::v4(0x0a000000u + i)).ok());
  }
  EXPECT_EQ(space_.free_fragment_count(), 32768u);
  EXPECT_EQ(space_.free_count(cidr("10.0.128.0/17")), 16384u);
  EXPECT_EQ(space_.allocated_count(span("10.0.0.1", "10.0.0.4")), 1u);
  // Every free run is one address; ties go to the highest.
  EXPECT_EQ(space_.choose_donation(cidr("10.0.0.0/16")), cidr("10.0.255.255/32"));
  EXPECT_EQ(space_.choose_donation(cidr("10.0.7.0/24")), cidr("10.0.7.255/32"));
  expect_intact();
}

TEST_F(SpaceTest, HealedFragmentationGivesItsMemoryBack) {
  own(cidr("10.0.0.0/16"));
  for (std::uint32_t i = 0; i < 65536; i += 2) {
    ASSERT_TRUE(space_.claim(Address::v4(0x0a000000u + i)).ok());
  }
  std::size_t fragmented = space_.memory_bytes();
  EXPECT_GE(fragmented, 32768 * IntervalSet::interval_bytes());
  for (std::uint32_t i = 0; i < 65536; i += 2) {
    ASSERT_TRUE(space_.free(Address::v4(0x0a000000u + i)).ok());
  }
  EXPECT_EQ(space_.free_fragment_count(), 1u);
  EXPECT_LE(space_.memory_bytes(), 2048 * IntervalSet::interval_bytes());
  expect_intact();
}

}  // namespace
}  // namespace wipam::ring
