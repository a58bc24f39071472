// RangeAllocators: an IPv4 and an IPv6 range side by side, each its own ring, on a perfect
// network that carries the very bytes the daemon sends (ranged envelopes included).
#include "ring/range_allocators.h"

#include <deque>
#include <map>
#include <memory>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace wipam::ring {
namespace {

Cidr cidr(const char* text) { return *Cidr::parse(text); }
Address addr(const char* text) { return *Address::parse(text); }

const char* const kV4 = "10.32.0.0/16";
const char* const kV6 = "fd00:32::/48";

std::vector<AllocatorConfig> configs(int i, unsigned quorum, bool with_v6 = true) {
  std::vector<AllocatorConfig> out;
  for (const char* universe : {kV4, kV6}) {
    if (!with_v6 && universe == kV6) {
      continue;
    }
    AllocatorConfig c;
    c.self = {PeerName(static_cast<std::uint64_t>(i)), "p" + std::to_string(i),
              static_cast<std::uint64_t>(i)};
    c.universe = cidr(universe);
    c.init = ConsensusInit{quorum};
    out.push_back(c);
  }
  return out;
}

// Dual-stack peers on a perfect network: messages go as bytes, in order, on run().
class DualPeers {
 public:
  DualPeers(int count, unsigned quorum) {
    for (int i = 1; i <= count; ++i) {
      peers_[i] = std::make_unique<RangeAllocators>(configs(i, quorum));
      Result<Effects> fx = peers_[i]->start(now_, {});
      EXPECT_TRUE(fx.ok()) << fx.status().to_string();
      take(i, std::move(*fx));
    }
    for (auto& [i, a] : peers_) {
      for (auto& [j, b] : peers_) {
        if (i != j) {
          take(i, a->peer_up(now_, {PeerName(static_cast<std::uint64_t>(j)),
                                    "p" + std::to_string(j), static_cast<std::uint64_t>(j)}));
        }
      }
    }
    run();
  }

  RangeAllocators& peer(int i) { return *peers_.at(i); }
  Stored& store(int i) { return stores_[i]; }

  // Runs `command` at peer `i` until it is answered (ticking while it waits).
  Reply command(int i, const Command& command) {
    RequestId id = next_id_++;
    take(i, peer(i).command(now_, id, command));
    for (int step = 0; step < 200 && !replies_.contains(id); ++step) {
      run();
      now_ += Millis{100};
      for (auto& [j, a] : peers_) {
        take(j, a->tick(now_));
      }
    }
    EXPECT_TRUE(replies_.contains(id)) << "no reply";
    return replies_[id];
  }
  Cidr allocate(int i, const std::string& owner, const char* subnet) {
    Reply r = command(i, AllocateCommand{owner, cidr(subnet), std::nullopt});
    EXPECT_TRUE(r.status.ok()) << r.status.to_string();
    return r.addresses.empty() ? Cidr() : r.addresses.front();
  }
  const std::vector<Event>& events() const { return events_; }

  void take(int i, Effects fx) {
    for (const StoreWrite& w : fx.writes) {
      w.value ? void(stores_[i][w.key] = *w.value) : void(stores_[i].erase(w.key));
    }
    for (const OutgoingMessage& m : fx.messages) {
      std::vector<std::uint8_t> bytes = peer(i).encode(m);
      for (auto& [j, other] : peers_) {
        bool to_j = m.delivery == Delivery::kUnicast ? m.to.value() == static_cast<std::uint64_t>(j)
                                                     : j != i;
        if (to_j && m.delivery != Delivery::kGossip) {
          queue_.push_back({i, j, bytes});
        }
      }
    }
    for (Reply& r : fx.replies) {
      replies_[r.id] = std::move(r);
    }
    events_.insert(events_.end(), fx.events.begin(), fx.events.end());
  }
  void run() {
    while (!queue_.empty()) {
      auto [from, to, bytes] = std::move(queue_.front());
      queue_.pop_front();
      Result<RangedMessage> m = decode_ranged_message(bytes);
      ASSERT_TRUE(m.ok()) << m.status().to_string();
      take(to, peer(to).message(now_, PeerName(static_cast<std::uint64_t>(from)), *m));
    }
  }

