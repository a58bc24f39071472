// Deterministic simulation: hundreds of seeds, each 3-20 real allocators under message
// loss, duplication, reordering, partitions, crashes with lost unsynced writes, restarts
// and rmpeer of dead peers, with a random workload. After every 50 ms of simulated time the
// checkers assert: no address held by two owners (a shared gateway only for its one owner,
// ring/shares.h), every acknowledged allocation still held
// (also across crashes), every ring partitions the range, every allocator's invariants.
// After healing: rings converge, every command is answered, and allocation succeeds while
// space is free anywhere. A failing seed prints its options and trace; replay it with
// WIPAM_SIM_SEEDS=<seed>. WIPAM_SIM_SEEDS=a-b runs another range.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "tests/sim/workload.h"

namespace wipam::sim {
namespace {

std::pair<std::uint64_t, std::uint64_t> seed_range(std::uint64_t first, std::uint64_t last) {
  const char* env = std::getenv("WIPAM_SIM_SEEDS");
  if (env == nullptr || *env == '\0') {
    return {first, last};
  }
  std::string text(env);
  auto dash = text.find('-');
  std::uint64_t a = std::stoull(text.substr(0, dash));
  std::uint64_t b = dash == std::string::npos ? a : std::stoull(text.substr(dash + 1));
  return {a, b};
}

#ifndef WIPAM_SIM_SEEDS_PER_SHARD
#define WIPAM_SIM_SEEDS_PER_SHARD 100
#endif

// Runs shard `shard` (0-4) of the default seeds, or WIPAM_SIM_SEEDS when set; dual-stack
// seeds add an IPv6 range beside the IPv4 one, each its own ring, under the same faults.
void run_shard(std::uint64_t shard, bool dual_stack = false) {
  std::uint64_t per = WIPAM_SIM_SEEDS_PER_SHARD;
  auto [a, b] = seed_range(shard * 100 + 1, shard * 100 + per);
  std::uint64_t failures = 0;
  std::uint64_t shared_seeds = 0;
  std::uint64_t joined_seeds = 0;
  std::uint64_t kept_seeds = 0;
  for (std::uint64_t seed = a; seed <= b; ++seed) {
    SeedRun run = run_seed(seed, 300, dual_stack);
    shared_seeds += run.most_sharers >= 2 ? 1 : 0;
    joined_seeds += run.most_joiners >= 2 ? 1 : 0;
    kept_seeds += run.kept_after_rmpeer > 0 ? 1 : 0;
    if (!run.status.ok()) {
      ++failures;
      ADD_FAILURE() << run.options << "\n"
                    << run.status.to_string() << "\n--- trace ---\n"
                    << run.trace;
      if (failures >= 3) {
        return;
      }
    }
  }
  std::printf(
      "simulated %sseeds %llu-%llu: %llu violations; in %llu a gateway was shared by 2+ peers, "
      "in %llu an offered allocation was joined, in %llu an rmpeer kept a shared address\n",
      dual_stack ? "dual-stack " : "", static_cast<unsigned long long>(a),
      static_cast<unsigned long long>(b), static_cast<unsigned long long>(failures),
      static_cast<unsigned long long>(shared_seeds), static_cast<unsigned long long>(joined_seeds),
      static_cast<unsigned long long>(kept_seeds));
  // The workload's shared claims and joins must be exercised, not refused everywhere.
  EXPECT_GT(shared_seeds, 0u);
  EXPECT_GT(joined_seeds, 0u);
}

// Five shards of seeds (1-100, 101-200, ...) so ctest can spread them over both cores.
TEST(SimTest, Shard1HoldsEveryInvariant) { run_shard(0); }
TEST(SimTest, Shard2HoldsEveryInvariant) { run_shard(1); }
TEST(SimTest, Shard3HoldsEveryInvariant) { run_shard(2); }
TEST(SimTest, Shard4HoldsEveryInvariant) { run_shard(3); }
TEST(SimTest, Shard5HoldsEveryInvariant) { run_shard(4); }
TEST(SimTest, DualStackShardHoldsEveryInvariantPerRing) { run_shard(0, /*dual_stack=*/true); }

}  // namespace
}  // namespace wipam::sim
