// Paxos: the one-off consensus that decides which peers the ring is first split among.
//
// Single-decree Paxos spread by gossip: each elector keeps what it knows of every elector's
// state (its highest promise and its accepted proposal), sends all of it, merges what it
// receives and then "thinks" (promises, asks for acceptance, accepts, learns). The decided
// value is a sorted list of peer names, held once per proposal however many electors accepted
// it. An elector's own state is persisted by the caller before any gossip that reflects it is
// sent, so a restart never unsays a promise; observers never vote. Owned by the allocator;
// loop-confined (not thread-safe).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::ring {

// Limits that keep a hostile peer from making us allocate without bound. Rounds stop well
// short of overflow; a cluster of more electors than this cannot create its ring by consensus.
inline constexpr std::size_t kMaxPaxosNodes = 1024;
inline constexpr std::uint64_t kMaxPaxosRound = std::uint64_t{1} << 62;

// A proposal number, unique per proposer and ordered by (round, proposer). Round 0 is "none".
struct PaxosProposal {
  std::uint64_t round = 0;
  PeerName proposer;

  bool none() const { return round == 0; }
  friend auto operator<=>(const PaxosProposal&, const PaxosProposal&) = default;
};

// A proposal's value: a list of peer names, immutable and shared, so that copying a state
// copies no names and the views of one proposal hold one copy of its value. Compares by
// the names. Safe to share between threads.
class PaxosValue {
 public:
  PaxosValue() = default;  // no names
  // Implicit: a value is its names.
  PaxosValue(std::vector<PeerName> names);  // NOLINT(google-explicit-constructor)

  const std::vector<PeerName>& names() const;
  bool empty() const { return names_ == nullptr; }
  std::size_t size() const { return names().size(); }
  // True iff both hold the same copy, which makes them equal without comparing names.
  bool shares(const PaxosValue& other) const { return names_ == other.names_; }

  friend bool operator==(const PaxosValue& a, const PaxosValue& b) {
    return a.shares(b) || a.names() == b.names();
  }

 private:
  std::shared_ptr<const std::vector<PeerName>> names_;  // null iff no names
};

// What one elector has said: the highest proposal it promised, and the proposal it accepted
// last with that proposal's value. Both only ever grow, and accepted_id <= promised.
struct PaxosNodeState {
  PaxosProposal promised;
  PaxosProposal accepted_id;  // none() iff nothing accepted
  PaxosValue accepted_value;  // sorted, unique; empty iff nothing accepted

  bool has_accepted() const { return !accepted_id.none(); }
  friend bool operator==(const PaxosNodeState&, const PaxosNodeState&) = default;
};

// What an elector must persist before sending gossip: its own state, nothing else.
using PaxosPersistent = PaxosNodeState;

// Everything one peer knows of the electors' states; the whole map is the message.
struct PaxosGossip {
  std::map<PeerName, PaxosNodeState> nodes;
  friend bool operator==(const PaxosGossip&, const PaxosGossip&) = default;
};

// One participant. Drive it like this: propose(), or merge() received gossip and, if that
// returned true, think(); then, if persistent_version() moved, write persistent() to the store
// and only after that send gossip() (if propose() ran or merge() returned true) to some or all
// of the others; then act on consensus(). Agreement then survives any loss, duplication,
// reordering, partition and restart from the store; progress needs each change to reach, in
// the end, every elector, directly or through others. It does not survive a quorum below a
// majority of the electors, nor an elector that lost its store coming back under the same
// name mid-election (Weave's W-40).
class Paxos {
 public:
  // An elector named `self` that needs `quorum` electors to accept one proposal, resuming
  // from the state it persisted before a restart. A quorum of 0 never decides.
  // REQUIRES: !self.unknown() and `restored` is valid (as decode_persistent() returns).
  Paxos(PeerName self, unsigned quorum, const PaxosPersistent& restored = {});
  // A participant that never votes or proposes but merges gossip it hears, so that it
  // recognises a decision made with `quorum`.
  static Paxos observer(PeerName self, unsigned quorum);

