#include "ring/allocator.h"

#include <algorithm>
#include <charconv>
#include <list>
#include <utility>

namespace wipam::ring {
namespace {

constexpr const char* kPeerOwnerPrefix = "peer:";
constexpr std::size_t kMaxOwnerBytes = 1024;
// Peers that each change to our consensus state is relayed to (see send_paxos()); a cluster
// of no more peers than this hears every change by broadcast.
constexpr std::size_t kPaxosRelays = 4;

std::string millis_text(Millis m) {
  return m.count() % 1000 == 0 ? std::to_string(m.count() / 1000) + "s"
                               : std::to_string(m.count()) + "ms";
}

std::string to_hex(Uint128 v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 31; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[static_cast<int>(v & 0xf)];
    v >>= 4;
  }
  return out;
}

std::optional<Address> address_from_key(const std::string& key) {
  // "a/" + family digit + 32 hex digits.
  if (key.size() != 35 || (key[2] != '4' && key[2] != '6')) {
    return std::nullopt;
  }
  Uint128 v = 0;
  for (std::size_t i = 3; i < key.size(); ++i) {
    char c = key[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) {
      return std::nullopt;
    }
    v = (v << 4) | static_cast<Uint128>(digit);
  }
  if (key[2] == '4') {
    return v <= 0xffffffffu ? std::optional(Address::v4(static_cast<std::uint32_t>(v)))
                            : std::nullopt;
  }
  return Address::v6(v);
}

std::string peer_owner(PeerName peer) { return kPeerOwnerPrefix + peer.to_string(); }

bool is_peer_owner(const std::string& owner) { return owner.rfind(kPeerOwnerPrefix, 0) == 0; }

}  // namespace

std::string allocation_key(const Address& address) {
  return std::string("a/") + (address.is_v4() ? "4" : "6") + to_hex(address.value());
}

// A command that could not finish at once.
struct Pending {
  RequestId id = 0;
  Command command;
  Millis deadline{0};
  std::string waiting_for;  // why it is not done yet; the error text if it times out
};

// One tracked request for space, per wanted range.
struct SpaceAsk {
  std::optional<PeerName> donor;  // the peer asked last, while we wait for its answer
  Millis sent_at{0};
  std::set<PeerName> tried;  // peers that denied or did not answer
};

struct Allocation {
  std::string owner;
  int prefix_len = 0;
};

struct Allocator::State {
  explicit State(AllocatorConfig c)
      : config(std::move(c)), universe(config.universe.range()), ring(universe, config.self.name) {}

  AllocatorConfig config;
  Range universe;
  Ring ring;
  Space space;
  std::optional<Paxos> paxos;
  PaxosPersistent paxos_persistent;
  ConsensusState consensus = ConsensusState::kDeferred;
  bool shutting_down = false;

  std::map<Address, Allocation> allocations;
  std::map<std::string, std::set<Address>> by_owner;
  std::map<Address, std::string> owners_view;  // address -> owner, for allocations()
  std::set<PeerName> reachable;
  std::map<PeerName, std::string> nicknames;
  std::list<Pending> pending;
  std::map<Range, SpaceAsk> asks;
  std::set<PeerName> held_sync;  // peers to tell which of their addresses we hold
  std::vector<std::string> conflicts;
  RingConflicts ring_conflicts{config.conflict_memory};

  Millis last_gossip{0};
  Millis last_propose{0};
  Millis last_paxos_news{0};  // when our consensus knowledge last grew from a peer
  Millis last_free_report{0};
  Millis now{0};
  Effects fx;

  // ---- helpers ----
  std::string nick(PeerName p) const;
  void persist_ring();
  void broadcast_ring();
  void send(Delivery d, PeerName to, PeerMessage m);
  void event(EventLevel level, std::string what, std::string message);
  void reply(RequestId id, Status status, std::vector<Cidr> addresses = {}, std::string text = {});

  void record(const Address& a, const std::string& owner, int prefix_len);
  void forget(const Address& a);
  Status restore(const Stored& stored);
  Status restore_allocation(const std::string& key, const std::string& value);
  void rebuild_space();
  void create_seed_ring();
  void add_new_ring_space();

  Status validate(const AllocateCommand& c) const;
  Status validate(const ClaimCommand& c) const;
  bool try_pending(Pending& p);
  bool refused_for_conflict(const Pending& p);
  void conflict_with(const PeerIdentity& peer, std::vector<PeerName> theirs);
  void end_conflict(const RingConflict& c, const std::string& why);
  bool try_allocate(Pending& p, const AllocateCommand& c);
  bool try_claim(Pending& p, const ClaimCommand& c);
  void retry_pending();
  void expire_pending();
  void defer(RequestId id, const Command& c, std::string waiting_for);
  std::string ask_for_space(const Range& wanted);
  std::optional<PeerName> choose_donor(const Range& wanted, const SpaceAsk& ask) const;
  std::string unreachable_owners(const Range& wanted) const;
  bool everyone_denied(const Range& wanted, const SpaceAsk& ask) const;

  void release(const Address& a);
  std::vector<Cidr> release_all(const std::string& owner);
  void remove_peer(RequestId id, const RemovePeerCommand& c);

  void establish_ring();
  void on_paxos(PeerName from, const PaxosUpdate& m);
  void paxos_changed();
  void send_paxos();
  bool repropose_due() const;
  void on_ring(PeerName from, const RingUpdate& m, bool reply_if_behind);
  void apply_ownership_change(const MergeOutcome& outcome);
  void give_up_range(const Range& lost);
  void on_space_request(PeerName from, const SpaceRequest& m);
  void on_space_denied(PeerName from, const SpaceDenied& m);
  void on_held(PeerName from, const HeldAddresses& m);
  void sync_held(PeerName owner);
  void report_free();
  Status check_invariants() const;
  Effects finish();

  std::set<PeerName> held_dirty;   // owners to tell at the end of this step
  bool paxos_send_due = false;     // our consensus knowledge changed since we last sent it
  bool paxos_own_changed = false;  // and our own state with it
  PeerName paxos_relay_cursor = config.self.name;  // the last peer relayed to, in name order
};

// ---- small helpers -------------------------------------------------------------------

std::string Allocator::State::nick(PeerName p) const {
  auto it = nicknames.find(p);
  if (p == config.self.name) {
    return config.self.to_string();
  }
  return it == nicknames.end() || it->second.empty() ? p.to_string()
                                                     : p.to_string() + "(" + it->second + ")";
}

