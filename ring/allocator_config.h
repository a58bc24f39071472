// How one peer's allocator is set up: who it is, the range it allocates from, how the ring is
// first created and its timings. Plain values, safe to share between threads.
#pragma once

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "ring/address.h"
#include "ring/peer_name.h"

namespace wipam::ring {

using Millis = std::chrono::milliseconds;

// How the ring is first created (see DESIGN.md, "Creating the ring once").
struct SeedInit {
  std::vector<PeerName> seeds;
};
struct ConsensusInit {
  unsigned quorum = 1;  // floor(N/2)+1 of the N peers expected
};
struct ObserverInit {};
using InitMode = std::variant<SeedInit, ConsensusInit, ObserverInit>;

struct AllocatorConfig {
  PeerIdentity self;
  Cidr universe;  // the allocation range, a subnet
  InitMode init = ConsensusInit{};
  Millis op_deadline{15000};            // a deferred command fails after this long
  Millis donor_timeout{2000};           // a space request unanswered this long goes elsewhere
  Millis ring_broadcast_interval{250};  // donations are broadcast at most this often
  Millis gossip_interval{10000};        // whole-ring anti-entropy
  Millis propose_interval{3000};        // consensus re-proposal while waiting
  Millis free_report_interval{5000};    // refresh of our free-space hints in the ring
  // A ring conflict (ring_conflicts.h) no peer renewed for this long ends.
  Millis conflict_memory{15 * 60 * 1000};
};

// A duration as messages write it: "15s", or "1500ms" when not whole seconds.
inline std::string millis_text(Millis m) {
  return m.count() % 1000 == 0 ? std::to_string(m.count() / 1000) + "s"
                               : std::to_string(m.count()) + "ms";
}

}  // namespace wipam::ring
