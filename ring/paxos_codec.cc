// Paxos's wire and store codec: the gossip and persisted formats (described below), and
// their bounded decoders. The protocol itself is in paxos.cc.
#include <algorithm>
#include <iterator>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ring/cbor.h"
#include "ring/messages.h"
#include "ring/paxos.h"
#include "ring/paxos_checks.h"

namespace wipam::ring {
namespace {

using nlohmann::json;
using paxos_checks::shape_flaw;
using paxos_checks::value_flaw;

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