void Allocator::State::persist_ring() {
  std::vector<std::uint8_t> bytes = ring.encode();
  fx.writes.push_back({kRingKey, std::string(bytes.begin(), bytes.end())});
}

void Allocator::State::broadcast_ring() {
  send(Delivery::kBroadcast, PeerName(), RingUpdate{ring.encode()});
}

void Allocator::State::send(Delivery d, PeerName to, PeerMessage m) {
  fx.messages.push_back({d, to, std::move(m)});
}

void Allocator::State::event(EventLevel level, std::string what, std::string message) {
  fx.events.push_back({level, std::move(what), std::move(message)});
}

void Allocator::State::reply(RequestId id, Status status, std::vector<Cidr> addresses,
                             std::string text) {
  fx.replies.push_back({id, std::move(status), std::move(addresses), std::move(text)});
}

void Allocator::State::record(const Address& a, const std::string& owner, int prefix_len) {
  forget(a);
  allocations[a] = {owner, prefix_len};
  by_owner[owner].insert(a);
  owners_view[a] = owner;
  fx.writes.push_back({allocation_key(a), std::to_string(prefix_len) + " " + owner});
}

void Allocator::State::forget(const Address& a) {
  auto it = allocations.find(a);
  if (it == allocations.end()) {
    return;
  }
  auto owned = by_owner.find(it->second.owner);
  if (owned != by_owner.end()) {
    owned->second.erase(a);
    if (owned->second.empty()) {
      by_owner.erase(owned);
    }
  }
  allocations.erase(it);
  owners_view.erase(a);
  fx.writes.push_back({allocation_key(a), std::nullopt});
}

// ---- start-up --------------------------------------------------------------------------

Status Allocator::State::restore_allocation(const std::string& key, const std::string& value) {
  std::optional<Address> a = address_from_key(key);
  auto space_at = value.find(' ');
  int prefix_len = -1;
  if (space_at != std::string::npos) {
    std::from_chars(value.data(), value.data() + space_at, prefix_len);
  }
  if (!a || space_at == std::string::npos || prefix_len < 0 || prefix_len > a->bits() ||
      value.size() - space_at - 1 > kMaxOwnerBytes || !universe.contains(*a)) {
    return Status::corruption("stored allocation " + key + " = '" + value +
                              "' is not well formed; restore the store from a backup or "
                              "remove the key");
  }
  std::string owner = value.substr(space_at + 1);
  allocations[*a] = {owner, prefix_len};
  by_owner[owner].insert(*a);
  owners_view[*a] = owner;
  return Status();
}

Status Allocator::State::restore(const Stored& stored) {
  auto ring_it = stored.find(kRingKey);
  if (ring_it != stored.end()) {
    std::span<const std::uint8_t> bytes(
        reinterpret_cast<const std::uint8_t*>(ring_it->second.data()), ring_it->second.size());
    Result<Ring> restored = Ring::decode(bytes, config.self.name);
    if (!restored.ok()) {
      return Status::corruption("stored ring " + std::string(kRingKey) +
                                " is not valid: " + restored.status().message());
    }
    if (restored->universe() != universe) {
      return Status::corruption("stored ring " + std::string(kRingKey) + " covers " +
                                restored->universe().to_string() + ", not " + universe.to_string());
    }
    ring = std::move(*restored);
  }
  auto paxos_it = stored.find(kPaxosKey);
  if (paxos_it != stored.end()) {
    std::span<const std::uint8_t> bytes(
        reinterpret_cast<const std::uint8_t*>(paxos_it->second.data()), paxos_it->second.size());
    Result<PaxosPersistent> promised = Paxos::decode_persistent(bytes);
    if (!promised.ok()) {
      return Status::corruption("stored consensus state " + std::string(kPaxosKey) +
                                " is not valid: " + promised.status().message());
    }
    paxos_persistent = *promised;
  }
  for (auto it = stored.lower_bound("a/"); it != stored.end() && it->first.rfind("a/", 0) == 0;
       ++it) {
    WIPAM_RETURN_IF_ERROR(restore_allocation(it->first, it->second));
  }
  return Status();
}

void Allocator::State::rebuild_space() {
  for (const Range& r : coalesce_ranges(ring.owned_ranges(config.self.name))) {
    (void)space.add(r);
  }
  for (const auto& [a, allocation] : allocations) {
    if (space.owns(a)) {
      (void)space.claim(a);
    } else if (!is_peer_owner(allocation.owner)) {
      std::optional<PeerName> owner = ring.owner(a);
      if (owner) {
        held_sync.insert(*owner);
      }
    }
  }
}

// The space of a ring just created here, with the addresses already recorded in it (a store
// may hold allocations and no ring: they must never be handed out again).
void Allocator::State::add_new_ring_space() {
  for (const Range& r : coalesce_ranges(ring.owned_ranges(config.self.name))) {
    (void)space.add(r);
    for (auto it = allocations.lower_bound(r.start());
         it != allocations.end() && r.contains(it->first); ++it) {
      (void)space.claim(it->first);
    }
  }
}

void Allocator::State::create_seed_ring() {
  const auto* seed = std::get_if<SeedInit>(&config.init);
  if (seed == nullptr || !ring.empty()) {
    return;
  }
  Status s = ring.claim_for_peers(seed->seeds);
  if (!s.ok()) {
    event(EventLevel::kError, "seed", "cannot split the ring among the seeds: " + s.message());
    return;
  }
  add_new_ring_space();
  consensus = ConsensusState::kAchieved;
  persist_ring();
  event(EventLevel::kInfo, "ring-created",
        "ring split among " + std::to_string(ring.seeds().size()) + " seed peers");
}

// ---- commands --------------------------------------------------------------------------

Status Allocator::State::validate(const AllocateCommand& c) const {
  if (c.subnet.family() != universe.family() || !c.subnet.range().overlaps(universe)) {
    return Status::invalid_argument("subnet " + c.subnet.to_string() +
                                    " is outside the allocation range " +
                                    config.universe.to_string());
  }
  return c.owner.size() > kMaxOwnerBytes ? Status::invalid_argument("owner name is too long")
                                         : Status();
}

Status Allocator::State::validate(const ClaimCommand& c) const {
  if (!universe.contains(c.address.address())) {
    return Status::invalid_argument("address " + c.address.address().to_string() +
                                    " is outside the allocation range " +
                                    config.universe.to_string());
  }
  return c.owner.size() > kMaxOwnerBytes ? Status::invalid_argument("owner name is too long")
                                         : Status();
}

