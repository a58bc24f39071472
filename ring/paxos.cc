#include "ring/paxos.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ring/cbor.h"
#include "ring/messages.h"

namespace wipam::ring {
namespace {

using nlohmann::json;

// Gossip is [kGossipFormat, [[value, ...], [entry, ...]]]: each distinct value once, as a list
// of names, then one entry per elector, names strictly ascending, an entry being
// [name, promised round, promised proposer, accepted round, accepted proposer, value index]
// with a null index iff nothing was accepted. Every value is referred to. The persisted
// record is [kPersistentFormat, state], a state being
// [promised round, promised proposer, accepted round, accepted proposer, [value names]].
// Names are their 48-bit values; a proposal with round 0 has proposer 0.
constexpr std::uint64_t kGossipFormat = 2;
constexpr std::uint64_t kPersistentFormat = 1;

json encode_names(const PaxosValue& value) {
  json names = json::array();
  for (PeerName name : value.names()) {
    names.push_back(name.value());
  }
  return names;
}

json encode_state(const PaxosNodeState& s) {
  return json::array({s.promised.round, s.promised.proposer.value(), s.accepted_id.round,
                      s.accepted_id.proposer.value(), encode_names(s.accepted_value)});
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

// Decodes a list of names; value_flaw() is for the caller to check.
Result<PaxosValue> decode_names(const json& j) {
  if (!j.is_array() || j.size() > kMaxPaxosNodes) {
    return Status::corruption("paxos value is not a bounded list of names");
  }
  std::vector<PeerName> names;
  names.reserve(j.size());
  for (const json& item : j) {
    Result<PeerName> name = decode_name(item, /*allow_unknown=*/false);
    WIPAM_RETURN_IF_ERROR(name.status());
    names.push_back(*name);
  }
  return PaxosValue(std::move(names));
}

// Decodes and validates one state.
Result<PaxosNodeState> decode_state(const json& j) {
  if (!j.is_array() || j.size() != 5) {
    return Status::corruption("paxos state is not [round, proposer, round, proposer, names]");
  }
  Result<PaxosProposal> promised = decode_proposal(j[0], j[1]);
  WIPAM_RETURN_IF_ERROR(promised.status());
  Result<PaxosProposal> accepted = decode_proposal(j[2], j[3]);
  WIPAM_RETURN_IF_ERROR(accepted.status());
  Result<PaxosValue> value = decode_names(j[4]);
  WIPAM_RETURN_IF_ERROR(value.status());
  PaxosNodeState state{*promised, *accepted, std::move(*value)};
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

// Decodes one gossip entry, whose value index refers to `values` (each already checked).
Result<std::pair<PeerName, PaxosNodeState>> decode_entry(const json& j,
                                                         const std::vector<PaxosValue>& values) {
  if (!j.is_array() || j.size() != 6) {
    return Status::corruption(
        "paxos gossip entry is not [name, round, proposer, round, proposer, value index]");
  }
  Result<PeerName> name = decode_name(j[0], /*allow_unknown=*/false);
  WIPAM_RETURN_IF_ERROR(name.status());
  Result<PaxosProposal> promised = decode_proposal(j[1], j[2]);
  Result<PaxosProposal> accepted = decode_proposal(j[3], j[4]);
  Status proposals = !promised.ok() ? promised.status() : accepted.status();
  if (!proposals.ok()) {
    return proposals.with_context("elector " + name->to_string());
  }
  PaxosNodeState state{*promised, *accepted, {}};
  if (!j[5].is_null()) {
    if (!j[5].is_number_unsigned() || j[5].get<std::uint64_t>() >= values.size()) {
      return Status::corruption("paxos gossip entry for elector " + name->to_string() +
                                " refers to a value it does not carry");
    }
    state.accepted_value = values[j[5].get<std::size_t>()];
  }
  if (const char* flaw = shape_flaw(state)) {
    return Status::corruption("paxos state of elector " + name->to_string() + " has " + flaw);
  }
  return std::make_pair(*name, std::move(state));
}

// Gossip holds up to kMaxPaxosNodes values of up to kMaxPaxosNodes names, and an entry of 7
// items per elector; the persisted record one state of 5 fields and its value's names. No
// list of either is longer than kMaxPaxosNodes.
constexpr CborLimits kGossipCborLimits{kMaxMessageBytes, kMaxCborDepth, kMaxPaxosNodes,
                                       (kMaxPaxosNodes + 8) * kMaxPaxosNodes + 16};
constexpr CborLimits kPersistentCborLimits{kMaxMessageBytes, kMaxCborDepth, kMaxPaxosNodes,
                                           kMaxPaxosNodes + 16};

// Where `bytes` hold one [format, body] pair with the expected format, the body.
Result<json> open_record(std::span<const std::uint8_t> bytes, std::uint64_t format,
                         const CborLimits& limits, const char* what) {
  if (bytes.size() > kMaxMessageBytes) {
    return Status::corruption(std::string(what) + " of " + std::to_string(bytes.size()) +
                              " bytes exceeds the limit");
  }
  Result<json> parsed = parse_cbor(bytes, limits);
  if (!parsed.ok()) {
    return parsed.status().with_context(std::string(what) + " refused");
  }
  if (!parsed->is_array() || parsed->size() != 2 || !(*parsed)[0].is_number_unsigned()) {
    return Status::corruption(std::string(what) + " is not a [format, body] CBOR pair");
  }
  if ((*parsed)[0].get<std::uint64_t>() != format) {
    return Status::corruption(std::string(what) + " has unknown format " +
                              std::to_string((*parsed)[0].get<std::uint64_t>()));
  }
  return std::move((*parsed)[1]);
}

}  // namespace

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

std::vector<std::uint8_t> Paxos::encode(const PaxosGossip& gossip) {
  json values = json::array();
  json entries = json::array();
  // Indexes into `values`, by proposal: its views nearly always share one copy of one value.
  std::map<PaxosProposal, std::vector<std::pair<const PaxosValue*, std::size_t>>> held;
  for (const auto& [name, s] : gossip.nodes) {
    json index = nullptr;
    if (!s.accepted_value.empty()) {
      auto& candidates = held[s.accepted_id];
      // Clang 14 cannot capture a structured binding: name the value for the lambda.
      const PaxosValue& value = s.accepted_value;
      auto same = std::find_if(candidates.begin(), candidates.end(),
                               [&](const auto& c) { return *c.first == value; });
      if (same == candidates.end()) {
        candidates.emplace_back(&s.accepted_value, values.size());
        values.push_back(encode_names(s.accepted_value));
        same = std::prev(candidates.end());
      }
      index = same->second;
    }
    entries.push_back(
        json::array({name.value(), s.promised.round, s.promised.proposer.value(),
                     s.accepted_id.round, s.accepted_id.proposer.value(), std::move(index)}));
  }
  return json::to_cbor(
      json::array({kGossipFormat, json::array({std::move(values), std::move(entries)})}));
}

Result<PaxosGossip> Paxos::decode(std::span<const std::uint8_t> bytes) {
  Result<json> body = open_record(bytes, kGossipFormat, kGossipCborLimits, "paxos gossip");
  WIPAM_RETURN_IF_ERROR(body.status());
  if (!body->is_array() || body->size() != 2 || !(*body)[0].is_array() || !(*body)[1].is_array() ||
      (*body)[0].size() > kMaxPaxosNodes || (*body)[1].size() > kMaxPaxosNodes) {
    return Status::corruption("paxos gossip is not [values, electors], two bounded lists");
  }
  std::vector<PaxosValue> values;
  values.reserve((*body)[0].size());
  for (const json& j : (*body)[0]) {
    Result<PaxosValue> value = decode_names(j);
    WIPAM_RETURN_IF_ERROR(value.status());
    if (const char* flaw = value_flaw(value->names())) {
      return Status::corruption(std::string("paxos gossip carries ") + flaw);
    }
    values.push_back(std::move(*value));
  }
  std::vector<bool> referred(values.size(), false);
  PaxosGossip gossip;
  for (const json& entry : (*body)[1]) {
    Result<std::pair<PeerName, PaxosNodeState>> node = decode_entry(entry, values);
    WIPAM_RETURN_IF_ERROR(node.status());
    auto [name, state] = std::move(*node);
    if (!gossip.nodes.empty() && !(gossip.nodes.rbegin()->first < name)) {
      return Status::corruption("paxos gossip names elector " + name.to_string() +
                                " out of order or twice");
    }
    if (state.has_accepted()) {
      referred[entry[5].get<std::size_t>()] = true;  // an index decode_entry() checked
    }
    gossip.nodes.emplace_hint(gossip.nodes.end(), name, std::move(state));
  }
  if (std::find(referred.begin(), referred.end(), false) != referred.end()) {
    return Status::corruption("paxos gossip carries a value no elector accepted");
  }
  return gossip;
}

std::vector<std::uint8_t> Paxos::encode_persistent(const PaxosPersistent& state) {
  return json::to_cbor(json::array({kPersistentFormat, encode_state(state)}));
}

Result<PaxosPersistent> Paxos::decode_persistent(std::span<const std::uint8_t> bytes) {
  Result<json> body =
      open_record(bytes, kPersistentFormat, kPersistentCborLimits, "persisted paxos state");
  WIPAM_RETURN_IF_ERROR(body.status());
  return decode_state(*body);
}

}  // namespace wipam::ring