 private:
  struct InFlight {
    int from;
    int to;
    std::vector<std::uint8_t> bytes;
  };
  Millis now_{1};
  RequestId next_id_ = 1;
  std::map<int, std::unique_ptr<RangeAllocators>> peers_;
  std::map<int, Stored> stores_;
  std::deque<InFlight> queue_;
  std::map<RequestId, Reply> replies_;
  std::vector<Event> events_;
};

TEST(RangeAllocatorsTest, EachFamilyIsAllocatedFromItsOwnRingWithoutDuplicates) {
  DualPeers net(3, 2);
  std::set<Address> seen;
  for (int round = 0; round < 20; ++round) {
    for (int i = 1; i <= 3; ++i) {
      std::string owner = "c" + std::to_string(i) + "-" + std::to_string(round);
      Cidr v4 = net.allocate(i, owner, kV4);
      Cidr v6 = net.allocate(i, owner, "fd00:32:0:7::/64");
      EXPECT_TRUE(cidr(kV4).range().contains(v4.address())) << v4.to_string();
      EXPECT_TRUE(cidr("fd00:32:0:7::/64").range().contains(v6.address())) << v6.to_string();
      EXPECT_TRUE(seen.insert(v4.address()).second) << "duplicate " << v4.to_string();
      EXPECT_TRUE(seen.insert(v6.address()).second) << "duplicate " << v6.to_string();
    }
  }
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(net.peer(i).check_invariants().ok());
    EXPECT_EQ(net.peer(i).at(0).allocations().size(), 20u);
    EXPECT_EQ(net.peer(i).at(1).allocations().size(), 20u);
    EXPECT_FALSE(net.peer(i).at(1).ring().seeds().empty());  // its own consensus created it
  }
  // Both rings were created by consensus, each on its own: the identity names both.
  std::vector<std::string> parts = split_identities(net.peer(1).identity());
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_FALSE(parts[0].empty());
  EXPECT_FALSE(parts[1].empty());
  EXPECT_EQ(net.peer(1).identity(), net.peer(2).identity());
  EXPECT_EQ(net.peer(1).ranges_text(), "10.32.0.0/16,fd00:32::/48");
}

TEST(RangeAllocatorsTest, ClaimsAndConflictsAreJudgedPerRange) {
  DualPeers net(2, 2);
  Reply claimed = net.command(1, ClaimCommand{"a", cidr("fd00:32::9/64"), Sharing::kNone});
  ASSERT_TRUE(claimed.status.ok()) << claimed.status.to_string();
  Reply again = net.command(2, ClaimCommand{"b", cidr("fd00:32::9/64"), Sharing::kNone});
  EXPECT_FALSE(again.status.ok());
  // The same host part in IPv4 is another address in another ring.
  EXPECT_TRUE(net.command(2, ClaimCommand{"b", cidr("10.32.0.9/16"), Sharing::kNone}).status.ok());
  ASSERT_NE(net.peer(1).holder(addr("fd00:32::9")), nullptr);
  EXPECT_EQ(*net.peer(1).holder(addr("fd00:32::9")), "a");
  EXPECT_EQ(net.peer(1).holder(addr("10.32.0.9")), nullptr);
}

TEST(RangeAllocatorsTest, OwnerCommandsCoverEveryRangeWithOneReply) {
  DualPeers net(2, 2);
  Cidr v4 = net.allocate(1, "web", kV4);
  Cidr v6 = net.allocate(1, "web", kV6);
  Reply lookup = net.command(1, LookupCommand{"web"});
  ASSERT_TRUE(lookup.status.ok());
  EXPECT_EQ(lookup.addresses, (std::vector<Cidr>{v4, v6}));
  Reply released = net.command(1, ReleaseOwnerCommand{"web"});
  ASSERT_TRUE(released.status.ok());
  EXPECT_EQ(released.addresses.size(), 2u);
  EXPECT_TRUE(net.peer(1).at(0).allocations().empty());
  EXPECT_TRUE(net.peer(1).at(1).allocations().empty());
  EXPECT_TRUE(net.command(1, PrimeCommand{}).status.ok());
}

