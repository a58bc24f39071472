// The façade. Each concern is a part of its own, beside this file:
//   allocator_context  the ring, the space, the allocation table and the peers, which every
//                      part shares, and the Outbox of the call running;
//   allocation_table   who holds which address;
//   store_records      the store's keys and codecs, the identity record, restore;
//   bootstrap          creating the ring (seed, consensus, observer) and Paxos;
//   address_commands   allocate, claim, release, bind, lookup, prime, and their retries;
//   pending            the queue of commands waiting, with deadlines;
//   space_requests     asking peers for space and answering their asks;
//   reservations       the held-addresses protocol, and releasing;
//   ownership          rings merged in, rmpeer, rings created apart;
//   allocator_status   the status report.
// Here: the entry points, their dispatch, and the finishing of each call's Effects.
#include "ring/allocator.h"

#include <type_traits>
#include <utility>
#include <variant>

#include "ring/address_commands.h"
#include "ring/allocator_context.h"
#include "ring/bootstrap.h"
#include "ring/ownership.h"
#include "ring/pending.h"
#include "ring/reservations.h"
#include "ring/share_notices.h"
#include "ring/space_requests.h"

namespace wipam::ring {

struct Allocator::State {
  explicit State(AllocatorConfig config) : ctx(std::move(config)) {}

  AllocatorContext ctx;
  PendingQueue pending;
  SpaceRequests requests{ctx};
  Reservations reservations{ctx, requests};
  ShareNotices notices{ctx, reservations};
  Bootstrap bootstrap{ctx, [this] { commands.retry(); }};
  AddressCommands commands{ctx, pending, requests, bootstrap, reservations};
  Ownership ownership{ctx, bootstrap, reservations, [this] { commands.retry(); }};
  Millis last_gossip{0};
  Millis last_free_report{0};

  // Every entry point begins with this.
  State& at(Millis now) {
    ctx.now = now;
    return *this;
  }
  void on_message(PeerName from, const PeerMessage& m);
  void anti_entropy();
  Effects finish();
};

void Allocator::State::on_message(PeerName from, const PeerMessage& message) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, RingUpdate>) {
          ownership.on_ring(from, m, /*reply_if_behind=*/true);
        } else if constexpr (std::is_same_v<T, RingRequest>) {
          bootstrap.on_ring_request(from);
        } else if constexpr (std::is_same_v<T, SpaceRequest>) {
          requests.answer(from, m);
        } else if constexpr (std::is_same_v<T, SpaceDenied>) {
          commands.on_space_denied(from, m);
        } else if constexpr (std::is_same_v<T, PaxosUpdate>) {
          bootstrap.on_paxos(from, m);
        } else if constexpr (std::is_same_v<T, HeldAddresses>) {
          reservations.on_held(from, m);
        } else if constexpr (std::is_same_v<T, ShareRequest>) {
          if (!reservations.share(from, m)) {
            requests.answer(from, SpaceRequest{Range(m.address, m.address + 1)});
          }
        } else if constexpr (std::is_same_v<T, ShareGranted>) {
          commands.on_share_granted(from, m);
        } else if constexpr (std::is_same_v<T, SharesNotice>) {
          notices.on_notice(from, m);
        }
      },
      message);
}

// Whole-ring anti-entropy, and our free-space hints in it.
void Allocator::State::anti_entropy() {
  if (ctx.now - last_free_report >= ctx.config.free_report_interval) {
    last_free_report = ctx.now;
    ctx.report_free();
  }
  if (!ctx.ring.empty() && ctx.now - last_gossip >= ctx.config.gossip_interval) {
    last_gossip = ctx.now;
    ctx.out.send(Delivery::kGossip, PeerName(), RingUpdate{ctx.ring.encode()});
    reservations.gossip();
    notices.gossip();
  }
}

Effects Allocator::State::finish() {
  reservations.flush();
  notices.flush();
  ctx.flush_ring_broadcast();
#ifdef WIPAM_CHECKED
  Status healthy = ctx.check_invariants();
  if (!healthy.ok()) {
    ctx.out.event(EventLevel::kError, EventKind::kBug,
                  "allocator invariant broken: " + healthy.message());
  }
#endif
  return ctx.out.take();
}

// ---- entry points ----------------------------------------------------------------------

Allocator::Allocator(AllocatorConfig config) : state_(std::make_unique<State>(std::move(config))) {}
Allocator::~Allocator() = default;

