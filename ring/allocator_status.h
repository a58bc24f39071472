// What the allocator reports of itself (Allocator::status()): its consensus, its share of the
// ring, every peer's, what waits and what conflicts. Plain values, safe to share between
// threads; built from the allocator's parts by make_status().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/peer_name.h"
#include "ring/ring_conflicts.h"

namespace wipam::ring {

enum class ConsensusState { kDeferred, kWaiting, kAchieved };
inline constexpr ConsensusState kConsensusStates[] = {
    ConsensusState::kDeferred, ConsensusState::kWaiting, ConsensusState::kAchieved};
// "deferred", "waiting" or "achieved": the name status and metrics show.
const char* consensus_state_name(ConsensusState state);

struct RingRow {
  Range range;
  PeerName owner;
  std::string nickname;
  bool reachable = false;
  std::uint64_t version = 0;
  Uint128 free = 0;
};

struct PeerRow {
  PeerName name;
  std::string nickname;
  bool reachable = false;
  Uint128 owned = 0;
  Uint128 free = 0;
};

struct StatusReport {
  PeerIdentity self;
  Cidr universe;
  std::string init;  // "seed", "consensus", "observer"
  ConsensusState consensus = ConsensusState::kDeferred;
  unsigned quorum = 0;
  unsigned known = 0;
  bool ready = false;     // has a ring and owns or can obtain space
  std::string summary;    // "ready", "awaiting consensus (quorum: 2, known: 1)", ...
  Uint128 allocated = 0;  // addresses held on this peer
  Uint128 owned = 0;      // addresses in ranges this peer owns
  Uint128 free = 0;       // free addresses in those ranges
  std::vector<RingRow> ring;
  std::vector<PeerRow> peers;
  std::vector<std::string> pending_allocates;
  std::vector<std::string> pending_claims;
  std::vector<std::string> conflicts;        // addresses held by two peers, rings created apart
  std::vector<RingConflict> ring_conflicts;  // while any stands: no new addresses, not ready
  std::uint64_t reserved_for_peers = 0;      // addresses we keep for peers that held them first
  std::uint64_t held_elsewhere = 0;          // our addresses inside ranges other peers now own
};

struct AllocatorContext;
class Bootstrap;
class PendingQueue;

StatusReport make_status(const AllocatorContext& ctx, const Bootstrap& bootstrap,
                         const PendingQueue& pending);

}  // namespace wipam::ring