TEST(RangeAllocatorsTest, AFamilyWithoutARangeSaysWhichFlagToSet) {
  RangeAllocators v4_only(configs(1, 1, /*with_v6=*/false));
  ASSERT_TRUE(v4_only.start(Millis{1}, {}).ok());
  Effects fx =
      v4_only.command(Millis{1}, 7, AllocateCommand{"x", cidr("fd00:32::/64"), std::nullopt});
  ASSERT_EQ(fx.replies.size(), 1u);
  EXPECT_EQ(fx.replies[0].id, 7u);
  EXPECT_NE(fx.replies[0].status.message().find("no IPv6 allocation range is configured"),
            std::string::npos);
  EXPECT_NE(fx.replies[0].status.message().find("--ipalloc-range"), std::string::npos);
  EXPECT_EQ(v4_only.identity().find('|'), std::string::npos);  // one range: as before
}

TEST(RangeAllocatorsTest, TheSecondRangesRecordsLiveUnderItsPrefixAndRestore) {
  DualPeers net(1, 1);
  Cidr v4 = net.allocate(1, "web", kV4);
  Cidr v6 = net.allocate(1, "web", kV6);
  const Stored& stored = net.store(1);
  EXPECT_TRUE(stored.contains(kUniverseKey));
  EXPECT_EQ(stored.at(kUniverseKey), kV4);
  EXPECT_EQ(stored.at(std::string("v6/") + kUniverseKey), kV6);
  EXPECT_TRUE(stored.contains("v6/" + allocation_key(v6.address())));
  EXPECT_TRUE(stored.contains(allocation_key(v4.address())));  // unprefixed, as one range wrote

  RangeAllocators restarted(configs(1, 1));
  ASSERT_TRUE(restarted.start(Millis{1}, stored).ok());
  EXPECT_EQ(*restarted.holder(v4.address()), "web");
  EXPECT_EQ(*restarted.holder(v6.address()), "web");

  // A one-range store (what the version before this wrote) is read as the IPv4 range.
  Stored one_range;
  for (const auto& [key, value] : stored) {
    if (key.rfind("v6/", 0) != 0) {
      one_range[key] = value;
    }
  }
  RangeAllocators upgraded(configs(1, 1));
  ASSERT_TRUE(upgraded.start(Millis{1}, one_range).ok());
  EXPECT_EQ(*upgraded.holder(v4.address()), "web");
  EXPECT_TRUE(upgraded.at(1).allocations().empty());

  // The IPv6 range's records without that range configured: refused, never dropped.
  RangeAllocators v4_only(configs(1, 1, /*with_v6=*/false));
  Result<Effects> refused = v4_only.start(Millis{1}, stored);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("--ipalloc-range fd00:32::/48"), std::string::npos)
      << refused.status().message();
}

TEST(RangeAllocatorsTest, Ipv6PoolsOfOneAndTwoAddressesAndTheEndOfARange) {
  DualPeers net(1, 1);
  // A /127 has two addresses; the first is the subnet-router anycast, so one host address.
  Cidr first = net.allocate(1, "a", "fd00:32:0:9::/127");
  EXPECT_EQ(first.address(), addr("fd00:32:0:9::1"));
  Reply full = net.command(1, AllocateCommand{"b", cidr("fd00:32:0:9::/127"), std::nullopt});
  EXPECT_FALSE(full.status.ok());
  // A /128 is its single address.
  Cidr single = net.allocate(1, "c", "fd00:32:0:a::5/128");
  EXPECT_EQ(single.address(), addr("fd00:32:0:a::5"));
  EXPECT_FALSE(
      net.command(1, AllocateCommand{"d", cidr("fd00:32:0:a::5/128"), std::nullopt}).status.ok());
  // The last addresses of the range are served like any other.
  Reply last = net.command(
      1, ClaimCommand{"e", cidr("fd00:32:0:ffff:ffff:ffff:ffff:fffd/48"), Sharing::kNone});
  EXPECT_TRUE(last.status.ok()) << last.status.message();
  Cidr top = net.allocate(1, "f", "fd00:32:0:ffff:ffff:ffff:ffff:fffe/127");
  EXPECT_EQ(top.address(), addr("fd00:32:0:ffff:ffff:ffff:ffff:ffff"));  // the range's last
  EXPECT_TRUE(net.peer(1).check_invariants().ok());
}

