// SimWorld's continuous checks (sim_world.h): what the clients were told against what every
// live allocator holds.
#include "tests/sim/sim_peer.h"
#include "tests/sim/sim_world.h"

namespace wipam::sim {

using ring::Address;
using ring::Allocator;

bool SimWorld::lost(int peer, const ring::Address& a, const std::string& owner) const {
  const std::string* holder = peers_[static_cast<std::size_t>(peer)]->allocators->holder(a);
  return holder == nullptr || *holder != owner;
}

bool SimWorld::stored(int peer, const ring::Address& a) const {
  std::size_t r = a.family() == options_.universe.family() ? 0 : 1;
  return peers_[static_cast<std::size_t>(peer)]->store.contains(
      ring::range_key_prefix(r, universe(r)) + ring::allocation_key(a));
}

Status SimWorld::check() const {
  if (!violations_.empty()) {
    return Status::internal(violations_.front());
  }
  std::map<Address, int> holders;
  std::map<Address, std::string> shared;  // address -> its shared owner
  for (int i = 0; i < size(); ++i) {
    if (!alive(i)) {
      continue;
    }
    for (std::size_t r = 0; r < ranges(); ++r) {
      WIPAM_RETURN_IF_ERROR(
          check_peer(allocator(i, r), i, holders, shared).with_context(universe(r).to_string()));
    }
  }
  for (const auto& [address, owner] : shared) {
    if (auto it = holders.find(address); it != holders.end()) {
      return Status::internal("shared " + address.to_string() + " (" + owner + ") is held on p" +
                              std::to_string(it->second) + " too");
    }
  }
  for (const auto& [address, by_peer] : shared_acked_.all()) {
    for (const auto& [peer, owner] : by_peer) {
      const Peer& p = *peers_[static_cast<std::size_t>(peer)];
      if (p.allocators ? lost(peer, address, owner) : !stored(peer, address)) {
        return Status::internal("shared " + address.to_string() + " of " + owner +
                                " is gone from p" + std::to_string(peer));
      }
    }
  }
  for (const auto& [address, holder] : acked_) {
    const Peer& p = *peers_[static_cast<std::size_t>(holder.first)];
    bool kept =
        p.allocators ? p.allocators->holder(address) != nullptr : stored(holder.first, address);
    if (!kept) {
      return Status::internal("acknowledged " + address.to_string() + " of " + holder.second +
                              " is gone from p" + std::to_string(holder.first));
    }
  }
  return Status();
}

// One peer's allocator of one range: its own invariants, a valid ring covering the range
// exactly, and what it holds (check_holders).
Status SimWorld::check_peer(const Allocator& a, int i, std::map<Address, int>& holders,
                            std::map<Address, std::string>& shared) const {
  Status healthy = a.check_invariants();
  if (!healthy.ok()) {
    return Status::internal("peer " + std::to_string(i) + ": " + healthy.message());
  }
  Status valid = a.ring().validate();
  if (!valid.ok()) {
    return Status::internal("peer " + std::to_string(i) + " ring: " + valid.message());
  }
  if (!a.ring().empty()) {
    ring::Uint128 covered = 0;
    for (const auto& [owner, size] : a.ring().owned_by_peer()) {
      covered += size;
    }
    if (covered != a.ring().universe().size()) {
      return Status::internal("peer " + std::to_string(i) +
                              "'s ring does not cover the range exactly");
    }
  }
  return check_holders(a, i, holders, shared);
}

// Every address `a` holds goes into `holders`, or for a shared claim's owner into `shared`;
// an address two peers hold, other than for a shared owner, is a violation.
Status SimWorld::check_holders(const Allocator& a, int peer, std::map<Address, int>& holders,
                               std::map<Address, std::string>& shared) const {
  for (const auto& [address, owner] : a.allocations()) {
    if (owner.rfind("peer:", 0) == 0) {
      continue;  // a reservation mirroring another peer's holding
    }
    if (owner.rfind(kSharedOwnerPrefix, 0) == 0) {
      auto [it, inserted] = shared.emplace(address, owner);
      if (!inserted && it->second != owner) {
        return Status::internal("shared " + address.to_string() + " is held for " + it->second +
                                " and for " + owner + " on p" + std::to_string(peer));
      }
      continue;
    }
    auto [it, inserted] = holders.emplace(address, peer);
    if (!inserted) {
      return Status::internal("address " + address.to_string() + " is held on p" +
                              std::to_string(it->second) + " and p" + std::to_string(peer));
    }
  }
  return Status();
}

bool SimWorld::converged() const {
  for (std::size_t r = 0; r < ranges(); ++r) {
    const Allocator* first = nullptr;
    for (int i = 0; i < size(); ++i) {
      if (!alive(i)) {
        continue;
      }
      if (first == nullptr) {
        first = &allocator(i, r);
      } else if (!(first->ring() == allocator(i, r).ring())) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace wipam::sim
