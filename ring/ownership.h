// Ownership: how this peer's share of the ring changes once it has a ring. Rings from peers
// are merged in (ranges gained go into the space, ranges lost are given up with the
// reservations that go with them); rmpeer takes a gone peer's ranges over; and a ring created
// apart from ours, which never merges, is recorded as a ring conflict until it ends. Owned by
// the allocator; loop-confined.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ring/allocator_context.h"
#include "ring/bootstrap.h"
#include "ring/commands.h"
#include "ring/messages.h"
#include "ring/reservations.h"

namespace wipam::ring {

class Ownership {
 public:
  // `changed` runs after anything that may let a deferred command finish (or fail).
  Ownership(AllocatorContext& ctx, Bootstrap& bootstrap, Reservations& reservations,
            std::function<void()> changed)
      : ctx_(ctx),
        bootstrap_(bootstrap),
        reservations_(reservations),
        changed_(std::move(changed)) {}

  // Merges a peer's ring into ours; answers with ours if `reply_if_behind` and it differs.
  void on_ring(PeerName from, const RingUpdate& m, bool reply_if_behind);
  // Records or renews a conflict with `peer`, whose ring has seeds `theirs` (empty if
  // unknown); nothing while we have no seeds of our own.
  void conflict_with(const PeerIdentity& peer, std::vector<PeerName> theirs);
  // `peer` is up: a conflict with another incarnation of it ends.
  void peer_up(const PeerIdentity& peer);
  // Conflicts not seen for the configured memory end.
  void expire_conflicts();
  // rmpeer: takes over every range of a peer that is gone; false if refused.
  bool remove_peer(RequestId id, const RemovePeerCommand& c);

 private:
  void apply(const MergeOutcome& outcome);
  void end_conflict(const RingConflict& c, const std::string& why);

  AllocatorContext& ctx_;
  Bootstrap& bootstrap_;
  Reservations& reservations_;
  std::function<void()> changed_;
};

}  // namespace wipam::ring
