// AllocationTable: who holds each address this peer has handed out or keeps, by address and by
// owner. It records, nothing more: the space (space.h) says whether an address is free, and
// AllocatorContext writes each change to the store. Owned by the allocator; loop-confined.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/peer_name.h"

namespace wipam::ring {

// Longest owner name accepted from a client or the store.
inline constexpr std::size_t kMaxOwnerBytes = 1024;

// The owner under which we reserve an address for `peer`, which held it in a range we own now
// (reservations.h): "peer:<name>".
std::string peer_owner(PeerName peer);
bool is_peer_owner(const std::string& owner);
// The peer a "peer:<name>" owner names, or nullopt for any other owner.
std::optional<PeerName> owner_peer(const std::string& owner);

struct Allocation {
  std::string owner;
  int prefix_len = 0;   // of the subnet it was handed out in
  bool shared = false;  // by a shared claim: other peers may hold it too (shares.h)
  friend bool operator==(const Allocation&, const Allocation&) = default;
};

class AllocationTable {
 public:
  // Records `a` as held by `owner`, replacing whoever held it before.
  void set(const Address& a, const std::string& owner, int prefix_len, bool shared = false);
  // Forgets `a`; false if nobody held it.
  bool erase(const Address& a);

  // Who holds `a`, or null.
  const Allocation* find(const Address& a) const;
  bool contains(const Address& a) const { return allocations_.contains(a); }
  // The addresses `owner` holds, ascending, or null if none.
  const std::set<Address>* addresses_of(const std::string& owner) const;
  // Those addresses with their prefixes; empty if none.
  std::vector<Cidr> lookup(const std::string& owner) const;
  // The held addresses inside `r`, ascending.
  std::vector<Address> in_range(const Range& r) const;

  const std::map<Address, Allocation>& all() const { return allocations_; }
  // Address -> owner, for Allocator::allocations().
  const std::map<Address, std::string>& owners() const { return owners_; }
  std::size_t size() const { return allocations_.size(); }
  bool empty() const { return allocations_.empty(); }

 private:
  void drop_from_owner(const std::string& owner, const Address& a);

  std::map<Address, Allocation> allocations_;
  std::map<std::string, std::set<Address>> by_owner_;
  std::map<Address, std::string> owners_;
};

}  // namespace wipam::ring
