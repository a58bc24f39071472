// A ring's identity text round-trips its seeds, is empty without seeds, stays within its
// bound (a long list is cut with a digest, so two long lists still differ), and refuses
// anything else; RingConflicts tells a new conflict from a renewed one, takes the UID of the
// incarnation seen up, ends a conflict for another incarnation or after its memory.
#include "ring/ring_conflicts.h"

#include <gtest/gtest.h>

namespace wipam::ring {
namespace {

using std::chrono::milliseconds;

std::vector<PeerName> names(std::uint64_t from, std::size_t n) {
  std::vector<PeerName> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(PeerName(from + i));
  }
  return out;
}

TEST(RingConflictsTest, IdentityTextRoundTripsTheSeeds) {
  std::vector<PeerName> seeds = {PeerName(1), PeerName(0x0a0000000002)};
  std::string text = seeds_identity(seeds);
  EXPECT_EQ(text, "seeds [00:00:00:00:00:01 0a:00:00:00:00:02]");
  Result<std::vector<PeerName>> back = parse_seeds_identity(text);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, seeds);
  EXPECT_EQ(seeds_identity({}), "");
}

TEST(RingConflictsTest, ALongSeedListIsCutWithADigest) {
  std::string a = seeds_identity(names(1, 400));
  std::string b = seeds_identity(names(2, 400));
  EXPECT_LE(a.size(), kMaxSeedsIdentityBytes);
  EXPECT_NE(a.find("400 in all, digest "), std::string::npos) << a;
  EXPECT_NE(a, b);
  EXPECT_FALSE(parse_seeds_identity(a).ok());
  EXPECT_EQ(seeds_identity(names(1, 200)).size(), 7 + 200 * 18);  // whole below the bound
}

TEST(RingConflictsTest, OtherTextIsNotASeedList) {
  for (const char* bad : {"", "seeds []", "seeds [x]", "seeds [00:00:00:00:00:01", "peers [::1]",
                          "seeds [00:00:00:00:00:00]"}) {
    EXPECT_FALSE(parse_seeds_identity(bad).ok()) << bad;
  }
}

TEST(RingConflictsTest, NewRenewedAndUnknownParts) {
  RingConflicts conflicts(milliseconds(1000));
  PeerIdentity a{PeerName(1), "a", 0};
  conflicts.peer_up({PeerName(1), "a", 7});
  EXPECT_TRUE(conflicts.record(milliseconds(1), a, {PeerName(2)}, {}));
  const RingConflict* c = conflicts.find(PeerName(1));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->peer.uid, 7u);  // the incarnation last seen up
  EXPECT_NE(c->message().find("theirs: seeds unknown"), std::string::npos) << c->message();
  EXPECT_FALSE(conflicts.record(milliseconds(2), a, {PeerName(2)}, {PeerName(1)}));
  EXPECT_EQ(conflicts.find(PeerName(1))->theirs, std::vector<PeerName>{PeerName(1)});
  EXPECT_EQ(conflicts.find(PeerName(1))->last_seen, milliseconds(2));
  // Another incarnation still apart is a conflict of its own.
  EXPECT_TRUE(conflicts.record(milliseconds(3), {PeerName(1), "a", 8}, {PeerName(2)}, {}));
}

TEST(RingConflictsTest, EndsForAnotherIncarnationOrAfterTheMemory) {
  RingConflicts conflicts(milliseconds(1000));
  conflicts.record(milliseconds(0), {PeerName(1), "a", 7}, {PeerName(2)}, {PeerName(1)});
  conflicts.record(milliseconds(500), {PeerName(3), "c", 9}, {PeerName(2)}, {PeerName(3)});
  EXPECT_FALSE(conflicts.peer_up({PeerName(1), "a", 7}).has_value());
  EXPECT_NE(conflicts.summary().find("(and 1 more peers created apart)"), std::string::npos);
  std::optional<RingConflict> ended = conflicts.peer_up({PeerName(1), "a", 70});
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->peer.uid, 7u);
  EXPECT_TRUE(conflicts.expire(milliseconds(1499)).empty());
  EXPECT_EQ(conflicts.expire(milliseconds(1500)).size(), 1u);
  EXPECT_TRUE(conflicts.empty());
  EXPECT_EQ(conflicts.summary(), "");
}

}  // namespace
}  // namespace wipam::ring