void Allocator::State::defer(RequestId id, const Command& c, std::string waiting_for) {
  pending.push_back({id, c, now + config.op_deadline, std::move(waiting_for)});
}

bool Allocator::State::try_pending(Pending& p) {
  if (const auto* a = std::get_if<AllocateCommand>(&p.command)) {
    return try_allocate(p, *a);
  }
  if (const auto* c = std::get_if<ClaimCommand>(&p.command)) {
    return try_claim(p, *c);
  }
  if (!ring.empty()) {  // prime
    if (!refused_for_conflict(p)) {
      reply(p.id, Status());
    }
    return true;
  }
  establish_ring();
  p.waiting_for = "the ring to be created";
  return false;
}

// While a ring created apart stands, both networks would hand out the same addresses.
bool Allocator::State::refused_for_conflict(const Pending& p) {
  if (ring_conflicts.empty()) {
    return false;
  }
  reply(p.id, Status::conflict("not handing out addresses: " + ring_conflicts.summary()));
  return true;
}

bool Allocator::State::try_allocate(Pending& p, const AllocateCommand& c) {
  Range subnet = c.subnet.range().intersect(universe);
  Range hosts = c.subnet.host_range().intersect(universe);
  if (c.within) {
    hosts = hosts.intersect(*c.within);
  }
  auto held = by_owner.find(c.owner);
  if (!c.owner.empty() && held != by_owner.end()) {
    for (const Address& a : held->second) {
      if (subnet.contains(a) && (!c.within || c.within->contains(a))) {
        reply(p.id, Status(), {Cidr(a, c.subnet.prefix_len())});
        return true;
      }
    }
  }
  if (refused_for_conflict(p)) {
    return true;
  }
  if (ring.empty()) {
    establish_ring();
    p.waiting_for = consensus == ConsensusState::kWaiting
                        ? "consensus on the ring (quorum " +
                              std::to_string(paxos ? paxos->quorum() : 0) + ", known " +
                              std::to_string(paxos ? paxos->known_nodes() : 0) + ")"
                        : "a ring from another peer";
    return false;
  }
  Result<Address> got = space.allocate(hosts);
  if (got.ok()) {
    record(*got, c.owner.empty() ? got->to_string() : c.owner, c.subnet.prefix_len());
    reply(p.id, Status(), {Cidr(*got, c.subnet.prefix_len())});
    return true;
  }
  if (hosts.empty()) {
    reply(p.id, Status::exhausted("no free addresses: " + c.subnet.to_string() +
                                  " holds no usable address"));
    return true;
  }
  // Ask for the whole subnet (as Weave does): its network and broadcast addresses are
  // free space too, so a fresh peer asking the owner of everything gets an aligned half.
  Range wanted = c.within ? subnet.intersect(*c.within) : subnet;
  std::string why = ask_for_space(wanted);
  if (why.rfind("no free", 0) == 0) {
    reply(p.id, Status::exhausted(why));
    return true;
  }
  p.waiting_for = why;
  return false;
}

bool Allocator::State::try_claim(Pending& p, const ClaimCommand& c) {
  Address a = c.address.address();
  std::string owner = c.owner.empty() ? a.to_string() : c.owner;
  auto held = allocations.find(a);
  if (held != allocations.end()) {
    // Idempotent for the same owner. Unlike Weave's script-era rule, an anonymous claim of
    // a held address fails: Docker's `--ip` of an address in use must be refused.
    if (held->second.owner == owner && !c.owner.empty()) {
      reply(p.id, Status(), {c.address});
    } else {
      // An anonymous holder's owner is the address itself: naming it would say nothing.
      std::string holder = held->second.owner == a.to_string() ? "" : " by " + held->second.owner;
      reply(p.id,
            Status::already_exists("address " + a.to_string() + " is already in use" + holder));
    }
    return true;
  }
  if (refused_for_conflict(p)) {
    return true;
  }
  if (ring.empty()) {
    establish_ring();
    p.waiting_for = "the ring to be created";
    return false;
  }
  std::optional<PeerName> holder = ring.owner(a);
  if (holder == config.self.name) {
    Status s = space.claim(a);
    if (s.ok()) {
      record(a, owner, c.address.prefix_len());
      reply(p.id, Status(), {c.address});
    } else {
      reply(p.id,
            Status::already_exists("address " + a.to_string() + " is not free: " + s.message()));
    }
    return true;
  }
  if (!holder || !reachable.contains(*holder)) {
    p.waiting_for = "address " + a.to_string() + " belongs to unreachable peer " +
                    (holder ? nick(*holder) : "(unknown)") +
                    "; if that peer is gone for good, run `weave-ipam rmpeer " +
                    (holder ? holder->to_string() : "") + "`";
    return false;
  }
  Range single(a, a + 1);
  SpaceAsk& ask = asks[single];
  if (!ask.donor) {
    ask.donor = *holder;
    ask.sent_at = now;
    send(Delivery::kUnicast, *holder, SpaceRequest{single});
  }
  p.waiting_for = "peer " + nick(*holder) + " to hand over " + a.to_string();
  return false;
}

// Asks a peer for space in `wanted` unless a request is already in flight. Returns why the
// caller still waits; text starting "no free" means it never will.
std::string Allocator::State::ask_for_space(const Range& wanted) {
  if (wanted.empty()) {
    return "no free addresses: the requested range holds no usable address";
  }
  SpaceAsk& ask = asks[wanted];
  if (ask.donor) {
    return "space from peer " + nick(*ask.donor) + " for " + wanted.to_string();
  }
  std::optional<PeerName> donor = choose_donor(wanted, ask);
  if (donor) {
    ask.donor = donor;
    ask.sent_at = now;
    ask.tried.insert(*donor);
    send(Delivery::kUnicast, *donor, SpaceRequest{wanted});
    return "space from peer " + nick(*donor) + " for " + wanted.to_string();
  }
  std::string unreachable = unreachable_owners(wanted);
  if (!unreachable.empty()) {
    return "all free space in " + wanted.to_string() + " is owned by unreachable peers " +
           unreachable + "; if they are gone for good, run `weave-ipam rmpeer` for them";
  }
  if (everyone_denied(wanted, ask)) {
    return "no free addresses left in " + wanted.to_string() + " on any reachable peer";
  }
  return "free space in " + wanted.to_string();
}

