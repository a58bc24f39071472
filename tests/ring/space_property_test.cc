// Space against a reference model: seeded random runs of add, remove, allocate, claim, free and
// choose_donation (followed, usually, by removing the donation) over a /22-sized universe,
// in IPv4 and high in IPv6 space. The model is two bitsets (owned, allocated) searched by
// brute force. After every step the space must agree with it exactly: each operation succeeds
// iff the model says it should, allocate returns the model's lowest free address, counts over
// everything and over random sub-ranges match, and donations equal the brute-force choice --
// hence never hand out an address twice or outside what is owned, and are CIDR-aligned, free
// and inside the range asked. The tree's own invariants are checked after every step too.
// Seeds 1..16 and one fresh seed run by default; WIPAM_SEED=<n> replays a single seed.
#include <bitset>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ring/interval_set.h"
#include "ring/space.h"

namespace wipam::ring {

// Lets GoogleTest print ranges in failures ("10.0.0.32/27"); identical in every test file.
inline void PrintTo(const Range& r, std::ostream* os) { *os << r.to_string(); }

namespace {

constexpr std::uint32_t kUniverse = 1024;
constexpr int kSteps = 2000;

std::vector<std::uint64_t> seeds() {
  if (const char* env = std::getenv("WIPAM_SEED")) {
    return {std::strtoull(env, nullptr, 0)};
  }
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = 1; s <= 16; ++s) {
    out.push_back(s);
  }
  out.push_back(std::random_device{}());  // new coverage each run; printed on failure
  return out;
}

// The reference: which offsets of the universe are owned and which are allocated.
struct Model {
  std::bitset<kUniverse> owned;
  std::bitset<kUniverse> allocated;

  bool is_free(std::uint32_t i) const { return owned[i] && !allocated[i]; }
  std::uint32_t count_free(std::uint32_t a, std::uint32_t b) const {
    std::uint32_t n = 0;
    for (std::uint32_t i = a; i < b; ++i) {
      n += is_free(i) ? 1 : 0;
    }
    return n;
  }
  std::uint32_t count_allocated(std::uint32_t a, std::uint32_t b) const {
    std::uint32_t n = 0;
    for (std::uint32_t i = a; i < b; ++i) {
      n += allocated[i] ? 1 : 0;
    }
    return n;
  }
  bool any_owned(std::uint32_t a, std::uint32_t b) const {
    for (std::uint32_t i = a; i < b; ++i) {
      if (owned[i]) {
        return true;
      }
    }
    return false;
  }
  bool all_free(std::uint32_t a, std::uint32_t b) const { return count_free(a, b) == b - a; }
};

class SpaceModelRun {
 public:
  SpaceModelRun(std::uint64_t seed, Address base) : rng_(seed), base_(base) {}

  void run() {
    for (int step = 0; step < kSteps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      one_step();
      check_agreement();
      if (::testing::Test::HasFailure()) {
        return;
      }
    }
  }

 private:
  Address at(std::uint32_t i) const { return base_ + i; }
  Range offsets(std::uint32_t a, std::uint32_t b) const { return Range(at(a), at(b)); }
  std::uint32_t uniform(std::uint32_t lo, std::uint32_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng_);
  }
  // A random non-empty sub-range: an aligned block half the time, else any short run.
  std::pair<std::uint32_t, std::uint32_t> random_range() {
    if (uniform(0, 1) == 0) {
      std::uint32_t size = 1u << uniform(0, 8);
      std::uint32_t a = uniform(0, kUniverse - 1) / size * size;
      return {a, a + size};
    }
    std::uint32_t a = uniform(0, kUniverse - 1);
    return {a, std::min(kUniverse, a + uniform(1, 96))};
  }

  void one_step() {
    switch (uniform(0, 9)) {
      case 0:
      case 1:
        return step_add();
      case 2:
        return step_remove();
      case 3:
      case 4:
        return step_allocate();
      case 5:
        return step_claim();
      case 6:
      case 7:
        return step_free();
      default:
        return step_donate();
    }
  }

