// The handshake's pure checks: version negotiation picks the highest common version and
// refuses foreign or disjoint preambles; a Hello is refused, with the exact operator-facing
// text, for a connection to ourselves, a second incarnation of our name, a different
// allocation range, either direction of a password mismatch, and allocation identities that
// are both set and differ (rings created apart), never when either is empty; the transcript changes
// whenever any byte either side sent changes.
#include "gossip/handshake.h"

#include <gtest/gtest.h>

namespace wipam::gossip {
namespace {

LocalTerms ours() { return LocalTerms{{ring::PeerName(1), "a", 100}, "10.32.0.0/12", false, ""}; }

Hello theirs() {
  Hello hello;
  hello.identity = {ring::PeerName(2), "b", 200};
  hello.range = "10.32.0.0/12";
  return hello;
}

TEST(HandshakeTest, HighestCommonVersionIsChosen) {
  Result<std::uint8_t> v = negotiate_version(make_preamble(1, 3), make_preamble(2, 5));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);
}

TEST(HandshakeTest, DisjointVersionsAreRefusedNamingBoth) {
  Result<std::uint8_t> v = negotiate_version(make_preamble(1, 1), make_preamble(2, 3));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "no common protocol version (ours 1..1, theirs 2..3)");
}

TEST(HandshakeTest, InvertedVersionRangeIsRefused) {
  EXPECT_FALSE(negotiate_version(make_preamble(1, 5), make_preamble(4, 2)).ok());
}

TEST(HandshakeTest, ForeignPreambleIsRefused) {
  Preamble http = {'G', 'E', 'T', ' ', '/', ' '};
  EXPECT_EQ(negotiate_version(make_preamble(), http).status().message(),
            "not a weave-ipam peer (bad preamble)");
}

TEST(HandshakeTest, CompatibleHelloIsAccepted) {
  HelloCheck check = check_hello(theirs(), ours());
  EXPECT_TRUE(check.status.ok());
  EXPECT_EQ(check.refusal, Refusal::kNone);
}

TEST(HandshakeTest, DifferentRangeIsRefusedWithTheOperatorLine) {
  Hello hello = theirs();
  hello.range = "10.40.0.0/16";
  Status status = check_hello(hello, ours()).status;
  EXPECT_EQ(status.message(),
            "Incompatible IP allocation ranges (received: 10.40.0.0/16, ours: 10.32.0.0/12)");
}

TEST(HandshakeTest, OurOwnNameWithAnotherUidIsACollision) {
  Hello hello = theirs();
  hello.identity = {ring::PeerName(1), "impostor", 999};
  Status status = check_hello(hello, ours()).status;
  EXPECT_EQ(status.code(), Code::kConflict);
  EXPECT_NE(status.message().find("peer name collision"), std::string::npos);
}

TEST(HandshakeTest, OurOwnIdentityIsAConnectionToOurselves) {
  Hello hello = theirs();
  hello.identity = ours().self;
  EXPECT_EQ(check_hello(hello, ours()).status.message(), "connected to ourselves");
}

TEST(HandshakeTest, PasswordOnlyOnOurSideIsRefused) {
  LocalTerms keyed = ours();
  keyed.keyed = true;
  EXPECT_NE(
      check_hello(theirs(), keyed).status.message().find("has no password but we require one"),
      std::string::npos);
}

TEST(HandshakeTest, PasswordOnlyOnTheirSideIsRefused) {
  Hello hello = theirs();
  hello.keyed = true;
  EXPECT_NE(
      check_hello(hello, ours()).status.message().find("requires a password but we have none"),
      std::string::npos);
}

// Rings created apart: both sides have an allocation identity and they differ.
TEST(HandshakeTest, EqualAllocationIdentitiesAreAccepted) {
  LocalTerms terms = ours();
  terms.allocation_identity = "seeds [00:00:00:00:00:01]";
  Hello hello = theirs();
  hello.allocation_identity = terms.allocation_identity;
  EXPECT_TRUE(check_hello(hello, terms).status.ok());
}

TEST(HandshakeTest, AnEmptyAllocationIdentityJoinsEither) {
  LocalTerms terms = ours();
  terms.allocation_identity = "seeds [00:00:00:00:00:01]";
  EXPECT_TRUE(check_hello(theirs(), terms).status.ok());  // a peer with no ring yet joins us
  Hello hello = theirs();
  hello.allocation_identity = "seeds [00:00:00:00:00:02]";
  EXPECT_TRUE(check_hello(hello, ours()).status.ok());  // and we, with none, join it
  EXPECT_FALSE(identities_conflict("", ""));
  EXPECT_FALSE(identities_conflict("x", ""));
  EXPECT_FALSE(identities_conflict("", "x"));
}

