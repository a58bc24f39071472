// Property tests for the ring CRDT with random seeds (printed; WIPAM_SEED replays one):
// N replicas make random grants of their own space, free reports and rmpeer transfers, and
// exchange states in random order with loss and duplication. At every step every replica's
// ring partitions the range exactly; after a final full exchange all replicas are
// identical; merge is commutative, associative and idempotent on random triples.
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "ring/ring.h"

namespace wipam::ring {
namespace {

std::uint64_t base_seed() {
  const char* env = std::getenv("WIPAM_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20261122;
}

Status partitions_exactly(const Ring& r) {
  WIPAM_RETURN_IF_ERROR(r.validate());
  std::vector<Range> all;
  for (const auto& [peer, owned] : r.owned_by_peer()) {
    for (const Range& x : r.owned_ranges(peer)) {
      all.push_back(x);
    }
  }
  std::sort(all.begin(), all.end());
  Address at = r.universe().start();
  for (const Range& x : all) {
    if (x.start() != at) {
      return Status::internal("gap or overlap at " + at.to_string() + "\n" + r.to_string());
    }
    at = x.end();
  }
  return at == r.universe().end() ? Status() : Status::internal("range not covered");
}

// A random grant of part of `r`'s own space to another peer, if it owns anything.
void random_grant(Ring& r, std::mt19937_64& rng, int peers) {
  std::vector<Range> mine = r.owned_ranges(r.self());
  if (mine.empty()) {
    return;
  }
  const Range& from = mine[rng() % mine.size()];
  Uint128 size = from.size();
  Uint128 offset = rng() % static_cast<std::uint64_t>(size);
  Uint128 length = 1 + rng() % static_cast<std::uint64_t>(size - offset);
  PeerName to(1 + rng() % static_cast<std::uint64_t>(peers));
  if (to != r.self()) {
    ASSERT_TRUE(r.grant(Range(from.at(offset), from.at(offset + length)), to).ok());
  }
}

TEST(RingPropertyTest, RandomGrantsAndMergesConvergeAndAlwaysPartitionTheRange) {
  for (std::uint64_t trial = 0; trial < 40; ++trial) {
    std::uint64_t seed = base_seed() + trial;
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    int peers = 3 + static_cast<int>(rng() % 18);
    Range universe = Cidr::parse(rng() % 2 ? "10.32.0.0/16" : "fd00::/100")->range();
    std::vector<PeerName> names;
    for (int i = 1; i <= peers; ++i) {
      names.emplace_back(static_cast<std::uint64_t>(i));
    }
    std::vector<Ring> rings;
    for (PeerName n : names) {
      rings.emplace_back(universe, n);
      ASSERT_TRUE(rings.back().claim_for_peers(names).ok());
    }
    for (int step = 0; step < 300; ++step) {
      Ring& r = rings[rng() % rings.size()];
      std::uint64_t roll = rng() % 10;
      if (roll < 4) {
        random_grant(r, rng, peers);
      } else if (roll < 5) {
        r.report_free([&](const Range& x) { return x.size() / (1 + rng() % 4); });
      } else if (roll < 9 || peers < 3) {
        Ring copy = rings[rng() % rings.size()];  // delivered late, maybe twice
        ASSERT_TRUE(r.merge(copy).ok());
        if (rng() % 5 == 0) {
          ASSERT_TRUE(r.merge(copy).ok());
        }
      } else if (rng() % 8 == 0) {
        PeerName dead(1 + rng() % static_cast<std::uint64_t>(peers));
        if (dead != r.self()) {
          r.transfer(dead, r.self());
        }
      }
      Status ok = partitions_exactly(r);
      ASSERT_TRUE(ok.ok()) << "step " << step << ": " << ok.message();
    }
    // Full exchange, in a random order, twice round.
    for (int round = 0; round < 2; ++round) {
      for (std::size_t i = 0; i < rings.size(); ++i) {
        for (std::size_t j = 0; j < rings.size(); ++j) {
          ASSERT_TRUE(rings[(i + j) % rings.size()].merge(rings[i]).ok());
        }
      }
    }
    for (const Ring& r : rings) {
      EXPECT_EQ(r, rings.front());
    }
  }
}

TEST(RingPropertyTest, MergeIsCommutativeAssociativeAndIdempotent) {
  std::mt19937_64 rng(base_seed());
  Range universe = Cidr::parse("10.0.0.0/20")->range();
  std::vector<PeerName> names = {PeerName(1), PeerName(2), PeerName(3)};
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Ring> rings;
    for (PeerName n : names) {
      rings.emplace_back(universe, n);
      ASSERT_TRUE(rings.back().claim_for_peers(names).ok());
      for (int g = static_cast<int>(rng() % 4); g > 0; --g) {
        random_grant(rings.back(), rng, 5);
      }
      if (rng() % 3 == 0) {
        rings.back().transfer(names[rng() % 3], rings.back().self());
      }
    }
    const Ring& a = rings[0];
    const Ring& b = rings[1];
    const Ring& c = rings[2];
    auto join = [](Ring x, const Ring& y) {
      EXPECT_TRUE(x.merge(y).ok());
      return x;
    };
    EXPECT_EQ(join(a, b), join(b, a)) << "trial " << trial;
    EXPECT_EQ(join(join(a, b), c), join(a, join(b, c))) << "trial " << trial;
    EXPECT_EQ(join(join(a, b), b), join(a, b)) << "trial " << trial;
  }
}

}  // namespace
}  // namespace wipam::ring
