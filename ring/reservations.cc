#include "ring/reservations.h"

#include <optional>

namespace wipam::ring {

void Reservations::restore() {
  for (const auto& [a, allocation] : ctx_.table.all()) {
    if (!ctx_.space.owns(a) && !is_peer_owner(allocation.owner)) {
      if (std::optional<PeerName> owner = ctx_.ring.owner(a)) {
        sync_.insert(*owner);
      }
    }
  }
}

void Reservations::release(const Address& a) {
  if (!ctx_.table.contains(a)) {
    return;
  }
  if (ctx_.space.owns(a)) {
    if (hand_to_sharer(a)) {
      return;
    }
    // Every held address in our space is allocated there (check_invariants).
    ctx_.out.expect_ok(ctx_.space.free(a), "space.free", a);
  } else if (std::optional<PeerName> owner = ctx_.ring.owner(a)) {
    tell(*owner);
  }
  ctx_.forget(a);
}

std::vector<Cidr> Reservations::release_all(const std::string& owner) {
  std::vector<Cidr> released = ctx_.table.lookup(owner);
  for (const Cidr& c : released) {
    release(c.address());
  }
  return released;
}

void Reservations::give_up(const Range& lost) {
  std::vector<Address> held = ctx_.table.in_range(lost);
  for (const Address& a : held) {
    // Every holder, sharers too, tells the new owner what it holds, shared or not.
    ctx_.forget_share(a);
    if (ctx_.space.is_allocated(a)) {
      // Owned and allocated, just checked: freeing it cannot fail.
      ctx_.out.expect_ok(ctx_.space.free(a), "space.free", a);
    }
    if (is_peer_owner(ctx_.table.find(a)->owner)) {
      ctx_.forget(a);
    }
  }
  ctx_.out.expect_ok(ctx_.space.remove(lost), "space.remove", lost);
  std::size_t ours = 0;
  for (const Address& a : held) {
    if (ctx_.table.contains(a)) {
      ++ours;
      if (std::optional<PeerName> owner = ctx_.ring.owner(a)) {
        tell(*owner);
      }
    }
  }
  if (ours > 0) {
    std::optional<PeerName> owner = ctx_.ring.owner(lost.start());
    ctx_.out.event(EventLevel::kWarn, EventKind::kRingConflict,
                   "peer " + (owner ? ctx_.nick(*owner) : std::string("?")) + " now owns " +
                       lost.to_string() + " where this peer holds " + std::to_string(ours) +
                       " addresses; asked it to reserve them");
  }
}

// Only the table's entries outside our space, found gap by gap between our ranges: a peer
// holding 100k addresses of its own pays for the few it holds elsewhere, not for all.
void Reservations::ring_changed() {
  Address cursor = ctx_.universe.start();
  auto tell_owners_in = [this](const Range& gap) {
    for (const Address& a : ctx_.table.in_range(gap)) {
      std::optional<PeerName> owner = ctx_.ring.owner(a);
      if (owner && *owner != ctx_.self() && !is_peer_owner(ctx_.table.find(a)->owner)) {
        tell(*owner);
      }
    }
  };
  for (const Range& own : ctx_.space.owned_ranges()) {
    if (cursor < own.start()) {
      tell_owners_in(Range(cursor, own.start()));
    }
    cursor = own.end();
  }
  if (cursor < ctx_.universe.end()) {
    tell_owners_in(Range(cursor, ctx_.universe.end()));
  }
}

void Reservations::on_held(PeerName from, const HeldAddresses& m) {
  if (!in_order(from, m.incarnation, m.sequence)) {
    return;  // overtaken by a later one of the sender's: what it says is out of date
  }
  std::set<Address> wanted;
  for (const Address& a : m.addresses) {
    if (ctx_.space.owns(a)) {
      wanted.insert(a);
    }
  }
  std::set<Address> shared;
  for (const SharedHolding& h : m.shared) {
    if (ctx_.space.owns(h.address)) {
      wanted.insert(h.address);
      shared.insert(h.address);
    }
  }
  for (const SharedHolding& h : m.asked) {
    if (ctx_.space.owns(h.address) && shares_with(from, h)) {
      wanted.insert(h.address);  // granted, and the grant is on its way: keep it
      shared.insert(h.address);
    }
  }
  let_go(from, wanted);
  for (const SharedHolding& h : m.shared) {
    if (ctx_.space.owns(h.address)) {
      hold_shared(from, h.address, h.owner);
    }
  }
  std::string owner = peer_owner(from);
  for (const Address& a : wanted) {
    if (shared.contains(a)) {
      continue;
    }
    const Allocation* held = ctx_.table.find(a);
    if (held == nullptr) {
      // Owned and held by nobody, so free in the space (check_invariants).
      ctx_.out.expect_ok(ctx_.space.claim(a), "space.claim", a);
      ctx_.record(a, owner, a.bits());
    } else if (held->owner != owner && !ctx_.shares.shared_with(a, from)) {
      report_duplicate(from, a, *held);
    }
  }
}

// `from` is a holder of `h.address` by the share of it for `h.owner`.
bool Reservations::shares_with(PeerName from, const SharedHolding& h) const {
  const Share* share = ctx_.shares.find(h.address);
  const Allocation* held = ctx_.table.find(h.address);
  return share != nullptr && share->owner == h.owner && held != nullptr &&
         (share->peers.contains(from) || held->owner == peer_owner(from));
}

// `from` no longer holds what it held of our space outside `wanted`: its shares of those end,
// and what we reserved for it there is released.
void Reservations::let_go(PeerName from, const std::set<Address>& wanted) {
  std::vector<Address> unshared;
  for (const auto& [a, share] : ctx_.shares.all()) {
    if (share.peers.contains(from) && !wanted.contains(a)) {
      unshared.push_back(a);
    }
  }
  for (const Address& a : unshared) {
    unshare(a, from);
  }
  if (const std::set<Address>* current = ctx_.table.addresses_of(peer_owner(from))) {
    std::set<Address> previous = *current;
    for (const Address& a : previous) {
      if (!wanted.contains(a)) {
        release(a);
      }
    }
  }
}

// `from` holds `a`, of our space, by a shared claim for `owner` (a range that moved to us
// after it was shared): it shares it with whoever else holds it for that owner.
void Reservations::hold_shared(PeerName from, const Address& a, const std::string& owner) {
  const Allocation* held = ctx_.table.find(a);
  const Share* share = ctx_.shares.find(a);
  if (held == nullptr) {
    ctx_.out.expect_ok(ctx_.space.claim(a), "space.claim", a);
    ctx_.record(a, peer_owner(from), a.bits());
    ctx_.record_share(a, Share{owner, {}});
    return;
  }
  // Held here alone for that owner is the same holding too: `from` joined an offer of it
  // before the range moved here, and a join found it free here meanwhile (the holder that
  // knew of `from` was removed while `from` was away).
  bool same_owner =
      share != nullptr ? share->owner == owner : held->owner == owner && !is_peer_owner(owner);
  if (!same_owner) {
    report_duplicate(from, a, *held);
    return;
  }
  if (held->owner == peer_owner(from) || (share != nullptr && share->peers.contains(from))) {
    return;
  }
  Share next = share != nullptr ? *share : Share{owner, {}};
  next.peers.insert(from);
  ctx_.record_share(a, std::move(next));
}

void Reservations::report_duplicate(PeerName from, const Address& a, const Allocation& held) {
  ctx_.report_conflict(EventKind::kDuplicate, "address " + a.to_string() +
                                                  " is held both here by " + held.owner +
                                                  " and by peer " + ctx_.nick(from));
}

bool Reservations::share(PeerName from, const ShareRequest& m) {
  // Answered even if out of order (an unwanted grant is undone); what it orders is the
  // sender's HeldAddresses sent before it, which must not end the share granted now.
  (void)in_order(from, m.incarnation, m.sequence);
  const Address& a = m.address;
  const Allocation* held = ctx_.space.owns(a) ? ctx_.table.find(a) : nullptr;
  if (held == nullptr || from == ctx_.self()) {
    return false;
  }
  // Only what a claim or an allocation offered for sharing; never a reservation's owner.
  const Share* share = ctx_.shares.find(a);
  bool same_owner =
      share != nullptr ? share->owner == m.owner : held->shared && held->owner == m.owner;
  if (!same_owner || is_peer_owner(m.owner)) {
    return false;
  }
  Share next = share != nullptr ? *share : Share{m.owner, {}};
  if (held->owner != peer_owner(from)) {
    next.peers.insert(from);
  }
  if (share == nullptr || next != *share) {
    ctx_.out.event(EventLevel::kInfo, EventKind::kShared,
                   "shared " + a.to_string() + " (" + m.owner + ") with " + ctx_.nick(from));
    ctx_.record_share(a, std::move(next));
  }
  ctx_.out.unicast(from, ShareGranted{a, m.owner});
  return true;
}

void Reservations::check_shares() {
  std::vector<Address> stale;
  for (const auto& [a, share] : ctx_.shares.all()) {
    if (!ctx_.space.owns(a) || !ctx_.table.contains(a)) {
      stale.push_back(a);
    }
  }
  for (const Address& a : stale) {
    ctx_.forget_share(a);
  }
}

// `a`, in our space, is being released by its holder here: true iff another peer still
// shares it, which then holds it in its place (reserved for it, as a `peer:` owner).
bool Reservations::hand_to_sharer(const Address& a) {
  const Share* share = ctx_.shares.find(a);
  if (share == nullptr || share->peers.empty()) {
    return false;
  }
  Share next = *share;
  PeerName heir = *next.peers.begin();
  next.peers.erase(next.peers.begin());
  ctx_.record(a, peer_owner(heir), ctx_.table.find(a)->prefix_len);
  ctx_.record_share(a, std::move(next));
  ctx_.out.event(
      EventLevel::kInfo, EventKind::kShared,
      "released " + a.to_string() + " here; kept for " + ctx_.nick(heir) + ", which shares it");
  return true;
}

void Reservations::unshare(const Address& a, PeerName peer) {
  Share next = *ctx_.shares.find(a);
  next.peers.erase(peer);
  ctx_.record_share(a, std::move(next));
}

void Reservations::peer_up(PeerName peer) {
  if (sync_.contains(peer)) {
    sync(peer);
  }
}

void Reservations::gossip() {
  for (PeerName owner : sync_) {
    if (ctx_.is_reachable(owner)) {
      sync(owner);
    }
  }
}

void Reservations::flush() {
  for (PeerName owner : dirty_) {
    if (ctx_.is_reachable(owner)) {
      sync(owner);
    }
  }
  dirty_.clear();
}

void Reservations::tell(PeerName owner) {
  sync_.insert(owner);
  dirty_.insert(owner);
}

// Tells `owner` which addresses in its ranges we hold (possibly none any more).
void Reservations::sync(PeerName owner) {
  HeldAddresses held;
  for (const auto& [a, allocation] : ctx_.table.all()) {
    if (ctx_.space.owns(a) || is_peer_owner(allocation.owner) || ctx_.ring.owner(a) != owner ||
        held.addresses.size() + held.shared.size() >= kMaxHeldAddresses) {
      continue;
    }
    if (allocation.shared && held.shared.size() < kMaxSharedHeld) {
      held.shared.push_back({a, allocation.owner});
    } else {
      held.addresses.push_back(a);
    }
  }
  for (SharedHolding& h : requests_.shares_asked_of(owner)) {
    if (held.shared.size() + held.asked.size() < kMaxSharedHeld &&
        held.addresses.size() + held.shared.size() + held.asked.size() < kMaxHeldAddresses) {
      held.asked.push_back(std::move(h));
    }
  }
  held.incarnation = ctx_.config.self.uid;
  held.sequence = ctx_.next_sequence();
  ctx_.out.unicast(owner, std::move(held));
}

bool Reservations::in_order(PeerName from, std::uint64_t incarnation, std::uint64_t sequence) {
  if (sequence == 0 || incarnation == 0) {
    return true;  // an older version's, or a run without an id: unordered, taken as it comes
  }
  HeldOrder& last = last_held_[from];
  if (incarnation == last.incarnation && sequence <= last.sequence) {
    return false;
  }
  last = {incarnation, sequence};
  return true;
}

}  // namespace wipam::ring
