// One simulated peer as SimWorld keeps it: its allocators (one per range), its store and
// what of it is durable. Private to sim_world.cc and sim_world_checks.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <set>

#include "ring/range_allocators.h"
#include "tests/sim/sim_world.h"

namespace wipam::sim {

struct SimWorld::Peer {
  std::vector<ring::AllocatorConfig> configs;  // one per range, the first range's first
  std::unique_ptr<ring::RangeAllocators> allocators;
  ring::Allocator::Stored store;
  std::uint64_t incarnation = 0;
  Millis durable_until{0};
  bool buried = false;
  std::set<ring::RequestId> outstanding;
};

}  // namespace wipam::sim
