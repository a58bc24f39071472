// Rings created apart: peers whose ring has other seeds than ours, e.g. two networks each
// started with --ipalloc-init consensus=1 and then pointed at each other. Such rings never
// merge, and both sides hand out the same addresses, so while a conflict stands the
// allocator hands out no new address and says why; the operator wipes the state of the
// smaller network and restarts its peers.
//
// A conflict is with one incarnation (name and UID) of a peer. It ends when that peer comes
// up as another incarnation (restarted, e.g. after its state was wiped), or when it has not
// been seen for `memory`: a peer kept out keeps redialling (every 5 min at most), so a
// conflict outlives the memory only once nobody tries to join the rings any more (say after
// `weave-ipam forget`). Also here: how a ring's identity is written for the mesh.
// Values owned by the allocator; loop-confined. Pure: time arrives as `now`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::ring {

// The identity of a ring with these seeds: "seeds [<name> <name> ...]", "" for none (no
// ring yet, which conflicts with nothing). Equal texts iff equal seeds; at most
// kMaxSeedsIdentityBytes (a longer list is cut and carries a digest of the whole list).
inline constexpr std::size_t kMaxSeedsIdentityBytes = 4096;
std::string seeds_identity(const std::vector<PeerName>& seeds);
// The seeds of a text seeds_identity made; fails for anything else, a cut list included.
Result<std::vector<PeerName>> parse_seeds_identity(std::string_view text);

struct RingConflict {
  PeerIdentity peer;             // uid 0 while unknown
  std::vector<PeerName> ours;    // our ring's seeds
  std::vector<PeerName> theirs;  // theirs; empty while unknown
  std::chrono::milliseconds last_seen{0};

  // "this peer's IP allocation was created apart from <peer>'s (ours: seeds [..], theirs:
  // seeds [..]); wipe the state of the smaller network and restart its peers" (the mesh's
  // handshake refusal says the same).
  std::string message() const;
};

class RingConflicts {
 public:
  explicit RingConflicts(std::chrono::milliseconds memory) : memory_(memory) {}

  // Records a conflict with `peer`, or refreshes it; true iff it is new. A UID of 0 is the
  // last incarnation seen up; unknown parts (UID, their seeds) keep what was known.
  bool record(std::chrono::milliseconds now, const PeerIdentity& peer, std::vector<PeerName> ours,
              std::vector<PeerName> theirs);
  // `peer` is up: ends a conflict with another incarnation of it, returned.
  std::optional<RingConflict> peer_up(const PeerIdentity& peer);
  // Ends the conflicts not seen for `memory`, returned.
  std::vector<RingConflict> expire(std::chrono::milliseconds now);

  bool empty() const { return by_peer_.empty(); }
  const RingConflict* find(PeerName peer) const;
  std::vector<RingConflict> list() const;
  // The message of the first conflict, with how many more there are.
  std::string summary() const;

 private:
  std::chrono::milliseconds memory_;
  std::map<PeerName, RingConflict> by_peer_;
  std::map<PeerName, std::uint64_t> up_uids_;  // the last incarnation of each peer seen up
};

}  // namespace wipam::ring
