#include "gossip/refused_peers.h"

#include <algorithm>

namespace wipam::gossip {

void RefusedPeers::refuse(const ring::PeerIdentity& peer, const Status& why) {
  if (max_ == 0) {
    return;
  }
  if (entries_.count(peer.name) == 0) {
    while (entries_.size() >= max_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(peer.name);
  }
  entries_[peer.name] = Entry{peer.uid, why};
}

std::optional<Status> RefusedPeers::check(const ring::PeerIdentity& peer) {
  auto it = entries_.find(peer.name);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  if (it->second.uid == peer.uid) {
    return it->second.why;
  }
  entries_.erase(it);
  order_.erase(std::find(order_.begin(), order_.end(), peer.name));
  return std::nullopt;
}

}  // namespace wipam::gossip