std::optional<PeerName> Allocator::State::choose_donor(const Range& wanted,
                                                       const SpaceAsk& ask) const {
  auto usable = [&](PeerName p) { return reachable.contains(p) && !ask.tried.contains(p); };
  std::vector<PeerName> donors = ring.donors(wanted, usable);
  if (!donors.empty()) {
    return donors.front();
  }
  // Free-space hints may be stale: ask reachable owners in the range that advertise none.
  for (const Entry& e : ring.entries()) {
    if (e.owner != config.self.name && usable(e.owner)) {
      for (const Range& r : ring.owned_ranges(e.owner)) {
        if (r.overlaps(wanted)) {
          return e.owner;
        }
      }
    }
  }
  return std::nullopt;
}

// Names of unreachable peers that own part of `wanted` with free space advertised.
std::string Allocator::State::unreachable_owners(const Range& wanted) const {
  std::string names;
  std::set<PeerName> seen;
  std::vector<Entry> entries = ring.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.owner == config.self.name || reachable.contains(e.owner) || e.free == 0 ||
        seen.contains(e.owner)) {
      continue;
    }
    for (const Range& r : ring.owned_ranges(e.owner)) {
      if (r.overlaps(wanted) && seen.insert(e.owner).second) {
        names += (names.empty() ? "" : ", ") + nick(e.owner);
      }
    }
  }
  return names;
}

bool Allocator::State::everyone_denied(const Range& wanted, const SpaceAsk& ask) const {
  for (const Entry& e : ring.entries()) {
    if (e.owner == config.self.name || ask.tried.contains(e.owner)) {
      continue;
    }
    for (const Range& r : ring.owned_ranges(e.owner)) {
      if (r.overlaps(wanted)) {
        return false;
      }
    }
  }
  return true;
}

void Allocator::State::retry_pending() {
  // Claims first, so addresses already in use are registered before new ones go out.
  for (int pass = 0; pass < 2; ++pass) {
    for (auto it = pending.begin(); it != pending.end();) {
      bool is_claim = std::holds_alternative<ClaimCommand>(it->command);
      if ((pass == 0) != is_claim) {
        ++it;
        continue;
      }
      it = try_pending(*it) ? pending.erase(it) : std::next(it);
    }
  }
  // Forget asks no pending command needs any more.
  for (auto it = asks.begin(); it != asks.end();) {
    bool needed = false;
    for (const Pending& p : pending) {
      if (const auto* a = std::get_if<AllocateCommand>(&p.command)) {
        needed = needed || it->first.overlaps(a->subnet.range());
      } else if (const auto* c = std::get_if<ClaimCommand>(&p.command)) {
        needed = needed || it->first.contains(c->address.address());
      }
    }
    it = needed ? std::next(it) : asks.erase(it);
  }
}

void Allocator::State::expire_pending() {
  for (auto it = pending.begin(); it != pending.end();) {
    if (it->deadline > now) {
      ++it;
      continue;
    }
    reply(it->id, Status::deadline_exceeded("gave up after " + millis_text(config.op_deadline) +
                                            " waiting for " + it->waiting_for));
    it = pending.erase(it);
  }
}

void Allocator::State::release(const Address& a) {
  auto it = allocations.find(a);
  if (it == allocations.end()) {
    return;
  }
  if (space.owns(a)) {
    (void)space.free(a);
  } else if (std::optional<PeerName> owner = ring.owner(a)) {
    held_sync.insert(*owner);
    held_dirty.insert(*owner);
  }
  forget(a);
}

std::vector<Cidr> Allocator::State::release_all(const std::string& owner) {
  std::vector<Cidr> released;
  auto it = by_owner.find(owner);
  if (it != by_owner.end()) {
    std::set<Address> addresses = it->second;
    for (const Address& a : addresses) {
      released.emplace_back(a, allocations[a].prefix_len);
      release(a);
    }
  }
  return released;
}

void Allocator::State::remove_peer(RequestId id, const RemovePeerCommand& c) {
  if (c.peer == config.self.name) {
    reply(id, Status::invalid_argument("cannot remove this peer itself (" + nick(c.peer) + ")"));
    return;
  }
  if (reachable.contains(c.peer) && !c.force) {
    reply(id, Status::failed_precondition(
                  "peer " + nick(c.peer) +
                  " is reachable; refusing to take over a live peer's space (force it only if "
                  "you are sure that peer is gone)"));
    return;
  }
  std::vector<Range> before = coalesce_ranges(ring.owned_ranges(config.self.name));
  Uint128 moved = ring.transfer(c.peer, config.self.name);
  MergeOutcome outcome;
  outcome.changed = moved > 0;
  outcome.gained = subtract_ranges(coalesce_ranges(ring.owned_ranges(config.self.name)), before);
  apply_ownership_change(outcome);
  release_all(peer_owner(c.peer));  // its reservations in our ranges die with it
  if (moved > 0) {
    persist_ring();
    broadcast_ring();
  }
  std::string text = uint128_to_string(moved) + " addresses taken over from " + nick(c.peer);
  event(EventLevel::kWarn, "rmpeer", text);
  reply(id, Status(), {}, text);
}

// ---- ring creation ---------------------------------------------------------------------

void Allocator::State::establish_ring() {
  if (!ring.empty() || shutting_down) {
    return;
  }
  if (std::holds_alternative<ObserverInit>(config.init) ||
      std::holds_alternative<SeedInit>(config.init)) {
    if (now - last_propose >= config.propose_interval || last_propose == Millis{0}) {
      last_propose = now;
      send(Delivery::kBroadcast, PeerName(), RingRequest{});
    }
    return;
  }
  if (!paxos) {
    unsigned quorum = std::get<ConsensusInit>(config.init).quorum;
    paxos.emplace(config.self.name, quorum, paxos_persistent);
    consensus = ConsensusState::kWaiting;
    last_propose = now;
    paxos->propose();
    paxos->think();
    paxos_changed();
  }
}

// Persists what we promised, tells everyone, and creates the ring once decided.
void Allocator::State::paxos_changed() {
  const PaxosPersistent& promised = paxos->persistent();
  if (!(promised == paxos_persistent)) {
    paxos_persistent = promised;
    std::vector<std::uint8_t> bytes = Paxos::encode_persistent(promised);
    fx.writes.push_back({kPaxosKey, std::string(bytes.begin(), bytes.end())});
    paxos_own_changed = true;
  }
  // Coalesced: sent at most once per tick, by send_paxos().
  paxos_send_due = true;
  std::optional<std::vector<PeerName>> decided = paxos->consensus();
  if (!decided || !ring.empty()) {
    return;
  }
  Status s = ring.claim_for_peers(*decided);
  if (!s.ok()) {
    event(EventLevel::kError, "consensus", "cannot split the ring: " + s.message());
    return;
  }
  add_new_ring_space();
  consensus = ConsensusState::kAchieved;
  persist_ring();
  broadcast_ring();
  event(EventLevel::kInfo, "consensus",
        "consensus reached: ring split among " + std::to_string(decided->size()) + " peers");
  retry_pending();
}

