#include "tests/sim/sim_world.h"

#include <algorithm>
#include <sstream>

#include "tests/sim/sim_peer.h"

namespace wipam::sim {

using ring::Address;
using ring::Allocator;
using ring::Effects;
using ring::PeerName;

namespace {

constexpr std::size_t kTraceLines = 400;
constexpr Millis kTickInterval{100};

std::string owner_of(const ring::Command& command, const ring::Cidr& address) {
  if (const auto* a = std::get_if<ring::AllocateCommand>(&command)) {
    return a->owner.empty() ? address.address().to_string() : a->owner;
  }
  if (const auto* c = std::get_if<ring::ClaimCommand>(&command)) {
    return c->owner.empty() ? address.address().to_string() : c->owner;
  }
  return "";
}

}  // namespace

SimWorld::SimWorld(SimOptions options) : options_(options), rng_(options.seed) {
  int electors = options_.peers - options_.observers;
  std::vector<PeerName> names;
  for (int i = 0; i < options_.peers; ++i) {
    names.push_back(PeerName(static_cast<std::uint64_t>(i + 1)));
  }
  for (int i = 0; i < options_.peers; ++i) {
    auto peer = std::make_unique<Peer>();
    ring::AllocatorConfig config;
    config.self = {names[static_cast<std::size_t>(i)], "peer-" + std::to_string(i), 1};
    if (options_.seed_mode) {
      config.init = ring::SeedInit{names};
    } else if (i >= electors) {
      config.init = ring::ObserverInit{};
    } else {
      config.init = ring::ConsensusInit{static_cast<unsigned>(electors / 2 + 1)};
    }
    config.op_deadline = options_.op_deadline;
    config.donor_timeout = Millis{500};
    config.gossip_interval = Millis{2000};
    config.propose_interval = Millis{1000};
    config.free_report_interval = Millis{1000};
    for (std::size_t r = 0; r < ranges(); ++r) {
      config.universe = universe(r);
      peer->configs.push_back(config);
    }
    peers_.push_back(std::move(peer));
  }
  group_.assign(peers_.size(), 0);
  linked_.assign(peers_.size(), std::vector<bool>(peers_.size(), false));
  for (int i = 0; i < size(); ++i) {
    restart(i);
  }
}

SimWorld::~SimWorld() = default;

PeerName SimWorld::name(int i) const {
  return peers_[static_cast<std::size_t>(i)]->configs.front().self.name;
}

bool SimWorld::alive(int i) const {
  return peers_[static_cast<std::size_t>(i)]->allocators != nullptr;
}

bool SimWorld::buried(int i) const { return peers_[static_cast<std::size_t>(i)]->buried; }

const Allocator& SimWorld::allocator(int i, std::size_t r) const {
  return peers_[static_cast<std::size_t>(i)]->allocators->at(r);
}

void SimWorld::note(int peer, const std::string& what) {
  trace_.push_back("t=" + std::to_string(now_.count()) + " p" + std::to_string(peer) + ": " + what);
  if (trace_.size() > kTraceLines) {
    trace_.pop_front();
  }
}

std::string SimWorld::trace() const {
  std::ostringstream out;
  for (const std::string& line : trace_) {
    out << line << "\n";
  }
  return out.str();
}

void SimWorld::schedule(Millis at, std::function<void()> action) {
  events_.emplace(std::make_pair(at, event_seq_++), std::move(action));
}

void SimWorld::crash(int i) {
  Peer& p = *peers_[static_cast<std::size_t>(i)];
  if (!p.allocators) {
    return;
  }
  note(i, "CRASH (losing unsynced writes)");
  p.allocators.reset();
  ++p.incarnation;
  p.outstanding.clear();
  p.durable_until = now_;
  relink();
}

void SimWorld::restart(int i) {
  Peer& p = *peers_[static_cast<std::size_t>(i)];
  if (p.allocators || p.buried) {
    return;
  }
  ++p.incarnation;
  for (ring::AllocatorConfig& c : p.configs) {
    c.self.uid = p.incarnation;
  }
  p.allocators = std::make_unique<ring::RangeAllocators>(p.configs);
  Result<Effects> started = p.allocators->start(now_, p.store);
  note(i, "RESTART with " + std::to_string(p.store.size()) + " stored keys");
  if (!started.ok()) {
    violations_.push_back("peer " + std::to_string(i) +
                          " could not restart from its store: " + started.status().to_string());
    return;
  }
  for (const auto& [address, holder] : acked_) {
    if (holder.first == i && lost(i, address, holder.second)) {
      violations_.push_back("peer " + std::to_string(i) + " lost acknowledged " +
                            address.to_string() + " of " + holder.second + " across a crash");
    }
  }
  for (const auto& [address, holders] : shared_acked_.all()) {
    auto it = holders.find(i);
    if (it != holders.end() && lost(i, address, it->second)) {
      violations_.push_back("peer " + std::to_string(i) + " lost shared " + address.to_string() +
                            " of " + it->second + " across a crash");
    }
  }
  apply(i, std::move(*started));
  relink();
}

bool SimWorld::rmpeer_is_safe(int dead, int survivor) const {
  const Allocator::Stored& stored = peers_[static_cast<std::size_t>(dead)]->store;
  for (std::size_t r = 0; r < ranges(); ++r) {
    auto bytes = stored.find(ring::range_key_prefix(r, universe(r)) + ring::kRingKey);
    if (bytes == stored.end()) {
      continue;  // it never had this ring, so it gave nothing of it away
    }
    Result<ring::Ring> last =
        ring::Ring::decode(std::span(reinterpret_cast<const std::uint8_t*>(bytes->second.data()),
                                     bytes->second.size()),
                           name(survivor));
    ring::Ring current = allocator(survivor, r).ring();
    Result<ring::MergeOutcome> merged = last.ok() ? current.merge(*last) : last.status();
    if (!merged.ok() || merged->changed) {
      return false;
    }
  }
  return shares_known(dead, survivor);
}

// The survivor heard what the dead peer last shared of its space, as it hears its last ring:
// every change is broadcast and gossiped (share_notices.h).
bool SimWorld::shares_known(int dead, int survivor) const {
  const Peer& p = *peers_[static_cast<std::size_t>(dead)];
  ring::RangeAllocators last(p.configs);
  if (!last.start(now_, p.store).ok()) {
    return false;
  }
  for (std::size_t r = 0; r < ranges(); ++r) {
    ring::SharesNotice theirs = last.at(r).shares_notice();
    const ring::SharesNotice* heard = allocator(survivor, r).shares_heard_from(name(dead));
    if (!theirs.shares.empty() && (heard == nullptr || !(*heard == theirs))) {
      return false;
    }
  }
  return true;
}

ring::RequestId SimWorld::bury(int dead, int survivor) {
  Peer& p = *peers_[static_cast<std::size_t>(dead)];
  p.buried = true;
  for (auto it = acked_.begin(); it != acked_.end();) {
    it = it->second.first == dead ? acked_.erase(it) : std::next(it);
  }
  shared_acked_.forget(dead);
  note(dead, "BURIED; rmpeer on p" + std::to_string(survivor));
  return submit(survivor, ring::RemovePeerCommand{name(dead), false});
}

void SimWorld::partition(const std::vector<int>& group) {
  group_ = group;
  std::string text = "PARTITION";
  for (int g : group) {
    text += " " + std::to_string(g);
  }
  note(-1, text);
  relink();
}

void SimWorld::heal() {
  group_.assign(peers_.size(), 0);
  note(-1, "HEAL");
  relink();
}

bool SimWorld::connected(int a, int b) const {
  return a != b && alive(a) && alive(b) &&
         group_[static_cast<std::size_t>(a)] == group_[static_cast<std::size_t>(b)];
}

void SimWorld::relink() {
  for (int i = 0; i < size(); ++i) {
    for (int j = 0; j < size(); ++j) {
      bool now_linked = connected(i, j);
      if (i == j ||
          linked_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] == now_linked) {
        continue;
      }
      linked_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = now_linked;
      if (!alive(i)) {
        continue;
      }
      ring::RangeAllocators& a = *peers_[static_cast<std::size_t>(i)]->allocators;
      apply(i, now_linked
                   ? a.peer_up(now_, peers_[static_cast<std::size_t>(j)]->configs.front().self)
                   : a.peer_down(now_, name(j)));
    }
  }
}

