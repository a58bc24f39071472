// The validity rules of Paxos states and values, shared by the protocol (merge() judges
// every entry it learns from) and the codec (decode() refuses what breaks them). Each
// returns why its argument is malformed, or nullptr if it is not.
#pragma once

#include <vector>

#include "ring/paxos.h"

namespace wipam::ring::paxos_checks {

// A round beyond the limit, or a proposer without a round (or the reverse).
const char* proposal_flaw(const PaxosProposal& p);
// Not a sorted list of distinct names within the limit. Linear in the names.
const char* value_flaw(const std::vector<PeerName>& names);
// Breaks PaxosNodeState's invariants, its value's names apart. Constant time.
const char* shape_flaw(const PaxosNodeState& state);
// shape_flaw(), then value_flaw() of its value.
const char* state_flaw(const PaxosNodeState& state);

}  // namespace wipam::ring::paxos_checks