// Sends what we know of the consensus, encoded once. A small cluster hears every change by
// broadcast. In a larger one that would cost every round n^2 messages of n entries, so the
// roles of Paxos choose the receivers: a proposer broadcasts its own changes (the request for
// promises, then for acceptance); an elector tells the proposer it promised of its own (its
// promise, its acceptance); and every change goes on to the next kPaxosRelays reachable peers
// in name order, a different few each time, which carries it to those that missed it.
void Allocator::State::send_paxos() {
  PaxosUpdate update{Paxos::encode(paxos->gossip())};
  PeerName proposer = paxos->persistent().promised.proposer;
  bool own_changed = std::exchange(paxos_own_changed, false);
  if (reachable.size() <= kPaxosRelays || (own_changed && proposer == config.self.name)) {
    send(Delivery::kBroadcast, PeerName(), std::move(update));
    return;
  }
  std::vector<PeerName> targets;
  if (own_changed && !proposer.unknown() && reachable.contains(proposer)) {
    targets.push_back(proposer);
  }
  auto next = reachable.upper_bound(paxos_relay_cursor);
  for (std::size_t k = 0; k < kPaxosRelays; ++k) {
    if (next == reachable.end()) {
      next = reachable.begin();
    }
    paxos_relay_cursor = *next++;
    if (targets.empty() || targets.front() != paxos_relay_cursor) {
      targets.push_back(paxos_relay_cursor);
    }
  }
  for (PeerName to : targets) {
    send(Delivery::kUnicast, to, update);
  }
}

// A proposer that re-proposes while others make progress only starts a duel: with a hundred
// peers primed at once, all re-proposing every interval kept preempting each other while
// their floods filled the links. So a peer re-proposes only once the consensus has been
// quiet (no news, no proposal of ours) for the interval plus a share of it fixed by its
// name, so that the first to wake usually finishes alone.
bool Allocator::State::repropose_due() const {
  std::uint64_t spread = config.propose_interval.count() / 2 + 1;
  std::uint64_t mixed = config.self.name.value() * 0x9E3779B97F4A7C15ULL;
  Millis wait = config.propose_interval + Millis{static_cast<Millis::rep>((mixed >> 32) % spread)};
  return now - std::max(last_propose, last_paxos_news) >= wait;
}

void Allocator::State::on_paxos(PeerName from, const PaxosUpdate& m) {
  if (!ring.empty()) {
    send(Delivery::kUnicast, from, RingUpdate{ring.encode()});  // help it finish
    return;
  }
  if (!std::holds_alternative<ConsensusInit>(config.init)) {
    return;  // observers never vote; seed peers have their ring already
  }
  Result<PaxosGossip> gossip = Paxos::decode(m.state);
  if (!gossip.ok()) {
    event(EventLevel::kWarn, "bad-message",
          "consensus state from " + nick(from) + " refused: " + gossip.status().message());
    return;
  }
  if (!paxos) {
    unsigned quorum = std::get<ConsensusInit>(config.init).quorum;
    paxos.emplace(config.self.name, quorum, paxos_persistent);
    consensus = ConsensusState::kWaiting;
  }
  bool changed = paxos->merge(*gossip);
  changed = paxos->think() || changed;
  if (changed) {
    last_paxos_news = now;
    paxos_changed();
  }
}

// ---- ring updates ----------------------------------------------------------------------

void Allocator::State::on_ring(PeerName from, const RingUpdate& m, bool reply_if_behind) {
  Result<Ring> incoming = Ring::decode(m.ring, config.self.name);
  if (!incoming.ok()) {
    event(EventLevel::kWarn, "bad-message",
          "ring from " + nick(from) + " refused: " + incoming.status().message());
    return;
  }
  if (incoming->universe() == ring.universe() && !ring.seeds().empty() &&
      !incoming->seeds().empty() && ring.seeds() != incoming->seeds()) {
    auto nickname = nicknames.find(from);
    conflict_with({from, nickname == nicknames.end() ? "" : nickname->second, 0},
                  incoming->seeds());
    return;
  }
  bool was_empty = ring.empty();
  Result<MergeOutcome> outcome = ring.merge(*incoming);
  if (!outcome.ok()) {
    std::string text = "ring from " + nick(from) + " refused: " + outcome.status().message();
    if (std::find(conflicts.begin(), conflicts.end(), text) == conflicts.end()) {
      conflicts.push_back(text);
      event(EventLevel::kError, "ring-conflict", text);
    }
    return;
  }
  if (outcome->changed) {
    if (was_empty) {
      consensus = ConsensusState::kAchieved;
      paxos.reset();
      event(EventLevel::kInfo, "ring-received", "ring received from " + nick(from));
    }
    apply_ownership_change(*outcome);
    persist_ring();
    retry_pending();
  }
  if (reply_if_behind && !(ring == *incoming)) {
    send(Delivery::kUnicast, from, RingUpdate{ring.encode()});
  }
}

void Allocator::State::conflict_with(const PeerIdentity& peer, std::vector<PeerName> theirs) {
  if (ring.seeds().empty()) {
    return;  // no ring of ours (or one from before seeds were kept): nothing to be apart from
  }
  bool added = ring_conflicts.record(now, peer, ring.seeds(), std::move(theirs));
  const RingConflict& c = *ring_conflicts.find(peer.name);
  fx.ring_conflicts.push_back(c);
  if (added) {
    event(EventLevel::kError, "ring-conflict", c.message());
    retry_pending();  // what waits now fails with the reason
  }
}

void Allocator::State::end_conflict(const RingConflict& c, const std::string& why) {
  event(EventLevel::kInfo, "ring-conflict-ended",
        "the conflict with " + c.peer.to_string() + " (rings created apart) ended: " + why);
}

void Allocator::State::apply_ownership_change(const MergeOutcome& outcome) {
  for (const Range& lost : outcome.lost) {
    give_up_range(lost);
  }
  for (const Range& gained : outcome.gained) {
    Status s = space.add(gained);
    if (!s.ok()) {
      event(EventLevel::kError, "bug", "space.add(" + gained.to_string() + "): " + s.message());
      continue;
    }
    // Addresses we held while someone else owned the range are ours again.
    for (auto it = allocations.lower_bound(gained.start());
         it != allocations.end() && gained.contains(it->first); ++it) {
      (void)space.claim(it->first);
    }
  }
}