ring::RequestId SimWorld::submit(int peer, ring::Command command) {
  ring::RequestId id = next_id_++;
  requests_[id] = {peer, command};
  if (!alive(peer)) {
    return id;
  }
  Peer& p = *peers_[static_cast<std::size_t>(peer)];
  p.outstanding.insert(id);
  apply(peer, p.allocators->command(now_, id, command));
  return id;
}

std::optional<ring::Reply> SimWorld::reply(ring::RequestId id) const {
  auto it = replies_.find(id);
  return it == replies_.end() ? std::nullopt : std::optional(it->second);
}

std::size_t SimWorld::outstanding() const {
  std::size_t n = 0;
  for (const auto& p : peers_) {
    n += p->outstanding.size();
  }
  return n;
}

void SimWorld::apply(int peer, Effects effects) {
  Peer& p = *peers_[static_cast<std::size_t>(peer)];
  for (const ring::Event& e : effects.events) {
    note(peer, std::string(ring::event_kind_name(e.kind)) + ": " + e.message);
    if (e.kind == ring::EventKind::kShared && e.message.rfind("kept ", 0) == 0) {
      ++kept_after_rmpeer_;  // share_notices.h at work
    }
    if (e.kind == ring::EventKind::kBug || e.kind == ring::EventKind::kDuplicate) {
      violations_.push_back("peer " + std::to_string(peer) + " reported " +
                            ring::event_kind_name(e.kind) + ": " + e.message);
    }
  }
  if (effects.empty()) {
    return;
  }
  Millis at = std::max(now_ + Millis{effects.writes.empty() ? 0 : options_.write_delay_ms},
                       p.durable_until);
  p.durable_until = at;
  std::uint64_t incarnation = p.incarnation;
  auto shared = std::make_shared<Effects>(std::move(effects));
  schedule(at, [this, peer, incarnation, shared] { release_effects(peer, incarnation, *shared); });
}

