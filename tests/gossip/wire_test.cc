// The frame bodies peers exchange decode back to what was encoded, and every malformed body
// (truncated, trailing bytes, wrong type, over-long fields, out-of-range names, implausible
// counts, inconsistent flags) is refused with a Status instead of crashing or allocating. A
// seeded random-bytes run feeds every decoder; set WIPAM_FUZZ_SEED to replay one.
#include "gossip/wire.h"

#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

namespace wipam::gossip {
namespace {

Hello sample_hello() {
  Hello hello;
  hello.identity = {ring::PeerName(0x0a0b0c0d0e0f), "host-a", 77};
  hello.listen_port = 6783;
  hello.range = "10.32.0.0/12";
  hello.keyed = true;
  hello.nonce.fill(3);
  hello.key_share.fill(9);
  return hello;
}

TEST(WireTest, HelloRoundTrips) {
  Hello hello = sample_hello();
  Result<Hello> back = decode_hello(encode_hello(hello));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->identity, hello.identity);
  EXPECT_EQ(back->listen_port, 6783);
  EXPECT_EQ(back->range, hello.range);
  EXPECT_TRUE(back->keyed);
  EXPECT_EQ(back->nonce, hello.nonce);
  EXPECT_EQ(back->key_share, hello.key_share);
}

TEST(WireTest, TheLargestHelloAndVerdictFitTheHandshakeFrameLimit) {
  Hello hello = sample_hello();
  hello.identity.nickname = std::string(kMaxNicknameBytes, 'n');
  hello.range = std::string(kMaxRangeTextBytes, 'r');
  hello.allocation_identity = std::string(kMaxAllocationIdentityBytes, 'i');
  EXPECT_EQ(encode_hello(hello).size(), kMaxHelloBytes);
  Verdict refusal{false, {}, std::string(kMaxReasonBytes, 'x')};
  EXPECT_EQ(encode_verdict(refusal).size(), kMaxVerdictBytes);
  EXPECT_LE(kMaxHandshakeFrameBytes, std::size_t{5000});  // a stranger's share stays small
}

TEST(WireTest, VerdictRoundTrips) {
  Verdict refusal{false, {}, "Incompatible IP allocation ranges"};
  Result<Verdict> back = decode_verdict(encode_verdict(refusal));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->accept);
  EXPECT_EQ(back->reason, refusal.reason);
}

TEST(WireTest, TopologyRoundTrips) {
  std::vector<PeerEntry> entries = {
      {{ring::PeerName(1), "a", 5}, 9, {{ring::PeerName(2), "127.0.0.2:6783"}}},
      {{ring::PeerName(2), "b", 6}, 3, {}}};
  Result<std::vector<PeerEntry>> back = decode_topology(encode_topology(entries));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, entries);
}

TEST(WireTest, BroadcastUnicastAndGossipRoundTrip) {
  BroadcastMessage b{ring::PeerName(4), 8, 15, {1, 2, 3}};
  Result<BroadcastMessage> b2 = decode_broadcast(encode_broadcast(b));
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(b2->seq, 15u);
  EXPECT_EQ(b2->payload, b.payload);
  UnicastMessage u{ring::PeerName(4), ring::PeerName(5), 3, {9}};
  Result<UnicastMessage> u2 = decode_unicast(encode_unicast(u));
  ASSERT_TRUE(u2.ok());
  EXPECT_EQ(u2->destination, ring::PeerName(5));
  EXPECT_EQ(u2->hops_left, 3);
  Bytes payload = {5, 5};
  EXPECT_EQ(*decode_gossip(encode_gossip(payload)), payload);
}

TEST(WireTest, EmptyBodyHasNoType) { EXPECT_FALSE(frame_type({}).ok()); }

TEST(WireTest, UnknownTypeIsRefused) {
  Bytes body = {99};
  EXPECT_EQ(frame_type(body).status().code(), Code::kCorruption);
}

TEST(WireTest, TruncatedHelloIsRefused) {
  Bytes body = encode_hello(sample_hello());
  body.pop_back();
  Result<Hello> hello = decode_hello(body);
  ASSERT_FALSE(hello.ok());
  EXPECT_NE(hello.status().message().find("truncated"), std::string::npos);
}

TEST(WireTest, HelloWithTrailingBytesIsRefused) {
  Bytes body = encode_hello(sample_hello());
  body.push_back(0);
  EXPECT_NE(decode_hello(body).status().message().find("trailing"), std::string::npos);
}

TEST(WireTest, BodyOfAnotherTypeIsRefused) { EXPECT_FALSE(decode_hello(encode_heartbeat()).ok()); }

TEST(WireTest, OverlongNicknameIsRefused) {
  Hello hello = sample_hello();
  hello.identity.nickname = std::string(kMaxNicknameBytes + 1, 'x');
  EXPECT_NE(decode_hello(encode_hello(hello)).status().message().find("nickname"),
            std::string::npos);
}