TEST(RangeAllocatorsTest, AMessageForARangeWeDoNotServeChangesNothing) {
  DualPeers net(1, 1);
  Cidr v6 = net.allocate(1, "web", kV6);
  std::vector<std::uint8_t> bytes =
      encode_ranged_message(cidr("fd00:99::/48"), SpaceRequest{cidr(kV6).range()});
  Result<RangedMessage> m = decode_ranged_message(bytes);
  ASSERT_TRUE(m.ok());
  Effects fx = net.peer(1).message(Millis{5}, PeerName(9), *m);
  EXPECT_TRUE(fx.writes.empty());
  EXPECT_TRUE(fx.messages.empty());
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, EventKind::kBadMessage);
  EXPECT_EQ(*net.peer(1).holder(v6.address()), "web");
}

TEST(RangeAllocatorsTest, ARingConflictIsRecordedOnlyInTheRangeThatDiffers) {
  DualPeers net(1, 1);
  net.allocate(1, "web", kV4);
  net.allocate(1, "web", kV6);
  std::vector<std::string> ours = split_identities(net.peer(1).identity());
  std::string theirs = join_identities({ours[0], seeds_identity({PeerName(77)})});
  Effects fx = net.peer(1).ring_conflict(Millis{5}, {PeerName(77), "x", 3}, theirs);
  EXPECT_TRUE(net.peer(1).at(0).status().ring_conflicts.empty());
  EXPECT_EQ(net.peer(1).at(1).status().ring_conflicts.size(), 1u);
  EXPECT_FALSE(fx.ring_conflicts.empty());
}

TEST(RangedMessageTest, EnvelopesRoundTripAndBadOnesAreRefused) {
  PeerMessage inner = SpaceDenied{cidr(kV6).range()};
  Result<RangedMessage> back = decode_ranged_message(encode_ranged_message(cidr(kV6), inner));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->range, cidr(kV6));
  EXPECT_EQ(back->message, inner);
  // A bare message is the first range's.
  Result<RangedMessage> bare = decode_ranged_message(encode_message(inner));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->range.has_value());
  // An envelope inside an envelope, a host address for a range, an envelope of garbage, a
  // truncated one: refused.
  std::vector<std::uint8_t> nested =
      encode_ranged_message(cidr(kV6), inner);  // wrapped again below by hand
  nlohmann::json twice = nlohmann::json::array(
      {10, nlohmann::json::array(
               {nlohmann::json::array({nlohmann::json::binary({6, 0xfd, 0, 0, 0x32, 0, 0, 0, 0, 0,
                                                               0, 0, 0, 0, 0, 0, 0}),
                                       48}),
                nlohmann::json::binary(nested)})});
  EXPECT_FALSE(decode_ranged_message(nlohmann::json::to_cbor(twice)).ok());
  EXPECT_FALSE(decode_ranged_message(encode_ranged_message(cidr("fd00:32::1/48"), inner)).ok());
  std::vector<std::uint8_t> garbage = {0x82, 0x0a, 0x82, 0x82, 0x41, 0x06, 0x18, 0x30, 0x41, 0xff};
  EXPECT_FALSE(decode_ranged_message(garbage).ok());
  std::vector<std::uint8_t> cut = encode_ranged_message(cidr(kV6), inner);
  cut.resize(cut.size() - 3);
  EXPECT_FALSE(decode_ranged_message(cut).ok());
}

TEST(RangedMessageTest, IdentitiesJoinAndSplitByPosition) {
  EXPECT_EQ(join_identities({"seeds[a]"}), "seeds[a]");
  EXPECT_EQ(join_identities({"seeds[a]", ""}), "seeds[a]|");
  EXPECT_EQ(split_identities("seeds[a]|"), (std::vector<std::string>{"seeds[a]", ""}));
  EXPECT_EQ(split_identities(""), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace wipam::ring
