// Topology: every peer's own account of its direct links, merged from gossip, and the
// routes computed from it.
//
// Each peer originates only its own entry and bumps its version when its links change; the
// higher (version, uid) wins a merge, so views converge whatever the delivery order. A link
// counts for routing only when both ends report it, which keeps stale entries from
// inventing paths. Unreachable entries are dropped. Pure (no I/O); owned by Mesh.
// Loop-confined (not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "gossip/wire.h"
#include "ring/peer_name.h"

namespace wipam::gossip {

// Versions count link changes from 1; no real peer comes near this. Entries above it are
// forged and ignored, so no bump past one can wrap.
inline constexpr std::uint64_t kMaxTopologyVersion = std::uint64_t{1} << 62;

class Topology {
 public:
  // At most `max_peers` entries (ourselves included) are held; further new peers are ignored.
  Topology(ring::PeerIdentity self, std::size_t max_peers);

  const ring::PeerIdentity& self() const { return self_; }
  // Our own entry as last published.
  const PeerEntry& self_entry() const { return entries_.at(self_.name); }

  // Replaces our direct links and bumps our version. Returns our new entry.
  const PeerEntry& set_own_links(std::vector<Link> links);

  // Merges entries from a neighbour. Returns the entries that changed our view and are
  // still held (the ones worth relaying); our own entry is among them iff we had to bump
  // our version past another entry in our name (an older incarnation of ourselves, or a
  // forgery). Entries over kMaxTopologyVersion are ignored.
  std::vector<PeerEntry> merge(const std::vector<PeerEntry>& entries);

  // Every entry held, ourselves first.
  std::vector<PeerEntry> entries() const;
  // The entry for `name`, or nullptr.
  const PeerEntry* find(ring::PeerName name) const;

  // True iff a path of links reported by both ends leads from us to `name`.
  bool reachable(ring::PeerName name) const { return next_hop_.count(name) > 0; }
  // The neighbour to send through to reach `name`, if reachable (itself when direct).
  std::optional<ring::PeerName> next_hop(ring::PeerName name) const;
  // Reachable peers other than us.
  std::vector<ring::PeerIdentity> reachable_peers() const;
  // Hops from us to `name` (1 when direct), if reachable.
  std::optional<int> distance(ring::PeerName name) const;

  // (peer, address) pairs that peers report for peers we have no direct link to.
  std::vector<Link> discovery_candidates() const;

 private:
  void recompute_routes();
  // Drops entries of unreachable peers; returns their names.
  std::vector<ring::PeerName> prune_unreachable();
  bool reports_link(const PeerEntry& from, ring::PeerName to) const;

  ring::PeerIdentity self_;
  std::size_t max_peers_;
  std::map<ring::PeerName, PeerEntry> entries_;  // ordered, so routes are deterministic
  std::map<ring::PeerName, ring::PeerName> next_hop_;
  std::map<ring::PeerName, int> distance_;
};

}  // namespace wipam::gossip
