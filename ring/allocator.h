// The allocator: one peer's address manager as a deterministic state machine.
//
// Everything that happens to a peer arrives as a call: a command from a local client, a
// message from another peer, a peer coming or going, a timer tick. Each call returns
// Effects: store writes, messages to send and replies to commands (possibly to commands
// deferred earlier). The shell (driver/ in the daemon, tests/sim in the simulation) must
// make the writes durable before it sends the messages and replies of the same Effects, and
// must release Effects in the order they were returned. Time arrives only as `now`.
// Loop-confined: one thread calls it; it does no I/O, reads no clock and holds no lock.
//
// This is the façade: each call is dispatched to the part that owns the concern, listed in
// allocator.cc, and its Effects are finished here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/allocator_config.h"
#include "ring/allocator_status.h"
#include "ring/commands.h"
#include "ring/effects.h"
#include "ring/messages.h"
#include "ring/peer_name.h"
#include "ring/ring.h"
#include "ring/ring_conflicts.h"
#include "ring/space.h"
#include "ring/status.h"
#include "ring/store_records.h"

namespace wipam::ring {

class Allocator {
 public:
  // The store's content at start-up: every key the allocator wrote (keys begin "a/", "m/").
  using Stored = ::wipam::ring::Stored;

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
  // The shares-notice we send: the shared addresses of our space and their other holders.
  SharesNotice shares_notice() const;
  // The last shares-notice `peer` sent us, or null.
  const SharesNotice* shares_heard_from(PeerName peer) const;
  bool reachable(PeerName peer) const;
  std::size_t pending_count() const;
  // OK iff the space, the ring and the allocation records agree (checked after every step
  // in sanitizer builds, and by the simulation's checkers).
  Status check_invariants() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace wipam::ring
