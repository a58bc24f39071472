// Peer messages survive an encode/decode round trip unchanged, and decoding refuses
// truncated, mistyped, oversized and random input with kCorruption instead of crashing.
#include "ring/messages.h"

#include <algorithm>
#include <chrono>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ring/allocation_table.h"
#include "tests/ring/hostile_cbor.h"

namespace wipam::ring {
namespace {

Address addr(const char* text) { return *Address::parse(text); }

PeerMessage round_trip(const PeerMessage& m) {
  std::vector<std::uint8_t> bytes = encode_message(m);
  Result<PeerMessage> back = decode_message(bytes);
  EXPECT_TRUE(back.ok()) << back.status().to_string();
  return back.ok() ? *back : PeerMessage(RingRequest{});
}

TEST(MessagesTest, EveryMessageRoundTrips) {
  Range wanted(addr("10.32.0.0"), addr("10.33.0.0"));
  std::vector<PeerMessage> messages = {
      RingUpdate{{1, 2, 3, 0, 255}},
      RingRequest{},
      SpaceRequest{wanted},
      SpaceDenied{Range(addr("10.32.0.7"), addr("10.32.0.8"))},
      PaxosUpdate{{9, 8, 7}},
      HeldAddresses{{addr("10.32.0.1"), addr("10.32.0.9")}},
      SpaceRequest{Range(addr("fd00::"), addr("fd00::1:0"))},
      HeldAddresses{},
      HeldAddresses{{addr("10.32.0.1")}, {{addr("10.32.5.1"), "gateway:g"}}},
      HeldAddresses{{addr("10.32.0.1")}, {{addr("10.32.5.1"), "gateway:g"}}, {}, 77, 3},
      HeldAddresses{{}, {}, {}, 0xffffffffffffffff, 1},
      HeldAddresses{{}, {}, {}, 7, 0},
      HeldAddresses{
          {}, {{addr("10.32.5.1"), "gateway:g"}}, {{addr("10.32.6.1"), "gateway:h"}}, 9, 4},
      ShareRequest{addr("10.32.5.1"), "gateway:weave-10.32.5.0/24"},
      ShareRequest{addr("10.32.5.1"), "gateway:weave-10.32.5.0/24", 5, 9},
      ShareRequest{addr("10.32.5.1"), "gateway:weave-10.32.5.0/24", 5, 0},
      ShareGranted{addr("fd00::1"), "gateway:weave-fd00::/64"},
      SharesNotice{},
      SharesNotice{{{addr("10.32.5.1"), "gateway:g", {PeerName(2), PeerName(0xffffffffffff)}},
                    {addr("10.32.5.9"), "10.32.5.9", {}}}},
  };
  for (const PeerMessage& m : messages) {
    EXPECT_EQ(round_trip(m), m) << message_name(m);
  }
}

TEST(MessagesTest, NamesAreStable) {
  EXPECT_STREQ(message_name(RingUpdate{}), "ring-update");
  EXPECT_STREQ(message_name(HeldAddresses{}), "held-addresses");
  EXPECT_STREQ(message_name(ShareRequest{}), "share-request");
  EXPECT_STREQ(message_name(ShareGranted{}), "share-granted");
  EXPECT_STREQ(message_name(SharesNotice{}), "shares-notice");
}

TEST(MessagesTest, EmptyAndTruncatedInputIsRefused) {
  EXPECT_EQ(decode_message({}).status().code(), Code::kCorruption);
  std::vector<std::uint8_t> bytes =
      encode_message(SpaceRequest{Range(addr("10.32.0.0"), addr("10.33.0.0"))});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_message(std::span(bytes.data(), n)).ok()) << n;
  }
}

std::vector<std::uint8_t> address_bytes(std::uint8_t family, std::uint8_t last) {
  std::vector<std::uint8_t> bytes(17, 0);
  bytes[0] = family;
  bytes[16] = last;
  return bytes;
}

TEST(MessagesTest, UnknownTypeIsRefused) {
  using nlohmann::json;
  Result<PeerMessage> m = decode_message(json::to_cbor(json::array({42, nullptr})));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("unknown message type"), std::string::npos);
}

