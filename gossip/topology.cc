#include "gossip/topology.h"

#include <algorithm>
#include <deque>
#include <set>
#include <tuple>

namespace wipam::gossip {

Topology::Topology(ring::PeerIdentity self, std::size_t max_peers)
    : self_(std::move(self)), max_peers_(std::max<std::size_t>(max_peers, 1)) {
  entries_[self_.name] = PeerEntry{self_, 1, {}};
  recompute_routes();
}

const PeerEntry& Topology::set_own_links(std::vector<Link> links) {
  PeerEntry& own = entries_[self_.name];
  std::sort(links.begin(), links.end(),
            [](const Link& a, const Link& b) { return a.peer < b.peer; });
  own.links = std::move(links);
  ++own.version;
  recompute_routes();
  prune_unreachable();
  return own;
}

std::vector<PeerEntry> Topology::merge(const std::vector<PeerEntry>& incoming) {
  std::set<ring::PeerName> changed;
  for (const PeerEntry& entry : incoming) {
    ring::PeerName name = entry.identity.name;
    if (entry.version > kMaxTopologyVersion) {
      continue;
    }
    if (name == self_.name) {
      // Only we speak for ourselves: any other entry in our name (an older incarnation, or a
      // forgery with our UID and a higher version) must lose to ours from now on.
      PeerEntry& own = entries_[self_.name];
      bool other = entry.identity.uid != self_.uid ? entry.version >= own.version
                                                   : entry.version > own.version;
      if (other) {
        own.version = entry.version + 1;
        changed.insert(name);
      }
      continue;
    }
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      if (entries_.size() >= max_peers_) {
        continue;
      }
      entries_[name] = entry;
      changed.insert(name);
      continue;
    }
    if (std::tie(entry.version, entry.identity.uid) >
        std::tie(it->second.version, it->second.identity.uid)) {
      it->second = entry;
      changed.insert(name);
    }
  }
  recompute_routes();
  for (ring::PeerName name : prune_unreachable()) {
    changed.erase(name);
  }
  std::vector<PeerEntry> out;
  for (ring::PeerName name : changed) {
    out.push_back(entries_.at(name));
  }
  return out;
}

std::vector<ring::PeerName> Topology::prune_unreachable() {
  // What cannot be reached cannot be routed to, and relaying it would let a stale entry
  // circle the mesh forever.
  std::vector<ring::PeerName> dropped;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->first != self_.name && !reachable(it->first)) {
      dropped.push_back(it->first);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

std::vector<PeerEntry> Topology::entries() const {
  std::vector<PeerEntry> out;
  out.push_back(self_entry());
  for (const auto& [name, entry] : entries_) {
    if (name != self_.name) {
      out.push_back(entry);
    }
  }
  return out;
}

const PeerEntry* Topology::find(ring::PeerName name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::optional<ring::PeerName> Topology::next_hop(ring::PeerName name) const {
  auto it = next_hop_.find(name);
  if (it == next_hop_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<int> Topology::distance(ring::PeerName name) const {
  auto it = distance_.find(name);
  if (it == distance_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<ring::PeerIdentity> Topology::reachable_peers() const {
  std::vector<ring::PeerIdentity> out;
  for (const auto& [name, hop] : next_hop_) {
    out.push_back(entries_.at(name).identity);
  }
  return out;
}

bool Topology::reports_link(const PeerEntry& from, ring::PeerName to) const {
  return std::any_of(from.links.begin(), from.links.end(),
                     [&](const Link& link) { return link.peer == to; });
}

void Topology::recompute_routes() {
  // Breadth-first from us over links both ends report; neighbours in name order, so every
  // peer with the same view picks the same routes.
  next_hop_.clear();
  distance_.clear();
  std::deque<ring::PeerName> queue = {self_.name};
  std::map<ring::PeerName, int> seen = {{self_.name, 0}};
  while (!queue.empty()) {
    ring::PeerName at = queue.front();
    queue.pop_front();
    const PeerEntry& entry = entries_.at(at);
    for (const Link& link : entry.links) {
      auto other = entries_.find(link.peer);
      if (other == entries_.end() || seen.count(link.peer) > 0 ||
          !reports_link(other->second, at)) {
        continue;
      }
      seen[link.peer] = seen[at] + 1;
      next_hop_[link.peer] = at == self_.name ? link.peer : next_hop_.at(at);
      distance_[link.peer] = seen[link.peer];
      queue.push_back(link.peer);
    }
  }
}

std::vector<Link> Topology::discovery_candidates() const {
  const PeerEntry& own = self_entry();
  std::set<std::pair<ring::PeerName, std::string>> out;
  for (const auto& [name, entry] : entries_) {
    if (name == self_.name) {
      continue;
    }
    for (const Link& link : entry.links) {
      if (link.peer != self_.name && !reports_link(own, link.peer) && !link.address.empty()) {
        out.insert({link.peer, link.address});
      }
    }
  }
  std::vector<Link> links;
  for (const auto& [peer, address] : out) {
    links.push_back(Link{peer, address});
  }
  return links;
}

}  // namespace wipam::gossip
