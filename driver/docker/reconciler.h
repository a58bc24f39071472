// Reconciler: compares this peer's plugin allocations and pools with what Docker holds now,
// and decides what to bind to a container and what to release as leaked (a ReleaseAddress
// or ReleasePool that never arrived, e.g. while weave-ipam was down). Pure and
// loop-confined.
//
// The rules (DESIGN.md, "Owners"):
// - Only the plugin's own allocations are touched: anonymous ones (owner = the address),
//   ones bound to a container ID, and, for a leaked pool, its gateway.
// - An allocation is a leak only once Docker's view has shown it unheld for a whole grace
//   period. The clock belongs to the allocation, not to the address: a new allocation of
//   the same address (allocated()) starts a new clock.
// - A pool is leaked once no network in Docker's view has used its subnet for a whole
//   grace period; then the pool and the plugin's allocations in it are freed.
// - A view is acted on only if it shows at least one of this host's pools, or comes from
//   the dockerd that did before (its ID). Once that ID is known, a view from any other
//   dockerd is refused even if it shows our subnets. Another dockerd's view, or an error
//   read as an empty list, frees nothing.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "driver/docker/docker_events.h"
#include "ring/allocator.h"

namespace wipam::driver {

// Everything Docker holds, across every network (any driver: counting more as held is safe).
struct DockerView {
  std::string daemon_id;                            // GET /info's ID; empty if unknown
  std::vector<DockerNetwork> networks;              // every network, as inspected
  std::map<ring::Address, std::string> containers;  // address -> container ID
  std::set<ring::Address> reserved;                 // gateways and auxiliary addresses

  void add(const DockerNetwork& network);
  bool holds(ring::Address a) const { return containers.count(a) || reserved.count(a); }
  // True iff some network of a remote IPAM driver uses `subnet`.
  bool uses_subnet(const ring::Cidr& subnet) const;
};

// One pool of this host's pool table, as the reconciler needs it.
struct ReconcilePool {
  std::string id;
  ring::Cidr subnet;
  std::uint64_t generation = 0;  // changes whenever Docker requests the pool again
};

class Reconciler {
 public:
  // `known_daemon_id`: the dockerd a previous view of our pools came from ("" if none yet).
  explicit Reconciler(ring::Millis grace, std::string known_daemon_id = "")
      : grace_(grace), daemon_id_(std::move(known_daemon_id)) {}

  struct Plan {
    std::vector<ring::BindCommand> binds;  // anonymous allocations Docker shows a container on
    std::vector<ring::ReleaseCommand> releases;  // leaks past the grace period
    std::vector<std::string> leaked_pools;       // pool IDs no network has used for a grace
    std::string refused;                         // why the view was not acted on; empty when it was
    bool learned_daemon_id = false;              // daemon_id() is new and worth persisting
  };
  using Allocations = std::map<ring::Address, std::string>;
  // `tables` are this peer's allocations (address -> owner), one table per allocation
  // range; `pools` this host's pool table.
  Plan plan(ring::Millis now, const DockerView& docker,
            const std::vector<const Allocations*>& tables, const std::vector<ReconcilePool>& pools);
  Plan plan(ring::Millis now, const DockerView& docker, const Allocations& allocations,
            const std::vector<ReconcilePool>& pools) {
    return plan(now, docker, std::vector<const Allocations*>{&allocations}, pools);
  }

  // A new allocation of `address` was made: whatever clock ran for it belonged to another.
  void allocated(ring::Address address) { unheld_since_.erase(address); }

  ring::Millis grace() const { return grace_; }
  const std::string& daemon_id() const { return daemon_id_; }

 private:
  bool trusts(const DockerView& docker, const std::vector<ReconcilePool>& pools,
              std::size_t present, Plan& out);
  // Binds and leaks of one range's table, with the clocks still running in `still_unheld`.
  void plan_table(ring::Millis now, const DockerView& docker, const Allocations& allocations,
                  const std::vector<const ReconcilePool*>& present,
                  std::map<ring::Address, ring::Millis>& still_unheld, Plan& out) const;
  void plan_pool_leaks(ring::Millis now, const std::vector<ReconcilePool>& absent,
                       const std::vector<const Allocations*>& tables, Plan& out);

  ring::Millis grace_;
  std::string daemon_id_;
  std::map<ring::Address, ring::Millis> unheld_since_;
  struct PoolClock {
    std::uint64_t generation = 0;
    ring::Millis since{0};
  };
  std::map<std::string, PoolClock> pool_absent_since_;
};

// True iff `owner` is one the Docker plugin made: anonymous (the address's own text) or a
// container ID it was bound to.
bool is_plugin_owner(const std::string& owner, ring::Address address);

}  // namespace wipam::driver