void SimWorld::release_effects(int peer, std::uint64_t incarnation, const Effects& effects) {
  Peer& p = *peers_[static_cast<std::size_t>(peer)];
  if (p.incarnation != incarnation || !p.allocators) {
    return;  // crashed before the writes were durable: all of it is lost
  }
  for (const ring::StoreWrite& w : effects.writes) {
    if (w.value) {
      p.store[w.key] = *w.value;
    } else {
      p.store.erase(w.key);
    }
  }
  for (const ring::OutgoingMessage& m : effects.messages) {
    route(peer, m);
  }
  for (const ring::Reply& r : effects.replies) {
    on_reply(peer, r);
  }
}

void SimWorld::route(int from, const ring::OutgoingMessage& message) {
  std::vector<std::uint8_t> payload =
      peers_[static_cast<std::size_t>(from)]->allocators->encode(message);
  std::vector<int> targets;
  for (int j = 0; j < size(); ++j) {
    if (!connected(from, j)) {
      continue;
    }
    if (message.delivery == ring::Delivery::kUnicast && name(j) != message.to) {
      continue;
    }
    targets.push_back(j);
  }
  if (message.delivery == ring::Delivery::kGossip && !targets.empty()) {
    targets = {targets[rng_() % targets.size()]};
  }
  for (int j : targets) {
    deliver_later(from, j, payload);
  }
}

void SimWorld::deliver_later(int from, int to, std::vector<std::uint8_t> payload) {
  ++messages_sent_;
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  if (chance(rng_) < options_.loss) {
    return;
  }
  int copies = chance(rng_) < options_.duplicate ? 2 : 1;
  std::uint64_t from_inc = peers_[static_cast<std::size_t>(from)]->incarnation;
  std::uint64_t to_inc = peers_[static_cast<std::size_t>(to)]->incarnation;
  auto shared = std::make_shared<std::vector<std::uint8_t>>(std::move(payload));
  for (int c = 0; c < copies; ++c) {
    int span = std::max(0, options_.max_delay_ms - options_.min_delay_ms);
    Millis delay{options_.min_delay_ms +
                 static_cast<int>(rng_() % static_cast<unsigned>(span + 1))};
    schedule(now_ + delay, [this, from, to, from_inc, to_inc, shared] {
      Peer& target = *peers_[static_cast<std::size_t>(to)];
      if (target.incarnation != to_inc ||
          peers_[static_cast<std::size_t>(from)]->incarnation != from_inc || !connected(from, to)) {
        return;  // the connection this message travelled on is gone
      }
      Result<ring::RangedMessage> m = ring::decode_ranged_message(*shared);
      if (!m.ok()) {
        violations_.push_back("p" + std::to_string(from) +
                              " sent bytes that do not decode: " + m.status().to_string());
        return;
      }
      apply(to, target.allocators->message(now_, name(from), *m));
    });
  }
}

