#include "driver/docker/reconciler.h"

#include "driver/docker/ipam_api.h"

namespace wipam::driver {
namespace {

// Docker's own IPAM and the null driver: a network of theirs is not one of our pools.
bool is_remote_ipam(const std::string& driver) {
  return !driver.empty() && driver != "default" && driver != "null";
}

const ReconcilePool* pool_of(ring::Address a, const std::vector<const ReconcilePool*>& pools) {
  for (const ReconcilePool* pool : pools) {
    if (pool->subnet.range().contains(a)) {
      return pool;
    }
  }
  return nullptr;
}

}  // namespace

bool is_plugin_owner(const std::string& owner, ring::Address address) {
  return owner == address.to_string() || is_container_id(owner);
}

void DockerView::add(const DockerNetwork& network) {
  networks.push_back(network);
  for (const auto& [address, container] : network.containers) {
    containers[address] = container;
  }
  reserved.insert(network.reserved.begin(), network.reserved.end());
}

bool DockerView::uses_subnet(const ring::Cidr& subnet) const {
  for (const DockerNetwork& network : networks) {
    if (!is_remote_ipam(network.ipam_driver)) {
      continue;
    }
    for (const ring::Cidr& s : network.subnets) {
      if (s == subnet) {
        return true;
      }
    }
  }
  return false;
}

// A view that shows none of our pools may be another dockerd's, or an error read as an
// empty list: it is believed only if it comes from the dockerd that showed them before.
bool Reconciler::trusts(const DockerView& docker, const std::vector<ReconcilePool>& pools,
                        std::size_t present, Plan& out) {
  if (!daemon_id_.empty() && !docker.daemon_id.empty() && docker.daemon_id != daemon_id_) {
    // Another dockerd (another host's, in a multi-host layout) may well have a network on
    // the same subnet; its containers are not ours to judge.
    out.refused = "Docker's view comes from daemon " + docker.daemon_id + ", not the dockerd (" +
                  daemon_id_ +
                  ") that uses this plugin; nothing is released. Is --docker-api right?";
    return false;
  }
  if (docker.networks.empty()) {
    // Every dockerd has at least its "host" and "none" networks: this is no real view.
    out.refused = "Docker listed no networks at all; nothing is released";
    return false;
  }
  if (present > 0) {
    if (daemon_id_.empty() && !docker.daemon_id.empty()) {
      daemon_id_ = docker.daemon_id;
      out.learned_daemon_id = true;
    }
    return true;
  }
  if (pools.empty()) {
    return true;  // nothing of ours to judge
  }
  if (!daemon_id_.empty() && docker.daemon_id == daemon_id_) {
    return true;
  }
  out.refused =
      "Docker's view (daemon " + (docker.daemon_id.empty() ? "unknown" : docker.daemon_id) + ", " +
      std::to_string(docker.networks.size()) + " networks) shows none of this peer's " +
      std::to_string(pools.size()) + " pools" +
      (daemon_id_.empty() ? "" : " and is not the dockerd (" + daemon_id_ + ") that did") +
      "; nothing is released. Is --docker-api the dockerd that uses this plugin?";
  return false;
}

Reconciler::Plan Reconciler::plan(ring::Millis now, const DockerView& docker,
                                  const std::vector<const Allocations*>& tables,
                                  const std::vector<ReconcilePool>& pools) {
  Plan out;
  std::vector<const ReconcilePool*> present;
  std::vector<ReconcilePool> absent;
  for (const ReconcilePool& pool : pools) {
    if (docker.uses_subnet(pool.subnet)) {
      present.push_back(&pool);
    } else {
      absent.push_back(pool);
    }
  }
  if (!trusts(docker, pools, present.size(), out)) {
    return out;  // keep every clock as it was: this view proves nothing
  }
  std::map<ring::Address, ring::Millis> still_unheld;
  for (const Allocations* allocations : tables) {
    plan_table(now, docker, *allocations, present, still_unheld, out);
  }
  unheld_since_ = std::move(still_unheld);
  plan_pool_leaks(now, absent, tables, out);
  return out;
}

void Reconciler::plan_table(ring::Millis now, const DockerView& docker,
                            const Allocations& allocations,
                            const std::vector<const ReconcilePool*>& present,
                            std::map<ring::Address, ring::Millis>& still_unheld, Plan& out) const {
  for (const auto& [address, owner] : allocations) {
    if (!is_plugin_owner(owner, address) || pool_of(address, present) == nullptr) {
      continue;  // an admin, CNI or gateway allocation, or not in a pool Docker shows
    }
    if (auto c = docker.containers.find(address); c != docker.containers.end()) {
      // Held either way; bound only to a real container, never to an endpoint like a
      // swarm node's load balancer ("lb-<network>"), which dockerd's release must free.
      if (owner == address.to_string() && is_container_id(c->second)) {
        out.binds.push_back(ring::BindCommand{address, c->second});
      }
      continue;
    }
    if (docker.reserved.count(address)) {
      continue;
    }
    auto seen = unheld_since_.find(address);
    ring::Millis since = seen == unheld_since_.end() ? now : seen->second;
    if (now - since >= grace_) {
      out.releases.push_back(ring::ReleaseCommand{address, owner});
    } else {
      still_unheld[address] = since;
    }
  }
}

void Reconciler::plan_pool_leaks(ring::Millis now, const std::vector<ReconcilePool>& absent,
                                 const std::vector<const Allocations*>& tables, Plan& out) {
  std::map<std::string, PoolClock> still_absent;
  for (const ReconcilePool& pool : absent) {
    auto seen = pool_absent_since_.find(pool.id);
    PoolClock clock{pool.generation, now};
    if (seen != pool_absent_since_.end() && seen->second.generation == pool.generation) {
      clock = seen->second;
    }
    if (now - clock.since < grace_) {
      still_absent[pool.id] = clock;
      continue;
    }
    out.leaked_pools.push_back(pool.id);
    std::string gateway = IpamApi::kGatewayOwnerPrefix + pool.id;
    for (const Allocations* allocations : tables) {
      for (auto it = allocations->lower_bound(pool.subnet.range().start());
           it != allocations->end() && pool.subnet.range().contains(it->first); ++it) {
        if (is_plugin_owner(it->second, it->first) || it->second == gateway) {
          out.releases.push_back(ring::ReleaseCommand{it->first, it->second});
        }
      }
    }
  }
  pool_absent_since_ = std::move(still_absent);
}

}  // namespace wipam::driver
