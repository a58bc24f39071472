#include "ring/paxos_checks.h"

namespace wipam::ring::paxos_checks {

// Why `p` is malformed, or nullptr if it is not.
const char* proposal_flaw(const PaxosProposal& p) {
  if (p.round > kMaxPaxosRound) {
    return "round beyond the limit";
  }
  if (p.none() != p.proposer.unknown()) {
    return "a proposer without a round, or a round without a proposer";
  }
  return nullptr;
}

// Why `names` is not a value (a sorted list of distinct names within the limit), or nullptr.
// Linear: merge() and decode() run it once per distinct value, not once per view.
const char* value_flaw(const std::vector<PeerName>& names) {
  if (names.size() > kMaxPaxosNodes) {
    return "a value of more names than the limit";
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].unknown() || (i > 0 && !(names[i - 1] < names[i]))) {
      return "a value that is not a sorted list of distinct names";
    }
  }
  return nullptr;
}

// Why `state` breaks the invariants of PaxosNodeState, its value's names apart, or nullptr if
// it keeps them. Constant time and allocation-free: merge() runs it on every entry it learns
// from.
const char* shape_flaw(const PaxosNodeState& state) {
  if (const char* flaw = proposal_flaw(state.promised)) {
    return flaw;
  }
  if (const char* flaw = proposal_flaw(state.accepted_id)) {
    return flaw;
  }
  if (state.accepted_id > state.promised) {
    return "an accepted proposal above the promised one";
  }
  if (state.has_accepted() == state.accepted_value.empty()) {
    return "a value without an accepted proposal, or an accepted proposal without a value";
  }
  return nullptr;
}

const char* state_flaw(const PaxosNodeState& state) {
  const char* flaw = shape_flaw(state);
  return flaw != nullptr ? flaw : value_flaw(state.accepted_value.names());
}

}  // namespace wipam::ring::paxos_checks
