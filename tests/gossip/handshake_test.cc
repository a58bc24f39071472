// The handshake's pure checks: version negotiation picks the highest common version and
// refuses foreign or disjoint preambles; a Hello is refused, with the exact operator-facing
// text, for a connection to ourselves, a second incarnation of our name, a different
// allocation range, and either direction of a password mismatch; the transcript changes
// whenever any byte either side sent changes.
#include "gossip/handshake.h"

#include <gtest/gtest.h>

namespace wipam::gossip {
namespace {

LocalTerms ours() { return LocalTerms{{ring::PeerName(1), "a", 100}, "10.32.0.0/12", false}; }

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

TEST(HandshakeTest, CompatibleHelloIsAccepted) { EXPECT_TRUE(check_hello(theirs(), ours()).ok()); }

TEST(HandshakeTest, DifferentRangeIsRefusedWithTheOperatorLine) {
  Hello hello = theirs();
  hello.range = "10.40.0.0/16";
  Status status = check_hello(hello, ours());
  EXPECT_EQ(status.message(),
            "Incompatible IP allocation ranges (received: 10.40.0.0/16, ours: 10.32.0.0/12)");
}

TEST(HandshakeTest, OurOwnNameWithAnotherUidIsACollision) {
  Hello hello = theirs();
  hello.identity = {ring::PeerName(1), "impostor", 999};
  Status status = check_hello(hello, ours());
  EXPECT_EQ(status.code(), Code::kConflict);
  EXPECT_NE(status.message().find("peer name collision"), std::string::npos);
}

TEST(HandshakeTest, OurOwnIdentityIsAConnectionToOurselves) {
  Hello hello = theirs();
  hello.identity = ours().self;
  EXPECT_EQ(check_hello(hello, ours()).message(), "connected to ourselves");
}

TEST(HandshakeTest, PasswordOnlyOnOurSideIsRefused) {
  LocalTerms keyed = ours();
  keyed.keyed = true;
  EXPECT_NE(check_hello(theirs(), keyed).message().find("has no password but we require one"),
            std::string::npos);
}

TEST(HandshakeTest, PasswordOnlyOnTheirSideIsRefused) {
  Hello hello = theirs();
  hello.keyed = true;
  EXPECT_NE(check_hello(hello, ours()).message().find("requires a password but we have none"),
            std::string::npos);
}

TEST(HandshakeTest, TranscriptDependsOnEveryPart) {
  Bytes a = encode_hello(theirs());
  Hello other = theirs();
  other.nonce[0] = 1;
  Bytes b = encode_hello(other);
  Digest base = handshake_transcript(make_preamble(), make_preamble(), a, a);
  EXPECT_NE(base, handshake_transcript(make_preamble(), make_preamble(), a, b));
  EXPECT_NE(base, handshake_transcript(make_preamble(), make_preamble(), b, a));
  EXPECT_NE(base, handshake_transcript(make_preamble(1, 2), make_preamble(), a, a));
  EXPECT_EQ(base, handshake_transcript(make_preamble(), make_preamble(), a, a));
}

}  // namespace
}  // namespace wipam::gossip
