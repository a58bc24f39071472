#include "driver/reconciler.h"

namespace wipam::driver {
namespace {

bool in_pools(ring::Address a, const std::vector<ring::Cidr>& pools) {
  for (const ring::Cidr& pool : pools) {
    if (pool.range().contains(a)) {
      return true;
    }
  }
  return false;
}

}  // namespace

void DockerView::add(const DockerNetwork& network) {
  for (const auto& [address, container] : network.containers) {
    containers[address] = container;
  }
  reserved.insert(network.reserved.begin(), network.reserved.end());
}

Reconciler::Plan Reconciler::plan(ring::Millis now, const DockerView& docker,
                                  const std::map<ring::Address, std::string>& allocations,
                                  const std::vector<ring::Cidr>& pools) {
  Plan out;
  std::map<ring::Address, ring::Millis> still_unheld;
  for (const auto& [address, owner] : allocations) {
    bool anonymous = owner == address.to_string();
    if (!(anonymous || is_container_id(owner)) || !in_pools(address, pools)) {
      continue;  // not the plugin's: an admin or CNI allocation, or another range
    }
    if (auto c = docker.containers.find(address); c != docker.containers.end()) {
      if (anonymous) {
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
  unheld_since_ = std::move(still_unheld);
  return out;
}

}  // namespace wipam::driver
