// The allocator: one peer's address manager as a deterministic state machine.
//
// Everything that happens to a peer arrives as a call: a command from a local client, a
// message from another peer, a peer coming or going, a timer tick. Each call returns
// Effects: store writes, messages to send and replies to commands (possibly to commands
// deferred earlier). The shell (driver/ in the daemon, tests/sim in the simulation) must
// make the writes durable before it sends the messages and replies of the same Effects, and
// must release Effects in the order they were returned. Time arrives only as `now`.
// Loop-confined: one thread calls it; it does no I/O, reads no clock and holds no lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "ring/address.h"
#include "ring/messages.h"
#include "ring/paxos.h"
#include "ring/peer_name.h"
#include "ring/ring.h"
#include "ring/ring_conflicts.h"
#include "ring/space.h"
#include "ring/status.h"

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
  Millis op_deadline{15000};          // a deferred command fails after this long
  Millis donor_timeout{2000};         // a space request unanswered this long goes elsewhere
  Millis gossip_interval{10000};      // whole-ring anti-entropy
  Millis propose_interval{3000};      // consensus re-proposal while waiting
  Millis free_report_interval{5000};  // refresh of our free-space hints in the ring
  // A ring conflict (ring_conflicts.h) no peer renewed for this long ends.
  Millis conflict_memory{15 * 60 * 1000};
};

// ---- Commands ------------------------------------------------------------------------

using RequestId = std::uint64_t;

// An address in `subnet` (never its network or broadcast address), inside `within` when
// given. Idempotent: an owner that already holds an address there gets it again. An empty
// owner stands for "anonymous": the allocation is recorded under its address's text.
struct AllocateCommand {
  std::string owner;
  Cidr subnet;
  std::optional<Range> within;
};
// Exactly `address` for `owner` (the prefix of `address` is recorded with it).
struct ClaimCommand {
  std::string owner;
  Cidr address;
};
// Frees `address`; when `owner` is given only if it still holds it. Idempotent.
struct ReleaseCommand {
  Address address;
  std::optional<std::string> owner;
};
// Frees every address of `owner`. Idempotent.
struct ReleaseOwnerCommand {
  std::string owner;
};
// Re-records `address` under `owner` (e.g. the container the events stream shows holding
// an address Docker's plugin call allocated anonymously).
struct BindCommand {
  Address address;
  std::string owner;
};
struct LookupCommand {
  std::string owner;
};
// Completes once this peer has a ring and so can allocate.
struct PrimeCommand {};
// Takes over every range of `peer` (rmpeer). Refused for a reachable peer unless forced.
struct RemovePeerCommand {
  PeerName peer;
  bool force = false;
};

using Command = std::variant<AllocateCommand, ClaimCommand, ReleaseCommand, ReleaseOwnerCommand,
                             BindCommand, LookupCommand, PrimeCommand, RemovePeerCommand>;

// ---- Effects -------------------------------------------------------------------------

struct Reply {
  RequestId id = 0;
  Status status;                // OK, or why not (the text clients see)
  std::vector<Cidr> addresses;  // allocate/claim: the address; lookup/release-owner: all
  std::string text;             // remove-peer: what was taken over
};

enum class Delivery { kBroadcast, kUnicast, kGossip };

struct OutgoingMessage {
  Delivery delivery = Delivery::kBroadcast;
  PeerName to;  // for kUnicast
  PeerMessage message;
};

struct StoreWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

enum class EventLevel { kDebug, kInfo, kWarn, kError };
// Something the shell should log and count; the core itself never logs.
struct Event {
  EventLevel level = EventLevel::kInfo;
  std::string what;  // short kind: "donated", "conflict", "consensus", ...
  std::string message;
};

struct Effects {
  std::vector<StoreWrite> writes;
  std::vector<OutgoingMessage> messages;
  std::vector<Reply> replies;
  std::vector<Event> events;
  // Peers seen in this step with a ring created apart from ours (new or again): the shell
  // stops linking with them (the daemon: Mesh::refuse_peer).
  std::vector<RingConflict> ring_conflicts;

  bool empty() const { return writes.empty() && messages.empty() && replies.empty(); }
};

// ---- Status --------------------------------------------------------------------------

enum class ConsensusState { kDeferred, kWaiting, kAchieved };

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

// ---- The allocator ---------------------------------------------------------------------

class Allocator {
 public:
  // The store's content at start-up: every key the allocator wrote (keys begin "a/", "m/").
  using Stored = std::map<std::string, std::string>;

  explicit Allocator(AllocatorConfig config);
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;
  ~Allocator();

  // Restores state from the store (empty on a first start) and initialises the ring in seed
  // mode. Fails with kCorruption naming the bad key if the store is not well formed, and
  // with kFailedPrecondition if it holds state for another allocation range or peer name;
  // then nothing else may be called. It never deletes a stored key.
  Result<Effects> start(Millis now, const Stored& stored);

  Effects command(Millis now, RequestId id, const Command& command);
  // A peer's message as received (decoded here; undecodable bytes become a warning event).
  Effects message(Millis now, PeerName from, std::span<const std::uint8_t> payload);
  // A peer's message the shell has decoded already (to refuse bad bytes before relaying).
  Effects message(Millis now, PeerName from, const PeerMessage& decoded);
  Effects peer_up(Millis now, const PeerIdentity& peer);
  Effects peer_down(Millis now, PeerName peer);
  // The shell refused a link with `peer` because its ring, with seeds `theirs` (empty if
  // unknown), was created apart from ours. Records or renews the conflict.
  Effects ring_conflict(Millis now, const PeerIdentity& peer, std::vector<PeerName> theirs);
  Effects tick(Millis now);
  // Fails every deferred command with "shutting down"; later commands fail at once.
  Effects shutdown(Millis now);

  // ---- Read-only views (for status pages and checkers) ----
  StatusReport status() const;
  const Ring& ring() const;
  const Space& space() const;
  // Every address held on this peer, with its owner.
  const std::map<Address, std::string>& allocations() const;
  std::vector<Cidr> lookup(const std::string& owner) const;
  bool reachable(PeerName peer) const;
  std::size_t pending_count() const;
  // OK iff the space, the ring and the allocation records agree (checked after every step
  // in sanitizer builds, and by the simulation's checkers).
  Status check_invariants() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Store keys, exposed for tests and the store documentation.
std::string allocation_key(const Address& address);  // "a/<33 hex digits>"
inline constexpr const char* kRingKey = "m/ring";
inline constexpr const char* kIdentityKey = "m/identity";
inline constexpr const char* kPaxosKey = "m/paxos";
inline constexpr const char* kUniverseKey = "m/universe";

}  // namespace wipam::ring