// The ring says another peer now owns `lost`. Addresses we hold there stay ours (we tell the
// new owner to reserve them); reservations we kept there for other peers are dropped (those
// peers tell the new owner themselves).
void Allocator::State::give_up_range(const Range& lost) {
  std::vector<Address> held;
  for (auto it = allocations.lower_bound(lost.start());
       it != allocations.end() && lost.contains(it->first); ++it) {
    held.push_back(it->first);
  }
  for (const Address& a : held) {
    if (space.is_allocated(a)) {
      (void)space.free(a);
    }
    if (is_peer_owner(allocations[a].owner)) {
      forget(a);
    }
  }
  Status s = space.remove(lost);
  if (!s.ok()) {
    event(EventLevel::kError, "bug", "space.remove(" + lost.to_string() + "): " + s.message());
  }
  std::size_t ours = 0;
  for (const Address& a : held) {
    if (allocations.contains(a)) {
      ++ours;
      if (std::optional<PeerName> owner = ring.owner(a)) {
        held_sync.insert(*owner);
        held_dirty.insert(*owner);
      }
    }
  }
  if (ours > 0) {
    std::optional<PeerName> owner = ring.owner(lost.start());
    event(EventLevel::kWarn, "ring-conflict",
          "peer " + (owner ? nick(*owner) : std::string("?")) + " now owns " + lost.to_string() +
              " where this peer holds " + std::to_string(ours) +
              " addresses; asked it to reserve them");
  }
}

void Allocator::State::on_space_request(PeerName from, const SpaceRequest& m) {
  if (ring.empty() || from == config.self.name) {
    return;
  }
  Range wanted = m.wanted.intersect(universe);
  Range chunk = wanted.empty() ? wanted : space.choose_donation(wanted);
  if (chunk.empty()) {
    report_free();
    send(Delivery::kUnicast, from, SpaceDenied{m.wanted});
    send(Delivery::kUnicast, from, RingUpdate{ring.encode()});
    return;
  }
  Status removed = space.remove(chunk);
  Status granted = removed.ok() ? ring.grant(chunk, from) : removed;
  if (!granted.ok()) {
    if (removed.ok()) {
      (void)space.add(chunk);
    }
    event(EventLevel::kError, "bug",
          "donation of " + chunk.to_string() + " failed: " + granted.message());
    send(Delivery::kUnicast, from, SpaceDenied{m.wanted});
    return;
  }
  ring.report_free([this](const Range& r) { return space.free_count(r); });
  persist_ring();
  broadcast_ring();
  event(EventLevel::kInfo, "donated", "gave " + chunk.to_string() + " to " + nick(from));
}

void Allocator::State::on_space_denied(PeerName from, const SpaceDenied& m) {
  auto it = asks.find(m.wanted);
  if (it != asks.end() && it->second.donor == from) {
    it->second.donor.reset();
    it->second.tried.insert(from);
  }
  if (m.wanted.size() == 1) {
    Address a = m.wanted.start();
    for (auto p = pending.begin(); p != pending.end();) {
      const auto* c = std::get_if<ClaimCommand>(&p->command);
      if (c != nullptr && c->address.address() == a && ring.owner(a) == from) {
        reply(p->id, Status::already_exists("address " + a.to_string() +
                                            " is already in use on peer " + nick(from)));
        p = pending.erase(p);
      } else {
        ++p;
      }
    }
    asks.erase(m.wanted);
  }
  retry_pending();
}

// `from` tells us every address it holds in ranges we own; we reserve exactly those.
void Allocator::State::on_held(PeerName from, const HeldAddresses& m) {
  std::string owner = peer_owner(from);
  std::set<Address> wanted;
  for (const Address& a : m.addresses) {
    if (space.owns(a)) {
      wanted.insert(a);
    }
  }
  auto current = by_owner.find(owner);
  if (current != by_owner.end()) {
    std::set<Address> previous = current->second;
    for (const Address& a : previous) {
      if (!wanted.contains(a)) {
        release(a);
      }
    }
  }
  for (const Address& a : wanted) {
    auto held = allocations.find(a);
    if (held == allocations.end()) {
      (void)space.claim(a);
      record(a, owner, a.bits());
    } else if (held->second.owner != owner) {
      std::string text = "address " + a.to_string() + " is held both here by " +
                         held->second.owner + " and by peer " + nick(from);
      if (std::find(conflicts.begin(), conflicts.end(), text) == conflicts.end()) {
        conflicts.push_back(text);
        event(EventLevel::kError, "duplicate", text);
      }
    }
  }
}

// Tells `owner` which addresses in its ranges we hold (possibly none any more).
void Allocator::State::sync_held(PeerName owner) {
  HeldAddresses held;
  for (const auto& [a, allocation] : allocations) {
    if (!space.owns(a) && !is_peer_owner(allocation.owner) && ring.owner(a) == owner &&
        held.addresses.size() < kMaxHeldAddresses) {
      held.addresses.push_back(a);
    }
  }
  send(Delivery::kUnicast, owner, std::move(held));
}

void Allocator::State::report_free() {
  if (ring.report_free([this](const Range& r) { return space.free_count(r); })) {
    persist_ring();
  }
}

Effects Allocator::State::finish() {
  for (PeerName owner : held_dirty) {
    if (reachable.contains(owner)) {
      sync_held(owner);
    }
  }
  held_dirty.clear();
#ifdef WIPAM_CHECKED
  Status healthy = check_invariants();
  if (!healthy.ok()) {
    event(EventLevel::kError, "bug", "allocator invariant broken: " + healthy.message());
  }
#endif
  return std::exchange(fx, {});
}

Status Allocator::State::check_invariants() const {
  std::vector<Range> ring_view = coalesce_ranges(ring.owned_ranges(config.self.name));
  if (ring_view != space.owned_ranges()) {
    return Status::internal("space and ring disagree on what this peer owns");
  }
  Uint128 held_here = 0;
  for (const auto& [a, allocation] : allocations) {
    if (space.owns(a)) {
      ++held_here;
      if (!space.is_allocated(a)) {
        return Status::internal("allocation " + a.to_string() + " is free in the space");
      }
    }
  }
  if (held_here != space.allocated_count()) {
    return Status::internal("space counts " + uint128_to_string(space.allocated_count()) +
                            " allocated, records say " + uint128_to_string(held_here));
  }
  return Status();
}

// ---- Allocator -------------------------------------------------------------------------

