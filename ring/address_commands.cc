#include "ring/address_commands.h"

#include <string>
#include <utility>
#include <variant>

namespace wipam::ring {

void AddressCommands::run(RequestId id, const AllocateCommand& c) { start(id, c, validate(c)); }

void AddressCommands::run(RequestId id, const ClaimCommand& c) { start(id, c, validate(c)); }

void AddressCommands::run(RequestId id, const PrimeCommand& c) { start(id, c, Status()); }

void AddressCommands::run(RequestId id, const ReleaseCommand& c) {
  const Allocation* held = ctx_.table.find(c.address);
  if (held != nullptr && (!c.owner || *c.owner == held->owner)) {
    reservations_.release(c.address);
  }
  ctx_.out.reply(id, Status());
}

void AddressCommands::run(RequestId id, const ReleaseOwnerCommand& c) {
  ctx_.out.reply(id, Status(), reservations_.release_all(c.owner));
}

void AddressCommands::run(RequestId id, const BindCommand& c) {
  const Allocation* held = ctx_.table.find(c.address);
  if (held == nullptr) {
    ctx_.out.reply(id, Status::not_found("address " + c.address.to_string() +
                                         " is not allocated on this peer"));
    return;
  }
  if (held->owner != c.owner && !held->shared) {
    ctx_.record(c.address, c.owner, held->prefix_len);
  }
  ctx_.out.reply(id, Status());
}

void AddressCommands::run(RequestId id, const LookupCommand& c) {
  ctx_.out.reply(id, Status(), ctx_.table.lookup(c.owner));
}

void AddressCommands::retry() {
  pending_.retry([this](Pending& p) { return attempt(p); });
  requests_.keep_if([this](const Range& r) { return pending_.needs(r); });
}

void AddressCommands::on_space_denied(PeerName from, const SpaceDenied& m) {
  requests_.denied(from, m.wanted);
  if (m.wanted.size() == 1) {
    Address a = m.wanted.start();
    bool holds = ctx_.ring.owner(a) == from;
    for (const Pending& p : pending_.take_if([&](const Pending& q) {
           const auto* c = std::get_if<ClaimCommand>(&q.command);
           return holds && c != nullptr && c->address.address() == a;
         })) {
      ctx_.out.reply(p.id, Status::already_exists("address " + a.to_string() +
                                                  " is already in use on peer " + ctx_.nick(from)));
    }
  }
  retry();
}

void AddressCommands::expire() {
  for (const Pending& p : pending_.expire(ctx_.now)) {
    ctx_.out.reply(
        p.id, Status::deadline_exceeded("gave up after " + millis_text(ctx_.config.op_deadline) +
                                        " waiting for " + p.waiting_for));
  }
}

void AddressCommands::cancel_all() {
  for (const Pending& p : pending_.take_all()) {
    ctx_.out.reply(p.id, Status::cancelled("weave-ipam is shutting down"));
  }
}

void AddressCommands::start(RequestId id, const Command& c, const Status& valid) {
  if (!valid.ok()) {
    ctx_.out.reply(id, valid);
    return;
  }
  Pending p{id, c, ctx_.now + ctx_.config.op_deadline, {}};
  if (!attempt(p)) {
    pending_.add(std::move(p));
  }
}

bool AddressCommands::attempt(Pending& p) {
  if (const auto* a = std::get_if<AllocateCommand>(&p.command)) {
    return try_allocate(p, *a);
  }
  if (const auto* c = std::get_if<ClaimCommand>(&p.command)) {
    return try_claim(p, *c);
  }
  if (!ctx_.ring.empty()) {  // prime
    if (!refused_for_conflict(p)) {
      ctx_.out.reply(p.id, Status());
    }
    return true;
  }
  bootstrap_.establish_ring();
  p.waiting_for = "the ring to be created";
  return false;
}

// While a ring created apart stands, both networks would hand out the same addresses.
bool AddressCommands::refused_for_conflict(const Pending& p) {
  if (ctx_.ring_conflicts.empty()) {
    return false;
  }
  ctx_.out.reply(p.id,
                 Status::conflict("not handing out addresses: " + ctx_.ring_conflicts.summary()));
  return true;
}

// The address `c.owner` holds already where it asks for one (allocation is idempotent).
std::optional<Address> AddressCommands::already_held(const AllocateCommand& c) const {
  const std::set<Address>* held = c.owner.empty() ? nullptr : ctx_.table.addresses_of(c.owner);
  if (held == nullptr) {
    return std::nullopt;
  }
  Range subnet = c.subnet.range().intersect(ctx_.universe);
  for (const Address& a : *held) {
    if (subnet.contains(a) && (!c.within || c.within->contains(a))) {
      return a;
    }
  }
  return std::nullopt;
}

bool AddressCommands::try_allocate(Pending& p, const AllocateCommand& c) {
  if (std::optional<Address> held = already_held(c)) {
    ctx_.out.reply(p.id, Status(), {Cidr(*held, c.subnet.prefix_len())});
    return true;
  }
  if (refused_for_conflict(p)) {
    return true;
  }
  if (ctx_.ring.empty()) {
    bootstrap_.establish_ring();
    p.waiting_for = bootstrap_.waiting_for();
    return false;
  }
  Range subnet = c.subnet.range().intersect(ctx_.universe);
  Range hosts = c.subnet.host_range().intersect(ctx_.universe);
  if (c.within) {
    hosts = hosts.intersect(*c.within);
  }
  Result<Address> got = ctx_.space.allocate(hosts);
  if (got.ok()) {
    ctx_.record(*got, c.owner.empty() ? got->to_string() : c.owner, c.subnet.prefix_len(),
                c.offer_share);
    ctx_.out.reply(p.id, Status(), {Cidr(*got, c.subnet.prefix_len())});
    return true;
  }
  if (hosts.empty()) {
    ctx_.out.reply(p.id, Status::exhausted("no free addresses: " + c.subnet.to_string() +
                                           " holds no usable address"));
    return true;
  }
  // Ask for the whole subnet (as Weave does): its network and broadcast addresses are
  // free space too, so a fresh peer asking the owner of everything gets an aligned half.
  AskResult ask = requests_.ask(c.within ? subnet.intersect(*c.within) : subnet);
  if (ask.outcome == AskOutcome::kNever) {
    ctx_.out.reply(p.id, Status::exhausted(ask.reason));
    return true;
  }
  p.waiting_for = std::move(ask.reason);
  return false;
}

bool AddressCommands::try_claim(Pending& p, const ClaimCommand& c) {
  Address a = c.address.address();
  if (const Allocation* held = ctx_.table.find(a)) {
    answer_held_claim(p, c, *held);
    return true;
  }
  if (refused_for_conflict(p)) {
    return true;
  }
  if (ctx_.ring.empty()) {
    bootstrap_.establish_ring();
    p.waiting_for = "the ring to be created";
    return false;
  }
  std::optional<PeerName> holder = ctx_.ring.owner(a);
  if (holder == ctx_.self()) {
    Status s = ctx_.space.claim(a);
    if (s.ok()) {
      ctx_.record(a, share_owner(c), c.address.prefix_len(), c.sharing == Sharing::kOffer);
      ctx_.out.reply(p.id, Status(), {c.address});
    } else {
      ctx_.out.reply(p.id, Status::already_exists("address " + a.to_string() +
                                                  " is not free: " + s.message()));
    }
    return true;
  }
  if (!holder || !ctx_.is_reachable(*holder)) {
    p.waiting_for = "address " + a.to_string() + " belongs to unreachable peer " +
                    (holder ? ctx_.nick(*holder) : "(unknown)") +
                    "; if that peer is gone for good, run `weave-ipam rmpeer " +
                    (holder ? holder->to_string() : "") + "`";
    return false;
  }
  p.waiting_for = requests_.ask_for_address(
      a, *holder,
      c.sharing != Sharing::kNone ? std::optional<std::string>(share_owner(c)) : std::nullopt);
  return false;
}

void AddressCommands::on_share_granted(PeerName from, const ShareGranted& m) {
  const Address& a = m.address;
  requests_.shared(from, a);
  if (ctx_.ring.owner(a) == from && !ctx_.table.contains(a)) {
    // The first claim waiting for it gets it; any other one for it is then answered as a
    // claim of an address held here (an anonymous one is refused).
    bool taken = false;
    for (const Pending& p : pending_.take_if([&](const Pending& q) {
           const auto* c = std::get_if<ClaimCommand>(&q.command);
           bool wanted = !taken && c != nullptr && c->sharing != Sharing::kNone &&
                         share_owner(*c) == m.owner && c->address.address() == a;
           taken = taken || wanted;
           return wanted;
         })) {
      const auto& c = std::get<ClaimCommand>(p.command);
      ctx_.record(a, m.owner, c.address.prefix_len(), /*shared=*/true);
      ctx_.out.reply(p.id, Status(), {c.address});
    }
  }
  // What we hold there, so a grant nobody waited for any more is undone.
  reservations_.granted(from);
  retry();
}

// Idempotent for the same owner. Unlike Weave's script-era rule, an anonymous claim of a held
// address fails: Docker's `--ip` of an address in use must be refused.
void AddressCommands::answer_held_claim(const Pending& p, const ClaimCommand& c,
                                        const Allocation& held) {
  Address a = c.address.address();
  if ((held.owner == share_owner(c) && !c.owner.empty()) || take_back_share(c, held)) {
    ctx_.out.reply(p.id, Status(), {c.address});
    return;
  }
  // An anonymous holder's owner is the address itself: naming it would say nothing.
  std::string holder = held.owner == a.to_string() ? "" : " by " + held.owner;
  ctx_.out.reply(
      p.id, Status::already_exists("address " + a.to_string() + " is already in use" + holder));
}

// A shared claim of an address of our space that a sharer holds in our place, since we
// released it: we hold it again, beside that sharer.
bool AddressCommands::take_back_share(const ClaimCommand& c, const Allocation& held) {
  Address a = c.address.address();
  const Share* share = ctx_.shares.find(a);
  if (c.sharing == Sharing::kNone || share == nullptr || share->owner != share_owner(c) ||
      !is_peer_owner(held.owner)) {
    return false;
  }
  std::optional<PeerName> sharer = owner_peer(held.owner);
  if (!sharer) {
    return false;
  }
  Share next = *share;
  next.peers.insert(*sharer);
  ctx_.record(a, share->owner, c.address.prefix_len(), /*shared=*/true);
  ctx_.record_share(a, std::move(next));
  return true;
}

std::string AddressCommands::share_owner(const ClaimCommand& c) {
  return c.owner.empty() ? c.address.address().to_string() : c.owner;
}

Status AddressCommands::validate(const AllocateCommand& c) const {
  if (c.subnet.family() != ctx_.universe.family() || !c.subnet.range().overlaps(ctx_.universe)) {
    return Status::invalid_argument("subnet " + c.subnet.to_string() +
                                    " is outside the allocation range " +
                                    ctx_.config.universe.to_string());
  }
  return c.owner.size() > kMaxOwnerBytes ? Status::invalid_argument("owner name is too long")
                                         : Status();
}

Status AddressCommands::validate(const ClaimCommand& c) const {
  if (!ctx_.universe.contains(c.address.address())) {
    return Status::invalid_argument("address " + c.address.address().to_string() +
                                    " is outside the allocation range " +
                                    ctx_.config.universe.to_string());
  }
  return c.owner.size() > kMaxOwnerBytes ? Status::invalid_argument("owner name is too long")
                                         : Status();
}

}  // namespace wipam::ring