TEST(HandshakeTest, DifferentAllocationIdentitiesAreRefusedAsCreatedApart) {
  LocalTerms terms = ours();
  terms.allocation_identity = "seeds [00:00:00:00:00:01]";
  Hello hello = theirs();
  hello.allocation_identity = "seeds [00:00:00:00:00:02]";
  HelloCheck check = check_hello(hello, terms);
  EXPECT_EQ(check.refusal, Refusal::kCreatedApart);
  EXPECT_EQ(check.status.code(), Code::kConflict);
  EXPECT_EQ(check.status.message(),
            "this peer's IP allocation was created apart from 00:00:00:00:00:02(b)'s (ours: seeds "
            "[00:00:00:00:00:01], theirs: seeds [00:00:00:00:00:02]); wipe the state of the "
            "smaller network and restart its peers");
  EXPECT_TRUE(identities_conflict("a", "b"));
}

TEST(HandshakeTest, IdentitiesOfSeveralRangesAreComparedPartByPart) {
  // One part per allocation range: a range with no ring yet on either side joins the other.
  EXPECT_FALSE(identities_conflict("a|b", "a|b"));
  EXPECT_FALSE(identities_conflict("a|b", "a|"));
  EXPECT_FALSE(identities_conflict("|b", "a|b"));
  EXPECT_FALSE(identities_conflict("a|", "|b"));
  EXPECT_TRUE(identities_conflict("a|b", "a|c"));
  EXPECT_TRUE(identities_conflict("a|", "c|"));
  EXPECT_TRUE(identities_conflict("a|b", "c|b"));
  EXPECT_TRUE(identities_conflict("a|b", "a"));  // another number of ranges
  LocalTerms terms = ours();
  terms.range = "10.32.0.0/12,fd00:32::/48";
  terms.allocation_identity = "seeds [00:00:00:00:00:01]|seeds [00:00:00:00:00:01]";
  Hello hello = theirs();
  hello.range = terms.range;
  hello.allocation_identity = "seeds [00:00:00:00:00:01]|seeds [00:00:00:00:00:02]";
  EXPECT_EQ(check_hello(hello, terms).refusal, Refusal::kCreatedApart);
  hello.allocation_identity = "seeds [00:00:00:00:00:01]|";
  EXPECT_TRUE(check_hello(hello, terms).status.ok());
}

TEST(HandshakeTest, ADifferentSetOfRangesNamesBothSets) {
  LocalTerms terms = ours();
  terms.range =
      ranges_text({*ring::Cidr::parse("10.32.0.0/12"), *ring::Cidr::parse("fd00:32::/48")});
  EXPECT_EQ(terms.range, "10.32.0.0/12,fd00:32::/48");
  Hello hello = theirs();
  hello.range = "10.32.0.0/12";
  HelloCheck check = check_hello(hello, terms);
  EXPECT_EQ(check.status.message(),
            "Incompatible IP allocation ranges (received: 10.32.0.0/12, ours: "
            "10.32.0.0/12,fd00:32::/48)");
}

TEST(HandshakeTest, ARangeMismatchIsReportedAsSuchEvenWithOtherIdentities) {
  LocalTerms terms = ours();
  terms.allocation_identity = "seeds [00:00:00:00:00:01]";
  Hello hello = theirs();
  hello.range = "10.40.0.0/16";
  hello.allocation_identity = "seeds [00:00:00:00:00:02]";
  EXPECT_EQ(check_hello(hello, terms).refusal, Refusal::kRange);
}

TEST(HandshakeTest, LongIdentitiesAreCutInTheRefusalSoItFitsAVerdict) {
  std::string ours_id(3000, 'a');
  std::string theirs_id(3000, 'b');
  std::string message = created_apart_message("00:00:00:00:00:02(b)", ours_id, theirs_id);
  EXPECT_LE(message.size(), kMaxReasonBytes);
  EXPECT_NE(message.find("..."), std::string::npos);
}

TEST(HandshakeTest, TranscriptDependsOnEveryPart) {
  Bytes a = encode_hello(theirs());
  Hello other = theirs();
  other.nonce[0] = 1;
  Bytes b = encode_hello(other);
  Digest base = handshake_transcript(make_preamble(), make_preamble(), a, a);
  EXPECT_NE(base, handshake_transcript(make_preamble(), make_preamble(), a, b));
  EXPECT_NE(base, handshake_transcript(make_preamble(), make_preamble(), b, a));
  EXPECT_NE(base, handshake_transcript(make_preamble(1, 1), make_preamble(), a, a));
  EXPECT_EQ(base, handshake_transcript(make_preamble(), make_preamble(), a, a));
}

}  // namespace
}  // namespace wipam::gossip