void SimWorld::on_reply(int peer, const ring::Reply& reply) {
  Peer& p = *peers_[static_cast<std::size_t>(peer)];
  p.outstanding.erase(reply.id);
  replies_[reply.id] = reply;
  const ring::Command& command = requests_[reply.id].second;
  note(peer, "reply " + std::to_string(reply.id) + ": " + reply.status.to_string() +
                 (reply.addresses.empty() ? "" : " " + reply.addresses.front().to_string()));
  if (!reply.status.ok()) {
    return;
  }
  if (std::holds_alternative<ring::AllocateCommand>(command) ||
      std::holds_alternative<ring::ClaimCommand>(command)) {
    for (const ring::Cidr& c : reply.addresses) {
      on_acked(peer, command, c);
    }
  } else if (const auto* r = std::get_if<ring::ReleaseCommand>(&command)) {
    auto it = acked_.find(r->address);
    if (it != acked_.end() && it->second.first == peer &&
        (!r->owner || *r->owner == it->second.second)) {
      acked_.erase(it);
    }
    shared_acked_.released(peer, r->address, r->owner);
  } else if (std::holds_alternative<ring::ReleaseOwnerCommand>(command)) {
    for (const ring::Cidr& c : reply.addresses) {
      auto it = acked_.find(c.address());
      if (it != acked_.end() && it->second.first == peer) {
        acked_.erase(it);
      }
      shared_acked_.released(peer, c.address(), std::nullopt);
    }
  }
}

void SimWorld::on_acked(int peer, const ring::Command& command, const ring::Cidr& c) {
  std::string owner = owner_of(command, c);
  const auto* claim = std::get_if<ring::ClaimCommand>(&command);
  const auto* allocate = std::get_if<ring::AllocateCommand>(&command);
  if ((claim != nullptr && claim->sharing != ring::Sharing::kNone) ||
      (allocate != nullptr && allocate->offer_share)) {
    std::optional<std::string> wrong = shared_acked_.acked(peer, c.address(), owner);
    auto unique = acked_.find(c.address());
    if (!wrong && unique != acked_.end()) {
      wrong = "shared " + c.address().to_string() + " acknowledged to " + owner + " on p" +
              std::to_string(peer) + " while " + unique->second.second + " holds it";
    }
    if (wrong) {
      violations_.push_back(*wrong);
    }
    return;
  }
  auto [it, inserted] = acked_.emplace(c.address(), std::make_pair(peer, owner));
  if ((!inserted && it->second != std::make_pair(peer, owner)) ||
      shared_acked_.holds(c.address())) {
    violations_.push_back("address " + c.address().to_string() + " acknowledged to " + owner +
                          " on p" + std::to_string(peer) + " while another holder has it");
  }
}

void SimWorld::step_to(Millis t) {
  while (true) {
    bool have_event = !events_.empty() && events_.begin()->first.first <= t;
    bool tick_due = next_tick_ <= t;
    if (!have_event && !tick_due) {
      break;
    }
    if (have_event && (!tick_due || events_.begin()->first.first <= next_tick_)) {
      auto node = events_.extract(events_.begin());
      now_ = node.key().first;
      node.mapped()();
      continue;
    }
    now_ = next_tick_;
    next_tick_ += kTickInterval;
    for (int i = 0; i < size(); ++i) {
      if (alive(i)) {
        apply(i, peers_[static_cast<std::size_t>(i)]->allocators->tick(now_));
      }
    }
  }
  now_ = t;
}

void SimWorld::run_for(Millis duration) { step_to(now_ + duration); }

bool SimWorld::run_until(const std::function<bool()>& done, Millis limit) {
  Millis end = now_ + limit;
  while (now_ < end) {
    if (done()) {
      return true;
    }
    step_to(std::min(end, now_ + Millis{10}));
  }
  return done();
}

ring::Uint128 SimWorld::free_anywhere(std::size_t r) const {
  ring::Uint128 free = 0;
  ring::Range hosts = universe(r).host_range();
  for (int i = 0; i < size(); ++i) {
    if (alive(i)) {
      free += allocator(i, r).space().free_count(hosts);
    }
  }
  return free;
}

}  // namespace wipam::sim
