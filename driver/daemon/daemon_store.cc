// The daemon's state on disk: opening the store, refusing state it would misread, choosing
// this peer's identity, and restoring the allocator and the pool table. The rest of the
// daemon is daemon.cc.
#include <random>
#include <unistd.h>

#include "driver/daemon/daemon.h"

namespace wipam::driver {
namespace {

std::string host_name() {
  char name[256] = {};
  return gethostname(name, sizeof name - 1) == 0 ? name : "weave-ipam";
}

std::uint64_t random_u64() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

// Refuses state this binary or these flags would misread or drop: a newer format, another
// allocation range, another peer name. Dropping it would hand out addresses it records as
// held, so the operator decides (Weave silently discarded it, #2209).
Status Daemon::check_store_matches(const std::map<std::string, std::string>& stored) const {
  const std::string& path = config_.db_path;
  const std::string fresh = "; or move " + path +
                            " aside to start afresh (this peer then "
                            "forgets its allocations)";
  if (auto format = stored.find(kFormatKey); format != stored.end() && format->second != kFormat) {
    return Status::failed_precondition("the state in " + path + " has format " + format->second +
                                       ", written by another weave-ipam version (this one reads " +
                                       kFormat + ")" + fresh);
  }
  for (std::size_t i = 0; i < config_.ranges.size(); ++i) {
    const ring::Cidr& range = config_.ranges[i].range;
    auto universe = stored.find(ring::range_key_prefix(i, range) + ring::kUniverseKey);
    if (universe != stored.end() && universe->second != range.to_string()) {
      return Status::failed_precondition("the state in " + path + " is for --ipalloc-range " +
                                         universe->second + ", not " + range.to_string() +
                                         ": start with that range" + fresh);
    }
  }
  if (auto identity = stored.find(ring::kIdentityKey); identity != stored.end()) {
    std::optional<ring::PeerIdentity> parsed = ring::parse_identity(identity->second);
    if (!parsed) {
      // Picking a new name would make the allocator's state another peer's: refuse.
      return Status::corruption("the state in " + path + " has a corrupt " + ring::kIdentityKey +
                                " record ('" + identity->second.substr(0, 64) +
                                "'); restore the state from a backup, or repair the record as '" +
                                "<peer name> <uid> <nickname>' with this peer's name");
    }
    if (config_.name && parsed->name != *config_.name) {
      return Status::failed_precondition(
          "the state in " + path + " belongs to peer " + parsed->name.to_string() +
          ", not --name " + config_.name->to_string() + ": start with that name" + fresh);
    }
  }
  return Status();
}

// The stored name unless --name gives one (check_store_matches refused a mismatch), else a
// new one; a new uid every start: each start is a new incarnation of this peer.
ring::PeerIdentity Daemon::choose_identity(const std::map<std::string, std::string>& stored) const {
  ring::PeerIdentity self;
  self.nickname = config_.nickname.empty() ? host_name() : config_.nickname;
  self.uid = random_u64();
  auto identity = stored.find(ring::kIdentityKey);
  if (config_.name) {
    self.name = *config_.name;
  } else if (identity != stored.end()) {
    self.name = ring::parse_identity(identity->second)->name;  // checked well formed before
  } else {
    // Locally administered, unicast, like a generated MAC address.
    self.name = ring::PeerName((random_u64() & ~std::uint64_t{0x010000000000}) | 0x020000000000);
  }
  return self;
}

// The plugin endpoints see the allocator's table read-only, on the loop.
std::unique_ptr<IpamApi> Daemon::make_ipam_api() {
  auto holder_of = [this](const ring::Address& a) -> std::optional<std::string> {
    const std::string* holder = allocators_->holder(a);
    return holder == nullptr ? std::nullopt : std::optional(*holder);
  };
  auto held_in = [this](const ring::Range& r) {
    std::vector<std::pair<ring::Address, std::string>> held;
    const ring::Allocator* allocator = allocators_->of_family(r.family());
    if (allocator == nullptr) {
      return held;
    }
    const auto& allocations = allocator->allocations();
    for (auto it = allocations.lower_bound(r.start());
         it != allocations.end() && r.contains(it->first); ++it) {
      held.emplace_back(it->first, it->second);
    }
    return held;
  };
  return std::make_unique<IpamApi>(config_.ranges, holder_of, held_in);
}

Status Daemon::open_store_and_restore() {
  Result<std::unique_ptr<Store>> store =
      Store::open(config_.db_path, loop_, config_.preallocate_log);
  if (!store.ok()) {
    return store.status();
  }
  store_ = std::move(*store);
  Result<std::map<std::string, std::string>> stored = store_->scan("");
  if (!stored.ok()) {
    return stored.status();
  }
  WIPAM_RETURN_IF_ERROR(check_store_matches(*stored));
  self_ = choose_identity(*stored);
  std::vector<ring::AllocatorConfig> configs;
  for (const AllocationRange& r : config_.ranges) {
    ring::AllocatorConfig ac;
    ac.self = self_;
    ac.universe = r.range;
    ac.init = config_.init;
    configs.push_back(ac);
  }
  allocators_ = std::make_unique<ring::RangeAllocators>(configs);
  pipeline_ = std::make_unique<EffectsPipeline>(
      [this](std::vector<ring::StoreWrite> batch, std::function<void(Status)> done,
             Store::Sync sync) { store_->write(std::move(batch), std::move(done), sync); },
      [this](ring::Effects& fx) { release(fx); },
      [this](const Status& s, ring::Effects& fx) { fail_writes(s, fx); });
  Result<ring::Effects> restored = allocators_->start(now(), *stored);
  if (!restored.ok()) {
    // Half restored, it must never run again: stop() would shut it down and act on it.
    allocators_.reset();
    return restored.status().with_context("state in " + config_.db_path);
  }
  if (auto since = stored->find(kDockerSinceKey); since != stored->end()) {
    docker_since_ = std::strtoll(since->second.c_str(), nullptr, 10);
  }
  if (auto id = stored->find(kDockerIdKey); id != stored->end()) {
    docker_id_ = id->second;
  }
  ipam_ = make_ipam_api();
  WIPAM_RETURN_IF_ERROR(ipam_->restore(*stored).with_context("state in " + config_.db_path));

  restored->writes.push_back({kFormatKey, std::string(kFormat)});
  submit(std::move(*restored));
  return Status();
}

}  // namespace wipam::driver