Result<Effects> Allocator::start(Millis now, const Stored& stored) {
  State& s = state_->at(now);
  AllocatorContext& ctx = s.ctx;
  // The daemon refuses another range's or peer's state first, with the fix; this is the
  // core's own guard: it deletes nothing.
  WIPAM_RETURN_IF_ERROR(check_stored_owner(stored, ctx.config.universe, ctx.self()));
  Result<Restored> restored = restore(stored, ctx.universe, ctx.self());
  WIPAM_RETURN_IF_ERROR(restored.status());
  if (restored->ring) {
    ctx.ring = std::move(*restored->ring);
  }
  for (const auto& [a, allocation] : restored->allocations) {
    ctx.table.set(a, allocation.owner, allocation.prefix_len, allocation.shared);
  }
  for (auto& [a, share] : restored->shares) {
    ctx.shares.set(a, std::move(share));
  }
  for (StoreWrite& w : start_records(ctx.config.universe, ctx.config.self)) {
    ctx.out.write(std::move(w));
  }
  ctx.take_own_ranges();
  s.reservations.check_shares();
  s.reservations.restore();
  s.notices.restore(std::move(restored->notices));
  s.bootstrap.start(restored->paxos);
  s.last_gossip = s.last_free_report = now;
  return s.finish();
}

Effects Allocator::command(Millis now, RequestId id, const Command& command) {
  State& s = state_->at(now);
  if (s.ctx.shutting_down) {
    s.ctx.out.reply(id, Status::cancelled("weave-ipam is shutting down"));
    return s.finish();
  }
  std::visit(
      [&](const auto& c) {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, RemovePeerCommand>) {
          if (s.ownership.remove_peer(id, c)) {
            s.notices.took_over(c.peer);  // what it shared stays with the other holders
          }
        } else {
          s.commands.run(id, c);
        }
      },
      command);
  return s.finish();
}

Effects Allocator::message(Millis now, PeerName from, std::span<const std::uint8_t> payload) {
  State& s = state_->at(now);
  Result<PeerMessage> decoded = decode_message(payload);
  if (!decoded.ok()) {
    s.ctx.out.event(EventLevel::kWarn, EventKind::kBadMessage,
                    "message from " + s.ctx.nick(from) + " refused: " + decoded.status().message());
    return s.finish();
  }
  return message(now, from, *decoded);
}

Effects Allocator::message(Millis now, PeerName from, const PeerMessage& decoded) {
  State& s = state_->at(now);
  s.on_message(from, decoded);
  return s.finish();
}

Effects Allocator::peer_up(Millis now, const PeerIdentity& peer) {
  State& s = state_->at(now);
  if (peer.name == s.ctx.self()) {
    return {};
  }
  s.ctx.reachable.insert(peer.name);
  if (!peer.nickname.empty()) {
    s.ctx.nicknames[peer.name] = peer.nickname;
  }
  s.ownership.peer_up(peer);
  s.bootstrap.peer_up(peer.name);
  s.reservations.peer_up(peer.name);
  s.notices.peer_up(peer.name);
  s.commands.retry();
  return s.finish();
}

Effects Allocator::peer_down(Millis now, PeerName peer) {
  State& s = state_->at(now);
  s.ctx.reachable.erase(peer);
  s.requests.peer_down(peer);
  s.commands.retry();
  return s.finish();
}

Effects Allocator::tick(Millis now) {
  State& s = state_->at(now);
  s.requests.expire(now, s.ctx.config.donor_timeout);
  s.bootstrap.tick();
  s.anti_entropy();
  s.ownership.expire_conflicts();
  s.commands.retry();
  s.commands.expire();
  return s.finish();
}

Effects Allocator::ring_conflict(Millis now, const PeerIdentity& peer,
                                 std::vector<PeerName> theirs) {
  State& s = state_->at(now);
  s.ownership.conflict_with(peer, std::move(theirs));
  return s.finish();
}

Effects Allocator::shutdown(Millis now) {
  State& s = state_->at(now);
  s.ctx.shutting_down = true;
  s.commands.cancel_all();
  if (s.ctx.ring_broadcast_owed) {
    s.ctx.broadcast_ring();  // a donation others have not heard of: tell them while we can
  }
  return s.finish();
}

// ---- views -----------------------------------------------------------------------------

StatusReport Allocator::status() const {
  return make_status(state_->ctx, state_->bootstrap, state_->pending);
}
const Ring& Allocator::ring() const { return state_->ctx.ring; }
const Space& Allocator::space() const { return state_->ctx.space; }
const std::map<Address, std::string>& Allocator::allocations() const {
  return state_->ctx.table.owners();
}
std::vector<Cidr> Allocator::lookup(const std::string& owner) const {
  return state_->ctx.table.lookup(owner);
}
SharesNotice Allocator::shares_notice() const { return state_->notices.ours(); }
const SharesNotice* Allocator::shares_heard_from(PeerName peer) const {
  return state_->notices.heard_from(peer);
}
bool Allocator::reachable(PeerName peer) const { return state_->ctx.is_reachable(peer); }
std::size_t Allocator::pending_count() const { return state_->pending.size(); }
Status Allocator::check_invariants() const { return state_->ctx.check_invariants(); }

}  // namespace wipam::ring
