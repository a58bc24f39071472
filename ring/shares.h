// Shares: addresses held on several peers at once for one owner, such as the gateway (the
// LAN's router) that every host's network names with `--gateway`, or a swarm manager's task
// address that the node running the task asks for again. An allocation or claim may offer
// its address for sharing (Allocation::shared); the peer whose space holds it grants another
// peer's ShareRequest only for an offered address and the owner it is held for. The sharer
// then holds it too, outside its space, and says so, with that owner, in its HeldAddresses
// like any address it holds in another's range. The address stays allocated
// while any holder is left: when the holder in whose table it is releases it, a sharer takes
// its place as a `peer:` reservation. Owned by the allocator context; loop-confined.
#pragma once

#include <map>
#include <set>
#include <string>

#include "ring/address.h"
#include "ring/peer_name.h"

namespace wipam::ring {

// Who else holds one address of our space.
struct Share {
  std::string owner;         // every holder holds it for this owner
  std::set<PeerName> peers;  // the other peers holding it, besides the table's holder
  friend bool operator==(const Share&, const Share&) = default;
};

class Shares {
 public:
  // The share of `a`, or null if it is not shared.
  const Share* find(const Address& a) const;
  bool shared_with(const Address& a, PeerName peer) const;
  void set(const Address& a, Share share) { shares_[a] = std::move(share); }
  bool erase(const Address& a) { return shares_.erase(a) > 0; }

  const std::map<Address, Share>& all() const { return shares_; }
  bool empty() const { return shares_.empty(); }

 private:
  std::map<Address, Share> shares_;
};

}  // namespace wipam::ring
