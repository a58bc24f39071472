#include "ring/paxos.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <string>
#include <utility>

#include "ring/paxos_checks.h"

namespace wipam::ring {

using paxos_checks::shape_flaw;
using paxos_checks::state_flaw;
using paxos_checks::value_flaw;

PaxosValue::PaxosValue(std::vector<PeerName> names) {
  if (!names.empty()) {
    names_ = std::make_shared<const std::vector<PeerName>>(std::move(names));
  }
}

const std::vector<PeerName>& PaxosValue::names() const {
  static const std::vector<PeerName> kNone;
  return names_ == nullptr ? kNone : *names_;
}

Paxos::Paxos(PeerName self, unsigned quorum, ObserverTag)
    : self_(self), quorum_(quorum), observer_(true) {}

Paxos::Paxos(PeerName self, unsigned quorum, const PaxosPersistent& restored)
    : self_(self), quorum_(quorum) {
  assert(!self.unknown() && validate(restored).ok());
  knowledge_.emplace(self, restored);
  learn();
}

Paxos Paxos::observer(PeerName self, unsigned quorum) { return Paxos(self, quorum, ObserverTag{}); }

const PaxosPersistent& Paxos::persistent() const {
  static const PaxosPersistent kNothing;
  auto it = knowledge_.find(self_);
  return observer_ || it == knowledge_.end() ? kNothing : it->second;
}

PaxosNodeState& Paxos::own() {
  auto it = knowledge_.find(self_);
  assert(!observer_ && it != knowledge_.end());
  return it->second;
}

bool Paxos::propose() {
  if (observer_) {
    return false;
  }
  std::uint64_t highest = 0;
  for (const auto& [name, state] : knowledge_) {
    highest = std::max(highest, state.promised.round);
  }
  if (highest >= kMaxPaxosRound) {
    return false;
  }
  // Above every round seen, and above every round we ever proposed: those are at most our
  // own promise, which was persisted before anyone heard of them.
  own().promised = PaxosProposal{highest + 1, self_};
  ++version_;
  think();
  return true;
}

bool Paxos::merge(const PaxosGossip& in) {
  bool changed = false;
  Intake intake;
  auto at = knowledge_.begin();  // both maps are sorted by name: walk them together
  for (const auto& [name, state] : in.nodes) {
    while (at != knowledge_.end() && at->first < name) {
      ++at;
    }
    if (name.unknown() || (observer_ && name == self_)) {
      continue;
    }
    if (merge_node(at, name, state, intake)) {
      changed = true;
      // Others can only know of our state what we sent, and we persisted that first; a
      // higher state means our store was lost, and taking it back is the best repair.
      version_ += name == self_ ? 1 : 0;
    }
  }
  if (changed) {
    learn();
  }
  return changed;
}

bool Paxos::merge_node(Knowledge::iterator& at, PeerName name, const PaxosNodeState& in,
                       Intake& intake) {
  bool known = at != knowledge_.end() && at->first == name;
  bool news =
      !known || in.promised > at->second.promised || in.accepted_id > at->second.accepted_id;
  if (!news || shape_flaw(in) != nullptr) {
    return false;  // checked only when it would teach us something: most gossip does not
  }
  std::optional<PaxosValue> value = take_value(in.accepted_id, in.accepted_value, intake);
  if (!value) {
    return false;
  }
  if (!known) {
    if (knowledge_.size() >= kMaxPaxosNodes) {
      return false;
    }
    at = knowledge_.emplace_hint(at, name, PaxosNodeState{in.promised, in.accepted_id, *value});
    return true;
  }
  // Each elector's states form a chain (both fields only grow), so taking the higher of each
  // field yields a state the elector really had: its latest that reached us.
  PaxosNodeState& mine = at->second;
  if (in.promised > mine.promised) {
    mine.promised = in.promised;
  }
  if (in.accepted_id > mine.accepted_id) {
    mine.accepted_id = in.accepted_id;
    mine.accepted_value = *value;
  }
  return true;
}

std::optional<PaxosValue> Paxos::take_value(const PaxosProposal& id, const PaxosValue& in,
                                            Intake& intake) const {
  if (in.empty()) {
    return in;
  }
  if (intake.has_last && intake.last_id == id && intake.last_in.shares(in)) {
    return intake.last_out;
  }
  if (!intake.ours) {
    intake.ours.emplace();
    for (const auto& [name, state] : knowledge_) {
      if (state.has_accepted()) {
        intake.ours->try_emplace(state.accepted_id, state.accepted_value);
      }
    }
  }
  // One proposal carries one value, so a copy of the same names is the norm; a view whose
  // names differ (a faulty peer's) keeps its own copy, and learn() will not count it.
  std::optional<PaxosValue> out;
  auto ours = intake.ours->find(id);
  if (ours != intake.ours->end() && ours->second == in) {
    out = ours->second;
  } else if (value_flaw(in.names()) == nullptr) {
    out = in;
    intake.ours->try_emplace(id, in);
  }
  intake.has_last = true;
  intake.last_id = id;
  intake.last_in = in;
  intake.last_out = out;
  return out;
}

bool Paxos::think() {
  if (observer_) {
    return false;
  }
  // Both fields only grow, and the value changes only with the accepted proposal.
  const PaxosProposal promised_before = own().promised;
  const PaxosProposal accepted_before = own().accepted_id;
  PaxosProposal highest = promised_before;
  for (const auto& [name, state] : knowledge_) {
    highest = std::max(highest, state.promised);
  }
  own().promised = highest;  // promising more is always safe: we only stop accepting less
  ask_for_acceptance();
  accept_promised();
  bool changed = own().promised != promised_before || own().accepted_id != accepted_before;
  if (changed) {
    ++version_;
    learn();
  }
  return changed;
}

void Paxos::ask_for_acceptance() {
  PaxosNodeState& me = own();
  if (me.promised.none() || me.promised.proposer != self_ || me.accepted_id == me.promised ||
      quorum_ == 0) {
    return;  // not our proposal, or its value is already chosen (once, ever)
  }
  unsigned promises = 0;
  const PaxosNodeState* highest = nullptr;
  for (const auto& [name, state] : knowledge_) {
    if (state.promised != me.promised) {
      continue;
    }
    ++promises;
    // What it had accepted when it promised us is at most what we see now, which is below
    // our proposal: the view is a state it had after promising us and before promising more.
    if (state.has_accepted() && (highest == nullptr || state.accepted_id > highest->accepted_id)) {
      highest = &state;
    }
  }
  if (promises < quorum_) {
    return;
  }
  PaxosValue value;
  if (highest != nullptr) {
    value = highest->accepted_value;  // may already be chosen: keep it
  } else {
    std::vector<PeerName> names;
    names.reserve(knowledge_.size());
    for (const auto& [name, state] : knowledge_) {
      names.push_back(name);  // free choice: every elector we know, in order
    }
    value = PaxosValue(std::move(names));
  }
  // Accepting our own proposal is how the request for acceptance travels.
  me.accepted_id = me.promised;
  me.accepted_value = std::move(value);
}

void Paxos::accept_promised() {
  PaxosNodeState& me = own();
  if (me.promised.none() || me.accepted_id == me.promised) {
    return;
  }
  for (const auto& [name, state] : knowledge_) {
    // Whoever accepted the proposal we promised carries the one value its proposer chose.
    if (state.accepted_id == me.promised) {
      me.accepted_id = state.accepted_id;
      me.accepted_value = state.accepted_value;
      return;
    }
  }
}

void Paxos::learn() {
  if (decided_ || quorum_ == 0) {
    return;
  }
  // Each view is a state its elector really had, so a quorum of views that accepted one
  // proposal means a quorum did accept it: the value is chosen, and stays chosen.
  std::map<PaxosProposal, std::pair<unsigned, const PaxosValue*>> acceptances;
  for (const auto& [name, state] : knowledge_) {
    if (!state.has_accepted()) {
      continue;
    }
    auto it = acceptances.try_emplace(state.accepted_id, 0, &state.accepted_value).first;
    // One proposal carries one value; a view saying otherwise is not counted. Views that
    // share a copy compare without looking at the names.
    if (*it->second.second == state.accepted_value && ++it->second.first >= quorum_) {
      decided_ = state.accepted_value.names();
      return;
    }
  }
}

unsigned Paxos::promises_for_us() const {
  const PaxosNodeState& me = persistent();
  if (observer_ || me.promised.proposer != self_) {
    return 0;
  }
  unsigned n = 0;
  for (const auto& [name, state] : knowledge_) {
    n += state.promised == me.promised ? 1 : 0;
  }
  return n;
}

Status Paxos::validate(const PaxosNodeState& state) {
  const char* flaw = state_flaw(state);
  if (flaw == nullptr) {
    return Status();
  }
  return Status::invalid_argument("paxos state (promised " + std::to_string(state.promised.round) +
                                  "/" + state.promised.proposer.to_string() + ", accepted " +
                                  std::to_string(state.accepted_id.round) + "/" +
                                  state.accepted_id.proposer.to_string() + ") has " + flaw);
}

}  // namespace wipam::ring