Allocator::Allocator(AllocatorConfig config) : state_(std::make_unique<State>(std::move(config))) {}
Allocator::~Allocator() = default;

namespace {

std::string identity_value(const PeerIdentity& id) {
  return id.name.to_string() + " " + std::to_string(id.uid) + " " + id.nickname;
}

}  // namespace

Result<Effects> Allocator::start(Millis now, const Stored& stored) {
  State& s = *state_;
  s.now = now;
  std::string universe_text = s.config.universe.to_string();
  auto universe_it = stored.find(kUniverseKey);
  auto identity_it = stored.find(kIdentityKey);
  bool same_universe = universe_it == stored.end() || universe_it->second == universe_text;
  bool same_name = identity_it == stored.end() ||
                   identity_it->second.rfind(s.config.self.name.to_string() + " ", 0) == 0;
  if (!same_universe || !same_name) {
    // Weave discarded such state (#2209), and with it addresses still in use. The daemon
    // refuses it first with the fix; this is the core's own guard: it deletes nothing.
    return Status::failed_precondition(
        !same_universe ? "the stored state is for allocation range " + universe_it->second +
                             ", not " + universe_text
                       : "the stored state belongs to another peer name (" +
                             identity_it->second.substr(0, identity_it->second.find(' ')) + ")");
  }
  WIPAM_RETURN_IF_ERROR(s.restore(stored));
  s.fx.writes.push_back({kUniverseKey, universe_text});
  s.fx.writes.push_back({kIdentityKey, identity_value(s.config.self)});
  if (!s.ring.empty()) {
    s.consensus = ConsensusState::kAchieved;
  }
  s.rebuild_space();
  s.create_seed_ring();
  s.last_gossip = s.last_free_report = now;
  return s.finish();
}

Effects Allocator::command(Millis now, RequestId id, const Command& command) {
  State& s = *state_;
  s.now = now;
  if (s.shutting_down) {
    s.reply(id, Status::cancelled("weave-ipam is shutting down"));
    return s.finish();
  }
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, AllocateCommand> || std::is_same_v<T, ClaimCommand>) {
          Status valid = s.validate(c);
          if (!valid.ok()) {
            s.reply(id, valid);
            return;
          }
          Pending p{id, c, now + s.config.op_deadline, {}};
          if (!s.try_pending(p)) {
            s.pending.push_back(std::move(p));
          }
        } else if constexpr (std::is_same_v<T, ReleaseCommand>) {
          auto it = s.allocations.find(c.address);
          if (it != s.allocations.end() && (!c.owner || *c.owner == it->second.owner)) {
            s.release(c.address);
          }
          s.reply(id, Status());
        } else if constexpr (std::is_same_v<T, ReleaseOwnerCommand>) {
          s.reply(id, Status(), s.release_all(c.owner));
        } else if constexpr (std::is_same_v<T, BindCommand>) {
          auto it = s.allocations.find(c.address);
          if (it == s.allocations.end()) {
            s.reply(id, Status::not_found("address " + c.address.to_string() +
                                          " is not allocated on this peer"));
            return;
          }
          if (it->second.owner != c.owner) {
            s.record(c.address, c.owner, it->second.prefix_len);
          }
          s.reply(id, Status());
        } else if constexpr (std::is_same_v<T, LookupCommand>) {
          s.reply(id, Status(), lookup(c.owner));
        } else if constexpr (std::is_same_v<T, PrimeCommand>) {
          Pending p{id, c, now + s.config.op_deadline, {}};
          if (!s.try_pending(p)) {
            s.pending.push_back(std::move(p));
          }
        } else if constexpr (std::is_same_v<T, RemovePeerCommand>) {
          s.remove_peer(id, c);
        }
      },
      command);
  return s.finish();
}

Effects Allocator::message(Millis now, PeerName from, std::span<const std::uint8_t> payload) {
  State& s = *state_;
  s.now = now;
  Result<PeerMessage> decoded = decode_message(payload);
  if (!decoded.ok()) {
    s.event(EventLevel::kWarn, "bad-message",
            "message from " + s.nick(from) + " refused: " + decoded.status().message());
    return s.finish();
  }
  return message(now, from, *decoded);
}

Effects Allocator::message(Millis now, PeerName from, const PeerMessage& decoded) {
  State& s = *state_;
  s.now = now;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, RingUpdate>) {
          s.on_ring(from, m, /*reply_if_behind=*/true);
        } else if constexpr (std::is_same_v<T, RingRequest>) {
          if (!s.ring.empty()) {
            s.send(Delivery::kUnicast, from, RingUpdate{s.ring.encode()});
          } else if (std::holds_alternative<ConsensusInit>(s.config.init)) {
            s.establish_ring();  // an observer asked: electors start consensus for it
          }
        } else if constexpr (std::is_same_v<T, SpaceRequest>) {
          s.on_space_request(from, m);
        } else if constexpr (std::is_same_v<T, SpaceDenied>) {
          s.on_space_denied(from, m);
        } else if constexpr (std::is_same_v<T, PaxosUpdate>) {
          s.on_paxos(from, m);
        } else if constexpr (std::is_same_v<T, HeldAddresses>) {
          s.on_held(from, m);
        }
      },
      decoded);
  return s.finish();
}

Effects Allocator::peer_up(Millis now, const PeerIdentity& peer) {
  State& s = *state_;
  s.now = now;
  if (peer.name == s.config.self.name) {
    return {};
  }
  s.reachable.insert(peer.name);
  if (!peer.nickname.empty()) {
    s.nicknames[peer.name] = peer.nickname;
  }
  if (std::optional<RingConflict> ended = s.ring_conflicts.peer_up(peer)) {
    s.end_conflict(*ended, "it is back as another incarnation");
  }
  if (!s.ring.empty()) {
    s.send(Delivery::kUnicast, peer.name, RingUpdate{s.ring.encode()});
  } else if (s.paxos) {
    s.send(Delivery::kUnicast, peer.name, PaxosUpdate{Paxos::encode(s.paxos->gossip())});
  }
  if (s.held_sync.contains(peer.name)) {
    s.sync_held(peer.name);
  }
  s.retry_pending();
  return s.finish();
}

Effects Allocator::peer_down(Millis now, PeerName peer) {
  State& s = *state_;
  s.now = now;
  s.reachable.erase(peer);
  for (auto& [wanted, ask] : s.asks) {
    if (ask.donor == peer) {
      ask.donor.reset();
    }
  }
  s.retry_pending();
  return s.finish();
}

