// The daemon's Docker glue: the events watcher, binding containers to their addresses, and
// reconcile (DESIGN.md, "Owners"). The rest of the daemon is daemon.cc.
#include <algorithm>

#include "driver/base/log.h"
#include "driver/daemon/daemon.h"

namespace wipam::driver {

Status Daemon::watch_docker() {
  if (config_.docker_api.empty()) {
    return Status();
  }
  Result<std::unique_ptr<DockerClient>> client = DockerClient::make(loop_, config_.docker_api);
  if (!client.ok()) {
    return client.status();
  }
  auto grace = std::chrono::duration_cast<ring::Millis>(config_.reconcile_grace);
  if (config_.reconcile_grace < std::chrono::seconds(30)) {
    // dockerd retries a plugin call for 30 s: a release retried across our restart may land
    // after reconcile freed that address and someone else got it.
    log(LogLevel::kWarn, "reconcile",
        "--reconcile-grace is under dockerd's 30 s plugin retry window; after a restart a "
        "retried ReleaseAddress could free an address's next holder",
        {{"grace_seconds", std::to_string(config_.reconcile_grace.count())}});
  }
  reconciler_ = std::make_unique<Reconciler>(grace, docker_id_);
  DockerWatcher::Hooks hooks;
  hooks.network_changed = [this](const DockerNetwork& n) { bind_containers(n); };
  hooks.reconcile = [this](const DockerView& docker) { reconcile(docker); };
  // Reconcile four times per grace period, so a leak is freed within about 1.25 graces.
  auto interval = std::max(std::chrono::milliseconds(500),
                           std::chrono::duration_cast<std::chrono::milliseconds>(grace / 4));
  watcher_ = std::make_unique<DockerWatcher>(loop_, std::move(*client), std::move(hooks), interval);
  watcher_->start(docker_since_);
  return Status();
}

// Records which container holds each anonymous plugin allocation, so the container's exit
// can release exactly its addresses (never an address alone: it may be someone else's now).
void Daemon::bind_containers(const DockerNetwork& network) {
  // A swarm task's address lives as long as the manager's request, not the container:
  // binding it would let the container's exit free an address the manager still holds.
  for (const auto& [id, pool] : ipam_->pools()) {
    if (pool.swarm && std::find(network.subnets.begin(), network.subnets.end(), pool.subnet) !=
                          network.subnets.end()) {
      return;
    }
  }
  for (const auto& [address, container] : network.containers) {
    const std::string* holder = allocators_->holder(address);
    if (holder != nullptr && *holder == address.to_string() &&
        is_container_id(container)) {  // not an endpoint such as a swarm "lb-<network>"
      run(ring::BindCommand{address, container}, [](const ring::Reply&) {});
    }
  }
}

// A swarm manager deallocates a removed service's tasks lazily and may release the pool
// first; after the last ReleasePool no call will free what is left in that subnet.
void Daemon::free_retired_pool(const std::string& pool_id, const ring::Cidr& subnet) {
  const ring::Allocator* allocator = allocators_->of_family(subnet.family());
  if (allocator == nullptr) {
    return;
  }
  std::vector<ring::ReleaseCommand> releases;
  for (const auto& [address, holder] : allocator->allocations()) {
    if (subnet.range().contains(address) && IpamApi::dockerd_owns(pool_id, address, holder)) {
      releases.push_back({address, holder});
    }
  }
  if (!releases.empty()) {
    log(LogLevel::kInfo, "plugin", "swarm pool released: freeing the addresses left in it",
        {{"pool", pool_id}, {"count", std::to_string(releases.size())}});
  }
  for (auto& release : releases) {
    run(std::move(release), [](const ring::Reply&) {});
  }
}

void Daemon::save_docker_since() {
  if (watcher_ && watcher_->last_event_time() > docker_since_) {
    docker_since_ = watcher_->last_event_time();
    ring::Effects fx;
    fx.writes.push_back({std::string(kDockerSinceKey), std::to_string(docker_since_)});
    submit(std::move(fx));
  }
}

void Daemon::reconcile(const DockerView& docker) {
  save_docker_since();
  std::vector<ReconcilePool> pools;
  for (const auto& [id, pool] : ipam_->pools()) {
    // A swarm pool's addresses belong to the manager's view (VIPs, tasks on other nodes),
    // which no one node's Docker shows: reconcile leaves them alone.
    if (!pool.swarm) {
      pools.push_back({id, pool.subnet, pool.generation});
    }
  }
  Reconciler::Plan plan = reconciler_->plan(now(), docker, allocators_->tables(), pools);
  if (plan.refused != last_refusal_) {
    if (!plan.refused.empty()) {
      log(LogLevel::kWarn, "reconcile", plan.refused);
    }
    last_refusal_ = plan.refused;
  }
  ring::Effects fx;
  if (plan.learned_daemon_id) {
    docker_id_ = reconciler_->daemon_id();
    fx.writes.push_back({std::string(kDockerIdKey), docker_id_});
  }
  for (const std::string& id : plan.leaked_pools) {
    log(LogLevel::kWarn, "reconcile", "releasing a pool no Docker network uses", {{"pool", id}});
    for (ring::StoreWrite& w : ipam_->forget_pool(id)) {
      fx.writes.push_back(std::move(w));
    }
  }
  if (!fx.writes.empty()) {
    submit(std::move(fx));
  }
  for (const ring::BindCommand& bind : plan.binds) {
    run(bind, [](const ring::Reply&) {});
  }
  for (const ring::ReleaseCommand& release : plan.releases) {
    log(LogLevel::kWarn, "reconcile", "releasing an address no container holds",
        {{"address", release.address.to_string()}, {"owner", release.owner.value_or("")}});
    bool exited = release.owner && is_container_id(*release.owner);
    run(
        release,
        [this, exited](const ring::Reply& r) {
          auto& counter = exited ? counters_.container_exit_releases : counters_.reconcile_releases;
          counter += r.addresses.size();
        },
        /*counted=*/false);
  }
}

}  // namespace wipam::driver
