#include "ring/paxos.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ring/cbor.h"
#include "ring/messages.h"

namespace wipam::ring {
namespace {

using nlohmann::json;

// Gossip is [kGossipFormat, [[name, state], ...]] with names strictly ascending; the
// persisted record is [kPersistentFormat, state]; a state is
// [promised round, promised proposer, accepted round, accepted proposer, [value names]].
// Names are their 48-bit values; a proposal with round 0 has proposer 0.
constexpr std::uint64_t kGossipFormat = 1;
constexpr std::uint64_t kPersistentFormat = 1;

json encode_state(const PaxosNodeState& s) {
  json value = json::array();
  for (PeerName name : s.accepted_value) {
    value.push_back(name.value());
  }
  return json::array({s.promised.round, s.promised.proposer.value(), s.accepted_id.round,
                      s.accepted_id.proposer.value(), std::move(value)});
}

// A name, which may be the unknown (zero) name only where `allow_unknown`.
Result<PeerName> decode_name(const json& j, bool allow_unknown) {
  if (!j.is_number_unsigned()) {
    return Status::corruption("peer name is not an unsigned integer");
  }
  auto v = j.get<std::uint64_t>();
  if (v > PeerName::kMask || (v == 0 && !allow_unknown)) {
    return Status::corruption("peer name " + std::to_string(v) + " is out of range");
  }
  return PeerName(v);
}

Result<PaxosProposal> decode_proposal(const json& round, const json& proposer) {
  if (!round.is_number_unsigned()) {
    return Status::corruption("proposal round is not an unsigned integer");
  }
  Result<PeerName> name = decode_name(proposer, /*allow_unknown=*/true);
  if (!name.ok()) {
    return name.status();
  }
  return PaxosProposal{round.get<std::uint64_t>(), *name};
}

// Decodes and validates one state.
Result<PaxosNodeState> decode_state(const json& j) {
  if (!j.is_array() || j.size() != 5 || !j[4].is_array() || j[4].size() > kMaxPaxosNodes) {
    return Status::corruption("paxos state is not [round, proposer, round, proposer, names]");
  }
  Result<PaxosProposal> promised = decode_proposal(j[0], j[1]);
  WIPAM_RETURN_IF_ERROR(promised.status());
  Result<PaxosProposal> accepted = decode_proposal(j[2], j[3]);
  WIPAM_RETURN_IF_ERROR(accepted.status());
  PaxosNodeState state{*promised, *accepted, {}};
  state.accepted_value.reserve(j[4].size());
  for (const json& item : j[4]) {
    Result<PeerName> name = decode_name(item, /*allow_unknown=*/false);
    WIPAM_RETURN_IF_ERROR(name.status());
    state.accepted_value.push_back(*name);
  }
  Status valid = Paxos::validate(state);
  if (!valid.ok()) {
    return Status::corruption(valid.message());
  }
  return state;
}

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

// Why `state` breaks the invariants of PaxosNodeState, or nullptr if it keeps them. Cheap and
// allocation-free: merge() runs it on every entry it receives.
const char* state_flaw(const PaxosNodeState& state) {
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
  if (state.accepted_value.size() > kMaxPaxosNodes) {
    return "a value of more names than the limit";
  }
  for (std::size_t i = 0; i < state.accepted_value.size(); ++i) {
    if (state.accepted_value[i].unknown() ||
        (i > 0 && !(state.accepted_value[i - 1] < state.accepted_value[i]))) {
      return "a value that is not a sorted list of distinct names";
    }
  }
  return nullptr;
}

// Where `bytes` hold one [format, body] pair with the expected format, the body.
Result<json> open_record(std::span<const std::uint8_t> bytes, std::uint64_t format,
                         const char* what) {
  if (bytes.size() > kMaxMessageBytes) {
    return Status::corruption(std::string(what) + " of " + std::to_string(bytes.size()) +
                              " bytes exceeds the limit");
  }
  std::optional<json> parsed = parse_cbor(bytes);
  if (!parsed || !parsed->is_array() || parsed->size() != 2 || !(*parsed)[0].is_number_unsigned()) {
    return Status::corruption(std::string(what) + " is not a [format, body] CBOR pair");
  }
  if ((*parsed)[0].get<std::uint64_t>() != format) {
    return Status::corruption(std::string(what) + " has unknown format " +
                              std::to_string((*parsed)[0].get<std::uint64_t>()));
  }
  return std::move((*parsed)[1]);
}

}  // namespace

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
  auto at = knowledge_.begin();  // both maps are sorted by name: walk them together
  for (const auto& [name, state] : in.nodes) {
    while (at != knowledge_.end() && at->first < name) {
      ++at;
    }
    if (name.unknown() || (observer_ && name == self_)) {
      continue;
    }
    if (merge_node(at, name, state)) {
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

bool Paxos::merge_node(Knowledge::iterator& at, PeerName name, const PaxosNodeState& in) {
  bool known = at != knowledge_.end() && at->first == name;
  bool news =
      !known || in.promised > at->second.promised || in.accepted_id > at->second.accepted_id;
  if (!news || state_flaw(in) != nullptr) {
    return false;  // checked only when it would teach us something: most gossip does not
  }
  if (!known) {
    if (knowledge_.size() >= kMaxPaxosNodes) {
      return false;
    }
    at = knowledge_.emplace_hint(at, name, in);
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
    mine.accepted_value = in.accepted_value;
  }
  return true;
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
  std::vector<PeerName> value;
  if (highest != nullptr) {
    value = highest->accepted_value;  // may already be chosen: keep it
  } else {
    for (const auto& [name, state] : knowledge_) {
      value.push_back(name);  // free choice: every elector we know, in order
    }
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
  std::map<PaxosProposal, std::pair<unsigned, const std::vector<PeerName>*>> acceptances;
  for (const auto& [name, state] : knowledge_) {
    if (!state.has_accepted()) {
      continue;
    }
    auto it = acceptances.try_emplace(state.accepted_id, 0, &state.accepted_value).first;
    // One proposal carries one value; a view saying otherwise is not counted.
    if (*it->second.second == state.accepted_value && ++it->second.first >= quorum_) {
      decided_ = state.accepted_value;
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

std::vector<std::uint8_t> Paxos::encode(const PaxosGossip& gossip) {
  json nodes = json::array();
  for (const auto& [name, state] : gossip.nodes) {
    nodes.push_back(json::array({name.value(), encode_state(state)}));
  }
  return json::to_cbor(json::array({kGossipFormat, std::move(nodes)}));
}

Result<PaxosGossip> Paxos::decode(std::span<const std::uint8_t> bytes) {
  Result<json> body = open_record(bytes, kGossipFormat, "paxos gossip");
  WIPAM_RETURN_IF_ERROR(body.status());
  if (!body->is_array() || body->size() > kMaxPaxosNodes) {
    return Status::corruption("paxos gossip is not a bounded list of electors");
  }
  PaxosGossip gossip;
  for (const json& entry : *body) {
    if (!entry.is_array() || entry.size() != 2) {
      return Status::corruption("paxos gossip entry is not a [name, state] pair");
    }
    Result<PeerName> name = decode_name(entry[0], /*allow_unknown=*/false);
    WIPAM_RETURN_IF_ERROR(name.status());
    if (!gossip.nodes.empty() && !(gossip.nodes.rbegin()->first < *name)) {
      return Status::corruption("paxos gossip names elector " + name->to_string() +
                                " out of order or twice");
    }
    Result<PaxosNodeState> state = decode_state(entry[1]);
    if (!state.ok()) {
      return state.status().with_context("elector " + name->to_string());
    }
    gossip.nodes.emplace_hint(gossip.nodes.end(), *name, std::move(*state));
  }
  return gossip;
}

std::vector<std::uint8_t> Paxos::encode_persistent(const PaxosPersistent& state) {
  return json::to_cbor(json::array({kPersistentFormat, encode_state(state)}));
}

Result<PaxosPersistent> Paxos::decode_persistent(std::span<const std::uint8_t> bytes) {
  Result<json> body = open_record(bytes, kPersistentFormat, "persisted paxos state");
  WIPAM_RETURN_IF_ERROR(body.status());
  return decode_state(*body);
}

}  // namespace wipam::ring