  Paxos(const Paxos&) = delete;
  Paxos& operator=(const Paxos&) = delete;
  Paxos(Paxos&&) = default;
  Paxos& operator=(Paxos&&) = default;

  // Starts a proposal numbered above every one seen and thinks; true iff it did (false for an
  // observer, or once rounds ran out). Our own state always changes, so persist and broadcast.
  bool propose();
  // Merges what `in` says of every elector into our knowledge, keeping the higher promise and
  // the higher acceptance of each; true iff our knowledge changed. Invalid entries are skipped.
  bool merge(const PaxosGossip& in);
  // Advances the protocol from our knowledge: adopt the highest promise, ask for acceptance
  // once a quorum promised our proposal, accept what we promised. True iff our own state
  // changed (persist it, then broadcast). Always false for an observer.
  bool think();

  // The decided value, sorted, once we have seen a quorum accept one proposal; it never
  // changes after that. It may rest on our own acceptance by the last think(), so act on it
  // (create the ring) only after persisting persistent().
  const std::optional<std::vector<PeerName>>& consensus() const { return decided_; }
  // Everything we know, to broadcast.
  PaxosGossip gossip() const { return PaxosGossip{knowledge_}; }
  // Our own state; empty for an observer.
  const PaxosPersistent& persistent() const;
  // Grows iff persistent() changed; the caller persists when it differs from what it stored.
  std::uint64_t persistent_version() const { return version_; }

  PeerName self() const { return self_; }
  bool is_observer() const { return observer_; }
  unsigned quorum() const { return quorum_; }
  // Electors we know of, ourselves included.
  unsigned known_nodes() const { return static_cast<unsigned>(knowledge_.size()); }
  // Electors known to have promised our current proposal (0 if we are not proposing).
  unsigned promises_for_us() const;

  // CBOR encodings (ring/MESSAGES.md). Gossip holds each distinct value once, so it is
  // O(electors + values x names), not O(electors x names). Decoding treats its input as
  // hostile and refuses anything malformed (out-of-order or duplicate names, bad proposals,
  // references to values it does not hold, oversized lists) with kCorruption.
  static std::vector<std::uint8_t> encode(const PaxosGossip& gossip);
  static Result<PaxosGossip> decode(std::span<const std::uint8_t> bytes);
  static std::vector<std::uint8_t> encode_persistent(const PaxosPersistent& state);
  static Result<PaxosPersistent> decode_persistent(std::span<const std::uint8_t> bytes);

  // OK iff `state` keeps the invariants of PaxosNodeState and the limits above.
  static Status validate(const PaxosNodeState& state);

 private:
  struct ObserverTag {};
  Paxos(PeerName self, unsigned quorum, ObserverTag);

  PaxosNodeState& own();
  using Knowledge = std::map<PeerName, PaxosNodeState>;
  // What one merge() needs to keep one copy of each value: the copies our views hold, by
  // proposal, indexed on first use; and the last value taken in, since a message's views
  // share few values.
  struct Intake {
    std::optional<std::map<PaxosProposal, PaxosValue>> ours;
    bool has_last = false;
    PaxosProposal last_id;
    PaxosValue last_in;
    std::optional<PaxosValue> last_out;
  };
  // Merges `in`, the state of `name`; `at` is where `name` is or would go, and is left there.
  bool merge_node(Knowledge::iterator& at, PeerName name, const PaxosNodeState& in, Intake& intake);
  // `in`, the value a view gives proposal `id`, as we keep it: the copy our views already hold
  // when the names match, else `in` itself; nullopt if it is not a sorted list of distinct
  // names within the limit.
  std::optional<PaxosValue> take_value(const PaxosProposal& id, const PaxosValue& in,
                                       Intake& intake) const;
  void ask_for_acceptance();
  void accept_promised();
  void learn();

  PeerName self_;
  unsigned quorum_ = 0;
  bool observer_ = false;
  Knowledge knowledge_;  // holds self_ iff an elector
  std::uint64_t version_ = 0;
  std::optional<std::vector<PeerName>> decided_;
};

}  // namespace wipam::ring
