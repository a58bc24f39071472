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

void Reservations::on_held(PeerName from, const HeldAddresses& m) {
  std::string owner = peer_owner(from);
  std::set<Address> wanted;
  for (const Address& a : m.addresses) {
    if (ctx_.space.owns(a)) {
      wanted.insert(a);
    }
  }
  if (const std::set<Address>* current = ctx_.table.addresses_of(owner)) {
    std::set<Address> previous = *current;
    for (const Address& a : previous) {
      if (!wanted.contains(a)) {
        release(a);
      }
    }
  }
  for (const Address& a : wanted) {
    const Allocation* held = ctx_.table.find(a);
    if (held == nullptr) {
      // Owned and held by nobody, so free in the space (check_invariants).
      ctx_.out.expect_ok(ctx_.space.claim(a), "space.claim", a);
      ctx_.record(a, owner, a.bits());
    } else if (held->owner != owner) {
      ctx_.report_conflict(EventKind::kDuplicate, "address " + a.to_string() +
                                                      " is held both here by " + held->owner +
                                                      " and by peer " + ctx_.nick(from));
    }
  }
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
    if (!ctx_.space.owns(a) && !is_peer_owner(allocation.owner) && ctx_.ring.owner(a) == owner &&
        held.addresses.size() < kMaxHeldAddresses) {
      held.addresses.push_back(a);
    }
  }
  ctx_.out.unicast(owner, std::move(held));
}

}  // namespace wipam::ring
