#include "ring/space_requests.h"

#include <vector>

namespace wipam::ring {

AskResult SpaceRequests::ask(const Range& wanted) {
  if (wanted.empty()) {
    return {AskOutcome::kNever, "no free addresses: the requested range holds no usable address"};
  }
  SpaceAsk& ask = asks_[wanted];
  if (ask.donor) {
    return {AskOutcome::kAsked, from_donor(*ask.donor, wanted)};
  }
  if (std::optional<PeerName> donor = choose_donor(wanted, ask)) {
    ask.donor = donor;
    ask.sent_at = ctx_.now;
    ask.tried.insert(*donor);
    ctx_.out.unicast(*donor, SpaceRequest{wanted});
    return {AskOutcome::kAsked, from_donor(*donor, wanted)};
  }
  std::string unreachable = unreachable_owners(wanted);
  if (!unreachable.empty()) {
    return {AskOutcome::kUnreachable,
            "all free space in " + wanted.to_string() + " is owned by unreachable peers " +
                unreachable + "; if they are gone for good, run `weave-ipam rmpeer` for them"};
  }
  if (everyone_denied(wanted, ask)) {
    return {AskOutcome::kNever,
            "no free addresses left in " + wanted.to_string() + " on any reachable peer"};
  }
  return {AskOutcome::kNoDonorYet, "free space in " + wanted.to_string()};
}

std::string SpaceRequests::ask_for_address(const Address& a, PeerName holder,
                                           const std::optional<std::string>& share_for) {
  Range single(a, a + 1);
  SpaceAsk& ask = asks_[single];
  if (!ask.donor) {
    ask.donor = holder;
    ask.sent_at = ctx_.now;
    ask.share_for = share_for;
    if (share_for) {
      ctx_.out.unicast(holder,
                       ShareRequest{a, *share_for, ctx_.config.self.uid, ctx_.next_sequence()});
    } else {
      ctx_.out.unicast(holder, SpaceRequest{single});
    }
  }
  return "peer " + ctx_.nick(holder) + (share_for ? " to share " : " to hand over ") +
         a.to_string();
}

std::vector<SharedHolding> SpaceRequests::shares_asked_of(PeerName donor) const {
  std::vector<SharedHolding> asked;
  for (const auto& [wanted, ask] : asks_) {
    if (ask.donor == donor && ask.share_for) {
      asked.push_back({wanted.start(), *ask.share_for});
    }
  }
  return asked;
}

void SpaceRequests::shared(PeerName from, const Address& a) {
  auto it = asks_.find(Range(a, a + 1));
  if (it != asks_.end() && it->second.donor == from) {
    asks_.erase(it);
  }
}

void SpaceRequests::denied(PeerName from, const Range& wanted) {
  auto it = asks_.find(wanted);
  if (it != asks_.end() && it->second.donor == from) {
    it->second.donor.reset();
    it->second.tried.insert(from);
  }
  if (wanted.size() == 1) {
    asks_.erase(wanted);
  }
}

void SpaceRequests::answer(PeerName from, const SpaceRequest& m) {
  if (ctx_.ring.empty() || from == ctx_.self()) {
    return;
  }
  Range wanted = m.wanted.intersect(ctx_.universe);
  Range chunk = wanted.empty() ? wanted : ctx_.space.choose_donation(wanted);
  if (chunk.empty()) {
    ctx_.report_free();
    // Our ring first: an asker who thinks we own an address we gave away a moment ago
    // learns its owner before the denial, which would otherwise fail its claim as in use.
    ctx_.send_ring(from);
    ctx_.out.unicast(from, SpaceDenied{m.wanted});
    return;
  }
  Status removed = ctx_.space.remove(chunk);
  Status granted = removed.ok() ? ctx_.ring.grant(chunk, from) : removed;
  if (!granted.ok()) {
    if (removed.ok()) {
      // Removed a moment ago, so nothing owned overlaps it: the undo cannot fail.
      ctx_.out.expect_ok(ctx_.space.add(chunk), "space.add", chunk);
    }
    ctx_.out.event(EventLevel::kError, EventKind::kBug,
                   "donation of " + chunk.to_string() + " failed: " + granted.message());
    ctx_.out.unicast(from, SpaceDenied{m.wanted});
    return;
  }
  ctx_.ring.report_free([this](const Range& r) { return ctx_.space.free_count(r); });
  ctx_.persist_ring();
  ctx_.send_ring(from);
  ctx_.owe_ring_broadcast();
  ctx_.out.event(EventLevel::kInfo, EventKind::kDonated,
                 "gave " + chunk.to_string() + " to " + ctx_.nick(from));
}

void SpaceRequests::peer_down(PeerName peer) {
  for (auto& [wanted, ask] : asks_) {
    if (ask.donor == peer) {
      ask.donor.reset();
    }
  }
}

void SpaceRequests::expire(Millis now, Millis timeout) {
  for (auto& [wanted, ask] : asks_) {
    if (ask.donor && now - ask.sent_at >= timeout) {
      ask.tried.insert(*ask.donor);
      ask.donor.reset();
    }
  }
}

void SpaceRequests::keep_if(const std::function<bool(const Range&)>& needed) {
  for (auto it = asks_.begin(); it != asks_.end();) {
    it = needed(it->first) ? std::next(it) : asks_.erase(it);
  }
}

std::string SpaceRequests::from_donor(PeerName donor, const Range& wanted) const {
  return "space from peer " + ctx_.nick(donor) + " for " + wanted.to_string();
}

std::optional<PeerName> SpaceRequests::choose_donor(const Range& wanted,
                                                    const SpaceAsk& ask) const {
  auto usable = [&](PeerName p) { return ctx_.is_reachable(p) && !ask.tried.contains(p); };
  std::vector<PeerName> donors = ctx_.ring.donors(wanted, usable);
  if (!donors.empty()) {
    return donors.front();
  }
  // Free-space hints may be stale: ask reachable owners in the range that advertise none.
  for (const Entry& e : ctx_.ring.entries()) {
    if (e.owner != ctx_.self() && usable(e.owner)) {
      for (const Range& r : ctx_.ring.owned_ranges(e.owner)) {
        if (r.overlaps(wanted)) {
          return e.owner;
        }
      }
    }
  }
  return std::nullopt;
}

// Names of unreachable peers that own part of `wanted` with free space advertised.
std::string SpaceRequests::unreachable_owners(const Range& wanted) const {
  std::string names;
  std::set<PeerName> seen;
  for (const Entry& e : ctx_.ring.entries()) {
    if (e.owner == ctx_.self() || ctx_.is_reachable(e.owner) || e.free == 0 ||
        seen.contains(e.owner)) {
      continue;
    }
    for (const Range& r : ctx_.ring.owned_ranges(e.owner)) {
      if (r.overlaps(wanted) && seen.insert(e.owner).second) {
        names += (names.empty() ? "" : ", ") + ctx_.nick(e.owner);
      }
    }
  }
  return names;
}

bool SpaceRequests::everyone_denied(const Range& wanted, const SpaceAsk& ask) const {
  for (const Entry& e : ctx_.ring.entries()) {
    if (e.owner == ctx_.self() || ask.tried.contains(e.owner)) {
      continue;
    }
    for (const Range& r : ctx_.ring.owned_ranges(e.owner)) {
      if (r.overlaps(wanted)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace wipam::ring