TEST(MessagesTest, BackwardsOrMixedRangeIsRefused) {
  using nlohmann::json;
  json backwards = json::array(
      {3, json::array({json::binary(address_bytes(4, 9)), json::binary(address_bytes(4, 1))})});
  json mixed = json::array(
      {3, json::array({json::binary(address_bytes(4, 1)), json::binary(address_bytes(6, 9))})});
  json bad_family = json::array(
      {4, json::array({json::binary(address_bytes(5, 1)), json::binary(address_bytes(5, 9))})});
  for (const json& j : {backwards, mixed, bad_family}) {
    EXPECT_EQ(decode_message(json::to_cbor(j)).status().code(), Code::kCorruption) << j.dump();
  }
  json good = json::array(
      {3, json::array({json::binary(address_bytes(4, 1)), json::binary(address_bytes(4, 9))})});
  EXPECT_TRUE(decode_message(json::to_cbor(good)).ok());
}

TEST(MessagesTest, WrongBodyTypesAreRefused) {
  using nlohmann::json;
  for (const json& j :
       {json::array({1, "not bytes"}), json::array({3, json::array({1, 2})}),
        json::array({6, json::array({json::binary({1, 2})})}), json::array({6, "x"}),
        json::object(), json(7), json::array({-1, 0}),
        json::array({3, json::array({json::binary(std::vector<std::uint8_t>(17, 0)),
                                     json::binary(std::vector<std::uint8_t>(17, 0))})})}) {
    std::vector<std::uint8_t> bytes = json::to_cbor(j);
    Result<PeerMessage> m = decode_message(bytes);
    EXPECT_FALSE(m.ok()) << j.dump();
  }
}

TEST(MessagesTest, RandomBytesNeverCrashTheDecoder) {
  std::mt19937_64 rng(20261122);
  for (int i = 0; i < 100000; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 64);
    for (auto& b : bytes) {
      b = static_cast<std::uint8_t>(rng());
    }
    if (i % 2 == 0 && !bytes.empty()) {
      bytes[0] = 0x82;  // a two-element array, to get past the first check more often
    }
    (void)decode_message(bytes);
  }
  SUCCEED();
}

// Issue #12: nlohmann's reader recursed once per level, so 1 MB of 0x81 in a gossip frame
// overflowed the stack. The pre-scan refuses each hostile shape before nlohmann runs.
TEST(MessagesTest, DeepLongAndLyingCborIsRefusedQuickly) {
  for (const HostileCbor& h : hostile_cbor()) {
    auto start = std::chrono::steady_clock::now();
    Result<PeerMessage> m = decode_message(h.bytes);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(m.ok()) << h.name;
    EXPECT_EQ(m.status().code(), Code::kCorruption) << h.name;
    EXPECT_NE(m.status().message().find("CBOR input"), std::string::npos)
        << h.name << ": " << m.status().message();
    EXPECT_LT(took, std::chrono::seconds(1)) << h.name;
  }
}

TEST(MessagesTest, TheLongestHeldAddressesStillDecode) {
  HeldAddresses most;
  for (std::size_t i = 0; i < kMaxHeldAddresses; ++i) {
    most.addresses.push_back(Address::of(Family::kV4, 0x0a000000 + i));
  }
  EXPECT_EQ(round_trip(most), PeerMessage(most));
  HeldAddresses ordered = most;
  ordered.incarnation = 9;
  ordered.sequence = 12;
  EXPECT_EQ(round_trip(ordered), PeerMessage(ordered));
  most.addresses.push_back(addr("11.0.0.1"));
  EXPECT_EQ(decode_message(encode_message(most)).status().code(), Code::kCorruption);
  ordered.addresses.push_back(addr("11.0.0.1"));
  EXPECT_EQ(decode_message(encode_message(ordered)).status().code(), Code::kCorruption);
}

// Shared and asked holdings count together against one bound.
TEST(MessagesTest, HeldSharesAndAskedSharesAreBoundedTogether) {
  HeldAddresses most;
  for (std::size_t i = 0; i < kMaxSharedHeld; ++i) {
    auto& list = i % 2 == 0 ? most.shared : most.asked;
    list.push_back({Address::of(Family::kV4, 0x0a000000 + i), "gateway:g"});
  }
  EXPECT_EQ(round_trip(most), PeerMessage(most));
  most.asked.push_back({addr("11.0.0.1"), "gateway:g"});
  EXPECT_EQ(decode_message(encode_message(most)).status().code(), Code::kCorruption);
}

