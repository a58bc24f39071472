#include "ring/shares.h"

namespace wipam::ring {

const Share* Shares::find(const Address& a) const {
  auto it = shares_.find(a);
  return it == shares_.end() ? nullptr : &it->second;
}

bool Shares::shared_with(const Address& a, PeerName peer) const {
  const Share* share = find(a);
  return share != nullptr && share->peers.contains(peer);
}

}  // namespace wipam::ring
