#include "ring/allocation_table.h"

#include <string_view>

namespace wipam::ring {
namespace {

constexpr const char* kPeerOwnerPrefix = "peer:";

}  // namespace

std::string peer_owner(PeerName peer) { return kPeerOwnerPrefix + peer.to_string(); }

bool is_peer_owner(const std::string& owner) { return owner.rfind(kPeerOwnerPrefix, 0) == 0; }

std::optional<PeerName> owner_peer(const std::string& owner) {
  if (!is_peer_owner(owner)) {
    return std::nullopt;
  }
  Result<PeerName> name = PeerName::parse(owner.substr(std::string_view(kPeerOwnerPrefix).size()));
  return name.ok() ? std::optional<PeerName>(*name) : std::nullopt;
}

// One lookup in each map: this runs for every allocation the peer makes.
void AllocationTable::set(const Address& a, const std::string& owner, int prefix_len, bool shared) {
  auto [it, inserted] = allocations_.try_emplace(a, Allocation{owner, prefix_len, shared});
  if (!inserted) {
    if (it->second.owner == owner) {
      it->second.prefix_len = prefix_len;
      it->second.shared = shared;
      return;
    }
    drop_from_owner(it->second.owner, a);
    it->second = {owner, prefix_len, shared};
  }
  by_owner_[owner].insert(a);
  owners_.insert_or_assign(a, owner);
}

bool AllocationTable::erase(const Address& a) {
  auto it = allocations_.find(a);
  if (it == allocations_.end()) {
    return false;
  }
  drop_from_owner(it->second.owner, a);
  allocations_.erase(it);
  owners_.erase(a);
  return true;
}

void AllocationTable::drop_from_owner(const std::string& owner, const Address& a) {
  auto owned = by_owner_.find(owner);
  if (owned != by_owner_.end()) {
    owned->second.erase(a);
    if (owned->second.empty()) {
      by_owner_.erase(owned);
    }
  }
}

const Allocation* AllocationTable::find(const Address& a) const {
  auto it = allocations_.find(a);
  return it == allocations_.end() ? nullptr : &it->second;
}

const std::set<Address>* AllocationTable::addresses_of(const std::string& owner) const {
  auto it = by_owner_.find(owner);
  return it == by_owner_.end() ? nullptr : &it->second;
}

std::vector<Cidr> AllocationTable::lookup(const std::string& owner) const {
  std::vector<Cidr> out;
  if (const std::set<Address>* held = addresses_of(owner)) {
    for (const Address& a : *held) {
      out.emplace_back(a, allocations_.at(a).prefix_len);
    }
  }
  return out;
}

std::vector<Address> AllocationTable::in_range(const Range& r) const {
  std::vector<Address> out;
  for (auto it = allocations_.lower_bound(r.start());
       it != allocations_.end() && r.contains(it->first); ++it) {
    out.push_back(it->first);
  }
  return out;
}

}  // namespace wipam::ring