  void step_add() {
    auto [a, b] = random_range();
    Status s = space_.add(offsets(a, b));
    bool expect_ok = !model_.any_owned(a, b);
    ASSERT_EQ(s.ok(), expect_ok) << "add " << offsets(a, b).to_string() << ": " << s.to_string();
    for (std::uint32_t i = a; expect_ok && i < b; ++i) {
      model_.owned[i] = true;
    }
  }

  void step_remove() {
    auto [a, b] = random_range();
    Status s = space_.remove(offsets(a, b));
    bool expect_ok = model_.all_free(a, b);
    ASSERT_EQ(s.ok(), expect_ok) << "remove " << offsets(a, b).to_string() << ": " << s.to_string();
    for (std::uint32_t i = a; expect_ok && i < b; ++i) {
      model_.owned[i] = false;
    }
  }

  void step_allocate() {
    auto [a, b] = random_range();
    Result<Address> got = space_.allocate(offsets(a, b));
    std::uint32_t expected = a;
    while (expected < b && !model_.is_free(expected)) {
      ++expected;
    }
    if (expected == b) {
      ASSERT_EQ(got.status().code(), Code::kExhausted) << offsets(a, b).to_string();
      return;
    }
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    ASSERT_EQ(*got, at(expected)) << "allocate " << offsets(a, b).to_string();
    model_.allocated[expected] = true;
  }

  void step_claim() {
    std::uint32_t i = uniform(0, kUniverse - 1);
    Status s = space_.claim(at(i));
    ASSERT_EQ(s.ok(), model_.is_free(i)) << s.to_string();
    if (!model_.owned[i]) {
      ASSERT_EQ(s.code(), Code::kNotFound);
    } else if (model_.allocated[i]) {
      ASSERT_EQ(s.code(), Code::kAlreadyExists);
    }
    model_.allocated[i] = model_.owned[i];
  }

  void step_free() {
    std::uint32_t i = uniform(0, kUniverse - 1);
    // Mostly free something allocated, so the space fragments and heals.
    for (std::uint32_t tries = 0; tries < 8 && !model_.allocated[i]; ++tries) {
      i = uniform(0, kUniverse - 1);
    }
    Status s = space_.free(at(i));
    ASSERT_EQ(s.ok(), model_.allocated[i]) << s.to_string();
    model_.allocated[i] = false;
  }

  // The donation the model expects: over the free runs clipped to [a, b), the biggest
  // aligned block (highest on ties), halved if it is more than half of the free space.
  Range expected_donation(std::uint32_t a, std::uint32_t b) const {
    Range best(at(a), at(a));
    for (std::uint32_t i = a; i < b;) {
      if (!model_.is_free(i)) {
        ++i;
        continue;
      }
      std::uint32_t j = i;
      while (j < b && model_.is_free(j)) {
        ++j;
      }
      Range block = offsets(i, j).biggest_aligned_block();
      if (best.empty() || block.size() >= best.size()) {
        best = block;
      }
      i = j;
    }
    if (!best.empty() && best.size() > model_.count_free(a, b) / 2) {
      best = Range(best.start() + best.size() / 2, best.end());
    }
    return best;
  }

  void step_donate() {
    auto [a, b] =
        uniform(0, 2) == 0 ? std::pair<std::uint32_t, std::uint32_t>{0, kUniverse} : random_range();
    Range d = space_.choose_donation(offsets(a, b));
    ASSERT_EQ(d, expected_donation(a, b)) << "donation from " << offsets(a, b).to_string();
    if (d.empty()) {
      return;
    }
    ASSERT_TRUE(d.is_cidr()) << d.to_string();
    ASSERT_TRUE(offsets(a, b).contains(d)) << d.to_string();
    auto da = static_cast<std::uint32_t>(d.start() - base_);
    auto db = static_cast<std::uint32_t>(d.end() - base_);
    ASSERT_TRUE(model_.all_free(da, db)) << d.to_string();
    if (uniform(0, 3) != 0) {
      ASSERT_TRUE(space_.remove(d).ok()) << d.to_string();
      for (std::uint32_t i = da; i < db; ++i) {
        model_.owned[i] = false;
      }
    }
  }