Effects Allocator::tick(Millis now) {
  State& s = *state_;
  s.now = now;
  for (auto& [wanted, ask] : s.asks) {
    if (ask.donor && now - ask.sent_at >= s.config.donor_timeout) {
      ask.tried.insert(*ask.donor);
      ask.donor.reset();
    }
  }
  if (s.paxos && s.ring.empty() && s.repropose_due()) {
    s.last_propose = now;
    s.paxos->propose();
    s.paxos->think();
    s.paxos_changed();
  }
  if (s.paxos_send_due && s.paxos && s.ring.empty()) {
    s.send_paxos();
  }
  s.paxos_send_due = false;
  if (now - s.last_free_report >= s.config.free_report_interval) {
    s.last_free_report = now;
    s.report_free();
  }
  if (!s.ring.empty() && now - s.last_gossip >= s.config.gossip_interval) {
    s.last_gossip = now;
    s.send(Delivery::kGossip, PeerName(), RingUpdate{s.ring.encode()});
    for (PeerName owner : s.held_sync) {
      if (s.reachable.contains(owner)) {
        s.sync_held(owner);
      }
    }
  }
  for (const RingConflict& ended : s.ring_conflicts.expire(now)) {
    s.end_conflict(ended, "not seen for " + millis_text(s.config.conflict_memory));
  }
  s.retry_pending();
  s.expire_pending();
  return s.finish();
}

Effects Allocator::ring_conflict(Millis now, const PeerIdentity& peer,
                                 std::vector<PeerName> theirs) {
  State& s = *state_;
  s.now = now;
  s.conflict_with(peer, std::move(theirs));
  return s.finish();
}

Effects Allocator::shutdown(Millis now) {
  State& s = *state_;
  s.now = now;
  s.shutting_down = true;
  for (const Pending& p : s.pending) {
    s.reply(p.id, Status::cancelled("weave-ipam is shutting down"));
  }
  s.pending.clear();
  return s.finish();
}

StatusReport Allocator::status() const {
  const State& s = *state_;
  StatusReport report;
  report.self = s.config.self;
  report.universe = s.config.universe;
  report.init = std::holds_alternative<SeedInit>(s.config.init)       ? "seed"
                : std::holds_alternative<ObserverInit>(s.config.init) ? "observer"
                                                                      : "consensus";
  report.consensus = s.consensus;
  if (s.paxos) {
    report.quorum = s.paxos->quorum();
    report.known = s.paxos->known_nodes();
  }
  report.allocated = s.allocations.size();
  report.owned = 0;
  for (const Range& r : s.space.owned_ranges()) {
    report.owned += r.size();
  }
  report.free = s.space.free_count();
  std::map<PeerName, PeerRow> rows;
  const std::vector<Entry>& entries = s.ring.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    bool reachable = e.owner == s.config.self.name || s.reachable.contains(e.owner);
    auto nick_it = s.nicknames.find(e.owner);
    std::string nickname = e.owner == s.config.self.name  ? s.config.self.nickname
                           : nick_it == s.nicknames.end() ? ""
                                                          : nick_it->second;
    Address end = i + 1 < entries.size() ? entries[i + 1].token : s.universe.end();
    Range r(e.token, end);
    report.ring.push_back({r, e.owner, nickname, reachable, e.version, e.free});
    PeerRow& row = rows[e.owner];
    row.name = e.owner;
    row.nickname = nickname;
    row.reachable = reachable;
    row.free += e.free;
  }
  for (const auto& [peer, owned] : s.ring.owned_by_peer()) {
    rows[peer].owned = owned;
  }
  for (auto& [peer, row] : rows) {
    report.peers.push_back(row);
  }
  for (const Pending& p : s.pending) {
    if (const auto* a = std::get_if<AllocateCommand>(&p.command)) {
      report.pending_allocates.push_back(a->owner + " " + a->subnet.to_string() + ": waiting for " +
                                         p.waiting_for);
    } else if (const auto* c = std::get_if<ClaimCommand>(&p.command)) {
      report.pending_claims.push_back(c->owner + " " + c->address.to_string() + ": waiting for " +
                                      p.waiting_for);
    }
  }
  report.conflicts = s.conflicts;
  report.ring_conflicts = s.ring_conflicts.list();
  for (const RingConflict& c : report.ring_conflicts) {
    report.conflicts.push_back(c.message());
  }
  for (const auto& [a, allocation] : s.allocations) {
    if (is_peer_owner(allocation.owner)) {
      ++report.reserved_for_peers;
    } else if (!s.space.owns(a)) {
      ++report.held_elsewhere;
    }
  }
  bool owns_reachable_space = report.owned > 0;
  for (const PeerRow& row : report.peers) {
    owns_reachable_space = owns_reachable_space || (row.reachable && row.owned > 0);
  }
  report.ready =
      s.consensus == ConsensusState::kAchieved && owns_reachable_space && s.ring_conflicts.empty();
  if (!s.ring_conflicts.empty()) {
    report.summary = "not handing out addresses: " + s.ring_conflicts.summary();
  } else if (s.consensus == ConsensusState::kDeferred) {
    report.summary = std::holds_alternative<ObserverInit>(s.config.init) ? "priming" : "idle";
  } else if (s.consensus == ConsensusState::kWaiting) {
    report.summary = "awaiting consensus (quorum: " + std::to_string(report.quorum) +
                     ", known: " + std::to_string(report.known) + ")";
  } else if (!owns_reachable_space) {
    report.summary =
        "all IP ranges owned by unreachable peers - use 'weave-ipam rmpeer' if they are dead";
  } else if (!report.pending_allocates.empty()) {
    report.summary = "waiting for IP(s) to become available";
  } else {
    report.summary = "ready";
  }
  return report;
}

const Ring& Allocator::ring() const { return state_->ring; }
const Space& Allocator::space() const { return state_->space; }
const std::map<Address, std::string>& Allocator::allocations() const { return state_->owners_view; }
bool Allocator::reachable(PeerName peer) const { return state_->reachable.contains(peer); }
std::size_t Allocator::pending_count() const { return state_->pending.size(); }
Status Allocator::check_invariants() const { return state_->check_invariants(); }

std::vector<Cidr> Allocator::lookup(const std::string& owner) const {
  std::vector<Cidr> out;
  auto it = state_->by_owner.find(owner);
  if (it != state_->by_owner.end()) {
    for (const Address& a : it->second) {
      out.emplace_back(a, state_->allocations.at(a).prefix_len);
    }
  }
  return out;
}

}  // namespace wipam::ring
