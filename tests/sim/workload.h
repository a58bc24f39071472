// A random workload and fault schedule for SimWorld, and the run of one seed through
// faults, healing and a final no-spurious-exhaustion check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ring/status.h"
#include "tests/sim/sim_world.h"

namespace wipam::sim {

struct SeedRun {
  Status status;        // OK, or the first violation
  std::string options;  // the options the seed expanded into
  std::string trace;    // on failure, the last events
  std::uint64_t messages = 0;
  std::uint64_t acknowledged = 0;
  std::size_t most_sharers = 0;         // the most peers seen holding one shared gateway at once
  std::size_t most_joiners = 0;         // the same for an offered allocation that others joined
  std::uint64_t kept_after_rmpeer = 0;  // shared addresses an rmpeer kept for their holders
  Millis heal_time{0};                  // simulated time from heal to convergence
};

// Expands `seed` into options (3-20 peers, seed or consensus mode, observers, loss,
// duplication) and runs it. `steps` rounds of 50 ms of workload and faults. `dual_stack`
// adds an IPv6 range, its own ring, which the workload uses as much as the IPv4 one.
SeedRun run_seed(std::uint64_t seed, int steps = 300, bool dual_stack = false);

// Issues one random command on a random live peer.
void random_command(SimWorld& world, int step);

}  // namespace wipam::sim