  void check_agreement() {
    ASSERT_TRUE(space_.check_invariants().ok()) << space_.check_invariants().to_string();
    ASSERT_EQ(space_.free_count(), model_.count_free(0, kUniverse));
    ASSERT_EQ(space_.allocated_count(), model_.count_allocated(0, kUniverse));
    auto [a, b] = random_range();
    ASSERT_EQ(space_.free_count(offsets(a, b)), model_.count_free(a, b));
    ASSERT_EQ(space_.allocated_count(offsets(a, b)), model_.count_allocated(a, b));
    ASSERT_EQ(space_.has_allocations(offsets(a, b)), model_.count_allocated(a, b) != 0);
    std::uint32_t i = uniform(0, kUniverse - 1);
    ASSERT_EQ(space_.owns(at(i)), static_cast<bool>(model_.owned[i]));
    ASSERT_EQ(space_.is_allocated(at(i)), static_cast<bool>(model_.allocated[i]));
    ASSERT_EQ(space_.owned_ranges(), model_owned_ranges());
  }

  std::vector<Range> model_owned_ranges() const {
    std::vector<Range> out;
    for (std::uint32_t i = 0; i < kUniverse;) {
      if (!model_.owned[i]) {
        ++i;
        continue;
      }
      std::uint32_t j = i;
      while (j < kUniverse && model_.owned[j]) {
        ++j;
      }
      out.push_back(offsets(i, j));
      i = j;
    }
    return out;
  }

  std::mt19937_64 rng_;
  Address base_;
  Space space_;
  Model model_;
};

void run_seeds(Address base) {
  for (std::uint64_t seed : seeds()) {
    SCOPED_TRACE("WIPAM_SEED=" + std::to_string(seed));
    SpaceModelRun(seed, base).run();
    if (::testing::Test::HasFailure()) {
      return;
    }
  }
}

TEST(SpacePropertyTest, Ipv4SpaceAgreesWithTheModelUnderRandomOperations) {
  run_seeds(Cidr::parse("10.32.0.0/22")->address());
}

TEST(SpacePropertyTest, Ipv6SpaceAgreesWithTheModelUnderRandomOperations) {
  // High bits set everywhere, so any 32- or 64-bit truncation would show.
  run_seeds(Cidr::parse("fd00:ffff:ffff:ffff:ffff:ffff:ffff:f000/118")->address());
}

// The treap computes aligned blocks without building the CIDR cover; it must agree with
// Range::biggest_aligned_block on every range, tiny or close to 2^128.
TEST(SpacePropertyTest, AlignedBlockShortcutMatchesRangeBiggestAlignedBlock) {
  for (std::uint64_t seed : seeds()) {
    SCOPED_TRACE("WIPAM_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 4000; ++i) {
      int width = static_cast<int>(rng() % 127) + 1;
      Uint128 mask = (Uint128{1} << width) - 1;
      Uint128 x = ((Uint128{rng()} << 64) | rng()) & mask;
      Uint128 y = ((Uint128{rng()} << 64) | rng()) & mask;
      Uint128 lo = std::min(x, y);
      Uint128 hi = std::max(x, y) + 1;
      Range r(Address::v6(lo), Address::v6(hi));
      IntervalSet::Interval got = biggest_aligned_block_in(lo, hi);
      Range expected = r.biggest_aligned_block();
      ASSERT_EQ(got.start, expected.start().value()) << r.to_string();
      ASSERT_EQ(got.end, expected.end().value()) << r.to_string();
    }
  }
}

}  // namespace
}  // namespace wipam::ring
