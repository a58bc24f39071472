// RefusedPeers: the peer incarnations the daemon told the mesh not to link with again,
// because their allocation state conflicts with ours (rings created apart). Refusal is per
// incarnation (name and UID): a peer that restarts, e.g. after its state was wiped, is judged
// afresh by the handshake. Bounded by `max` entries (the oldest name goes first).
// A value owned by Mesh; loop-confined (not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::gossip {

class RefusedPeers {
 public:
  explicit RefusedPeers(std::size_t max) : max_(max) {}

  // Refuses `peer` (this incarnation) with `why`; replaces an earlier refusal of its name.
  void refuse(const ring::PeerIdentity& peer, const Status& why);
  // Why `peer` is refused, or nullopt. Forgets the refusal of another incarnation of its name.
  std::optional<Status> check(const ring::PeerIdentity& peer);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t uid = 0;
    Status why;
  };
  std::size_t max_;
  std::map<ring::PeerName, Entry> entries_;
  std::deque<ring::PeerName> order_;  // names in the order first refused, for the bound
};

}  // namespace wipam::gossip
