// Reconciler: compares this peer's plugin allocations with the addresses Docker holds, and
// decides what to bind to a container and what to release as leaked (a ReleaseAddress that
// never arrived, e.g. while weave-ipam was down). Pure and loop-confined.
//
// Only allocations the plugin made are touched: anonymous ones (owner = the address) and
// ones bound to a container ID, inside a pool of this host. An address becomes a leak only
// once it has been seen unheld by Docker for the whole grace period, so a container that
// got its address a moment ago but is not attached yet keeps it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "driver/docker_events.h"
#include "ring/allocator.h"

namespace wipam::driver {

// Everything Docker holds, across every network (any driver: counting more as held is safe).
struct DockerView {
  std::map<ring::Address, std::string> containers;  // address -> container ID
  std::set<ring::Address> reserved;                 // gateways and auxiliary addresses

  void add(const DockerNetwork& network);
  bool holds(ring::Address a) const { return containers.count(a) || reserved.count(a); }
};

class Reconciler {
 public:
  explicit Reconciler(ring::Millis grace) : grace_(grace) {}

  struct Plan {
    std::vector<ring::BindCommand> binds;  // anonymous allocations Docker shows a container on
    std::vector<ring::ReleaseCommand> releases;  // leaks past the grace period
  };
  // `allocations` are this peer's (address -> owner); `pools` the subnets of this host's pools.
  Plan plan(ring::Millis now, const DockerView& docker,
            const std::map<ring::Address, std::string>& allocations,
            const std::vector<ring::Cidr>& pools);

  ring::Millis grace() const { return grace_; }

 private:
  ring::Millis grace_;
  std::map<ring::Address, ring::Millis> unheld_since_;
};

}  // namespace wipam::driver