TEST(MessagesTest, HeldAddressesOrderIsTwoNumbersAtTheEndOnly) {
  using nlohmann::json;
  json a = json::binary(address_bytes(4, 1));
  for (const json& j :
       {json::array({6, json::array({7, a})}), json::array({6, json::array({7})}),
        json::array({6, json::array({7, a, 8})}), json::array({6, json::array({a, -1, 8})})}) {
    EXPECT_EQ(decode_message(json::to_cbor(j)).status().code(), Code::kCorruption) << j.dump();
  }
  Result<PeerMessage> m = decode_message(json::to_cbor(json::array({6, json::array({a, 7, 8})})));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const auto& held = std::get<HeldAddresses>(*m);
  EXPECT_EQ(held.addresses.size(), 1u);
  EXPECT_EQ(held.incarnation, 7u);
  EXPECT_EQ(held.sequence, 8u);
}

TEST(MessagesTest, AShareIsAnAddressAndABoundedOwnerOrRefused) {
  using nlohmann::json;
  json a = json::binary(address_bytes(4, 1));
  for (const json& j :
       {json::array({7, json::array({a})}), json::array({7, json::array({a, 5})}),
        json::array({8, json::array({"x", "owner"})}), json::array({7, "x"}),
        json::array({8, json::array({a, "o", "extra"})}),
        json::array({8, json::array({a, "o", 1, 2})}), json::array({7, json::array({a, "o", 1})}),
        json::array({7, json::array({a, "o", 1, -2})}),
        json::array({6, json::array({json::array({a})})}),
        json::array({6, json::array({json::array({a, 5})})}),
        json::array({6, json::array({json::array({a, "o", false})})}),
        json::array({6, json::array({json::array({a, "o", 1})})}),
        json::array({6, json::array({json::array({a, "o", true, true})})}),
        json::array({6, json::array({json::array({"x", "owner"})})}),
        json::array({7, json::array({a, json(std::string(kMaxOwnerBytes + 1, 'o'))})})}) {
    EXPECT_EQ(decode_message(json::to_cbor(j)).status().code(), Code::kCorruption) << j.dump();
  }
  Result<PeerMessage> longest = decode_message(
      json::to_cbor(json::array({7, json::array({a, json(std::string(kMaxOwnerBytes, 'o'))})})));
  EXPECT_TRUE(longest.ok()) << longest.status().to_string();
}

TEST(MessagesTest, ASharesNoticeIsBoundedAddressesOwnersAndPeerNamesOrRefused) {
  using nlohmann::json;
  json a = json::binary(address_bytes(4, 1));
  json peers = json::array({2, 3});
  for (const json& j :
       {json::array({9, "x"}), json::array({9, json::array({a})}),
        json::array({9, json::array({json::array({a, "o"})})}),
        json::array({9, json::array({json::array({a, 5, peers})})}),
        json::array({9, json::array({json::array({a, "o", 2})})}),
        json::array({9, json::array({json::array({a, "o", json::array({0})})})}),
        json::array({9, json::array({json::array({a, "o", json::array({-2})})})}),
        json::array(
            {9, json::array({json::array({a, "o", json::array({std::uint64_t{1} << 48})})})}),
        json::array({9, json::array({json::array({"x", "o", peers})})}),
        json::array(
            {9, json::array({json::array({a, std::string(kMaxOwnerBytes + 1, 'o'), peers})})})}) {
    EXPECT_EQ(decode_message(json::to_cbor(j)).status().code(), Code::kCorruption) << j.dump();
  }
  // At most kMaxNoticeShares addresses, and kMaxNoticeHolders holders in all.
  SharesNotice most;
  for (std::size_t i = 0; i < kMaxNoticeShares; ++i) {
    most.shares.push_back({Address::of(Family::kV4, 0x0a000000 + i), "o", {}});
  }
  most.shares.front().holders.assign(kMaxNoticeHolders, PeerName(7));
  EXPECT_EQ(round_trip(most), PeerMessage(most));
  SharesNotice too_many = most;
  too_many.shares.push_back({addr("11.0.0.1"), "o", {}});
  EXPECT_EQ(decode_message(encode_message(too_many)).status().code(), Code::kCorruption);
  SharesNotice too_many_holders = most;
  too_many_holders.shares.back().holders.push_back(PeerName(8));
  EXPECT_EQ(decode_message(encode_message(too_many_holders)).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace wipam::ring