TEST(WireTest, ZeroPeerNameIsRefused) {
  Hello hello = sample_hello();
  hello.identity.name = ring::PeerName(0);
  EXPECT_FALSE(decode_hello(encode_hello(hello)).ok());
}

TEST(WireTest, KeyedFlagOtherThanZeroOrOneIsRefused) {
  Bytes body = encode_hello(sample_hello(), 1);
  // In a version 1 Hello the flag sits right before the 64 bytes of nonce and key share.
  body[body.size() - kNonceBytes - kKeyShareBytes - 1] = 2;
  EXPECT_FALSE(decode_hello(body, 1).ok());
}

TEST(WireTest, VersionTwoHelloCarriesTheAllocationIdentity) {
  Hello hello = sample_hello();
  hello.allocation_identity = "seeds [00:00:00:00:00:01]";
  Result<Hello> back = decode_hello(encode_hello(hello, 2), 2);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->allocation_identity, hello.allocation_identity);
}

TEST(WireTest, VersionOneHelloHasNoAllocationIdentity) {
  Hello hello = sample_hello();
  hello.allocation_identity = "seeds [00:00:00:00:00:01]";
  Bytes v1 = encode_hello(hello, 1);
  Result<Hello> back = decode_hello(v1, 1);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->allocation_identity, "");
  EXPECT_FALSE(decode_hello(v1, 2).ok());  // each side decodes by the negotiated version
  EXPECT_FALSE(decode_hello(encode_hello(hello, 2), 1).ok());
}

TEST(WireTest, OverlongAllocationIdentityIsRefused) {
  Hello hello = sample_hello();
  Bytes body = encode_hello(hello, 2);
  // Replace the empty identity (its u16 length is the last two bytes) by an over-long one.
  std::size_t n = kMaxAllocationIdentityBytes + 1;
  body[body.size() - 2] = static_cast<std::uint8_t>(n >> 8);
  body[body.size() - 1] = static_cast<std::uint8_t>(n);
  body.insert(body.end(), n, 'x');
  EXPECT_NE(decode_hello(body, 2).status().message().find("allocation identity"),
            std::string::npos);
}

TEST(WireTest, AcceptingVerdictWithAReasonIsRefused) {
  Verdict odd{true, {}, "but why"};
  EXPECT_FALSE(decode_verdict(encode_verdict(odd)).ok());
}

TEST(WireTest, RefusingVerdictWithoutAReasonIsRefused) {
  Verdict odd{false, {}, ""};
  EXPECT_FALSE(decode_verdict(encode_verdict(odd)).ok());
}

TEST(WireTest, ImplausibleTopologyCountIsRefusedWithoutAllocating) {
  Bytes body = {static_cast<std::uint8_t>(FrameType::kTopology), 0xff, 0xff, 0xff, 0xff};
  Result<std::vector<PeerEntry>> entries = decode_topology(body);
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("implausible"), std::string::npos);
}

TEST(WireTest, BlobLongerThanTheBodyIsRefused) {
  Bytes body = encode_gossip(Bytes{1, 2, 3});
  body[4] = 200;  // length says 200, 3 bytes follow
  EXPECT_FALSE(decode_gossip(body).ok());
}

TEST(WireTest, UnicastWithTooManyHopsIsRefused) {
  UnicastMessage u{ring::PeerName(1), ring::PeerName(2), kMaxHops, {}};
  Bytes body = encode_unicast(u);
  body[17] = kMaxHops + 1;
  EXPECT_FALSE(decode_unicast(body).ok());
}

TEST(WireTest, RandomBytesNeverCrashAnyDecoder) {
  std::uint64_t seed = 20240601;
  if (const char* env = std::getenv("WIPAM_FUZZ_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  }
  SCOPED_TRACE("WIPAM_FUZZ_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::vector<Bytes> seeds = {encode_hello(sample_hello()),
                              encode_topology({{{ring::PeerName(1), "a", 5}, 9, {}}}),
                              encode_unicast({ring::PeerName(1), ring::PeerName(2), 3, {1}})};
  for (int i = 0; i < 20000; ++i) {
    Bytes body = seeds[static_cast<std::size_t>(i) % seeds.size()];
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      body[rng() % body.size()] = static_cast<std::uint8_t>(rng());
    }
    body.resize(rng() % (body.size() + 1));
    (void)frame_type(body);
    (void)decode_hello(body);
    (void)decode_verdict(body);
    (void)decode_topology(body);
    (void)decode_broadcast(body);
    (void)decode_unicast(body);
    (void)decode_gossip(body);
  }
}

}  // namespace
}  // namespace wipam::gossip
