#include "ring/ownership.h"

#include <optional>
#include <utility>

namespace wipam::ring {

void Ownership::on_ring(PeerName from, const RingUpdate& m, bool reply_if_behind) {
  Result<Ring> incoming = Ring::decode(m.ring, ctx_.self());
  if (!incoming.ok()) {
    ctx_.out.event(EventLevel::kWarn, EventKind::kBadMessage,
                   "ring from " + ctx_.nick(from) + " refused: " + incoming.status().message());
    return;
  }
  const Ring& ring = ctx_.ring;
  if (incoming->universe() == ring.universe() && !ring.seeds().empty() &&
      !incoming->seeds().empty() && ring.seeds() != incoming->seeds()) {
    auto nickname = ctx_.nicknames.find(from);
    conflict_with({from, nickname == ctx_.nicknames.end() ? "" : nickname->second, 0},
                  incoming->seeds());
    return;
  }
  bool was_empty = ring.empty();
  Result<MergeOutcome> outcome = ctx_.ring.merge(*incoming);
  if (!outcome.ok()) {
    ctx_.report_conflict(EventKind::kRingConflict, "ring from " + ctx_.nick(from) +
                                                       " refused: " + outcome.status().message());
    return;
  }
  if (outcome->changed) {
    if (was_empty) {
      bootstrap_.ring_received();
      ctx_.out.event(EventLevel::kInfo, EventKind::kRingReceived,
                     "ring received from " + ctx_.nick(from));
    }
    apply(*outcome);
    reservations_.ring_changed();
    ctx_.persist_ring();
    changed_();
  }
  if (reply_if_behind && !(ring == *incoming)) {
    ctx_.send_ring(from);
  }
}

void Ownership::conflict_with(const PeerIdentity& peer, std::vector<PeerName> theirs) {
  if (ctx_.ring.seeds().empty()) {
    return;  // no ring of ours (or one from before seeds were kept): nothing to be apart from
  }
  bool added = ctx_.ring_conflicts.record(ctx_.now, peer, ctx_.ring.seeds(), std::move(theirs));
  const RingConflict& c = *ctx_.ring_conflicts.find(peer.name);
  ctx_.out.ring_conflict(c);
  if (added) {
    ctx_.out.event(EventLevel::kError, EventKind::kRingConflict, c.message());
    changed_();  // what waits now fails with the reason
  }
}

void Ownership::peer_up(const PeerIdentity& peer) {
  if (std::optional<RingConflict> ended = ctx_.ring_conflicts.peer_up(peer)) {
    end_conflict(*ended, "it is back as another incarnation");
  }
}

void Ownership::expire_conflicts() {
  for (const RingConflict& ended : ctx_.ring_conflicts.expire(ctx_.now)) {
    end_conflict(ended, "not seen for " + millis_text(ctx_.config.conflict_memory));
  }
}

void Ownership::end_conflict(const RingConflict& c, const std::string& why) {
  ctx_.out.event(
      EventLevel::kInfo, EventKind::kRingConflictEnded,
      "the conflict with " + c.peer.to_string() + " (rings created apart) ended: " + why);
}

bool Ownership::remove_peer(RequestId id, const RemovePeerCommand& c) {
  if (c.peer == ctx_.self()) {
    ctx_.out.reply(
        id, Status::invalid_argument("cannot remove this peer itself (" + ctx_.nick(c.peer) + ")"));
    return false;
  }
  if (ctx_.is_reachable(c.peer) && !c.force) {
    ctx_.out.reply(id, Status::failed_precondition(
                           "peer " + ctx_.nick(c.peer) +
                           " is reachable; refusing to take over a live peer's space (force it "
                           "only if you are sure that peer is gone)"));
    return false;
  }
  std::vector<Range> before = ctx_.own_ranges();
  Uint128 moved = ctx_.ring.transfer(c.peer, ctx_.self());
  MergeOutcome outcome;
  outcome.changed = moved > 0;
  outcome.gained = subtract_ranges(ctx_.own_ranges(), before);
  apply(outcome);
  reservations_.release_all(peer_owner(c.peer));  // its reservations in our ranges die with it
  if (moved > 0) {
    ctx_.persist_ring();
    ctx_.broadcast_ring();
  }
  std::string text = uint128_to_string(moved) + " addresses taken over from " + ctx_.nick(c.peer);
  ctx_.out.event(EventLevel::kWarn, EventKind::kRmpeer, text);
  ctx_.out.reply(id, Status(), {}, text);
  return true;
}

void Ownership::apply(const MergeOutcome& outcome) {
  for (const Range& lost : outcome.lost) {
    reservations_.give_up(lost);
  }
  for (const Range& gained : outcome.gained) {
    ctx_.add_owned(gained);
  }
}

}  // namespace wipam::ring
