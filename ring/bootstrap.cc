#include "ring/bootstrap.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace wipam::ring {

void Bootstrap::start(const PaxosPersistent& promised) {
  persistent_ = promised;
  if (!ctx_.ring.empty()) {
    consensus_ = ConsensusState::kAchieved;
  }
  create_seed_ring();
}

void Bootstrap::create_seed_ring() {
  const auto* seed = std::get_if<SeedInit>(&ctx_.config.init);
  if (seed == nullptr || !ctx_.ring.empty()) {
    return;
  }
  Status s = split_ring(seed->seeds);
  if (!s.ok()) {
    ctx_.out.event(EventLevel::kError, EventKind::kSeed,
                   "cannot split the ring among the seeds: " + s.message());
    return;
  }
  ctx_.out.event(EventLevel::kInfo, EventKind::kRingCreated,
                 "ring split among " + std::to_string(ctx_.ring.seeds().size()) + " seed peers");
}

// Creates the ring split among `peers` and takes our share of it, with the addresses already
// recorded there (a store may hold allocations and no ring: they must never be handed out
// again).
Status Bootstrap::split_ring(std::vector<PeerName> peers) {
  WIPAM_RETURN_IF_ERROR(ctx_.ring.claim_for_peers(std::move(peers)));
  ctx_.take_own_ranges();
  consensus_ = ConsensusState::kAchieved;
  ctx_.persist_ring();
  return Status();
}

void Bootstrap::establish_ring() {
  if (!ctx_.ring.empty() || ctx_.shutting_down) {
    return;
  }
  if (!std::holds_alternative<ConsensusInit>(ctx_.config.init)) {
    if (ctx_.now - last_propose_ >= ctx_.config.propose_interval || last_propose_ == Millis{0}) {
      last_propose_ = ctx_.now;
      ctx_.out.broadcast(RingRequest{});
    }
    return;
  }
  if (!paxos_) {
    elector();
    propose();
  }
}

void Bootstrap::on_ring_request(PeerName from) {
  if (!ctx_.ring.empty()) {
    ctx_.send_ring(from);
  } else if (std::holds_alternative<ConsensusInit>(ctx_.config.init)) {
    establish_ring();  // an observer asked: electors start consensus for it
  }
}

void Bootstrap::on_paxos(PeerName from, const PaxosUpdate& m) {
  if (!ctx_.ring.empty()) {
    ctx_.send_ring(from);  // help it finish
    return;
  }
  if (!std::holds_alternative<ConsensusInit>(ctx_.config.init)) {
    return;  // observers never vote; seed peers have their ring already
  }
  Result<PaxosGossip> gossip = Paxos::decode(m.state);
  if (!gossip.ok()) {
    ctx_.out.event(
        EventLevel::kWarn, EventKind::kBadMessage,
        "consensus state from " + ctx_.nick(from) + " refused: " + gossip.status().message());
    return;
  }
  Paxos& paxos = elector();
  bool changed = paxos.merge(*gossip);
  changed = paxos.think() || changed;
  if (changed) {
    last_news_ = ctx_.now;
    paxos_changed();
  }
}

void Bootstrap::ring_received() {
  consensus_ = ConsensusState::kAchieved;
  paxos_.reset();
}

void Bootstrap::peer_up(PeerName peer) {
  if (!ctx_.ring.empty()) {
    ctx_.send_ring(peer);
  } else if (paxos_) {
    ctx_.out.unicast(peer, PaxosUpdate{Paxos::encode(paxos_->gossip())});
  }
}

void Bootstrap::tick() {
  if (paxos_ && ctx_.ring.empty() && repropose_due()) {
    propose();
  }
  if (send_due_ && paxos_ && ctx_.ring.empty()) {
    send_paxos();
  }
  send_due_ = false;
}

const char* Bootstrap::mode() const {
  return std::holds_alternative<SeedInit>(ctx_.config.init)       ? "seed"
         : std::holds_alternative<ObserverInit>(ctx_.config.init) ? "observer"
                                                                  : "consensus";
}

std::string Bootstrap::waiting_for() const {
  return consensus_ == ConsensusState::kWaiting
             ? "consensus on the ring (quorum " + std::to_string(quorum()) + ", known " +
                   std::to_string(known_nodes()) + ")"
             : "a ring from another peer";
}

// Our elector, created on first use. REQUIRES: consensus mode.
Paxos& Bootstrap::elector() {
  if (!paxos_) {
    unsigned quorum = std::get<ConsensusInit>(ctx_.config.init).quorum;
    paxos_.emplace(ctx_.self(), quorum, persistent_);
    consensus_ = ConsensusState::kWaiting;
  }
  return *paxos_;
}

void Bootstrap::propose() {
  last_propose_ = ctx_.now;
  paxos_->propose();
  paxos_->think();
  paxos_changed();
}

// Persists what we promised, tells everyone, and creates the ring once decided.
void Bootstrap::paxos_changed() {
  const PaxosPersistent& promised = paxos_->persistent();
  if (!(promised == persistent_)) {
    persistent_ = promised;
    ctx_.out.write(paxos_write(promised));
    own_changed_ = true;
  }
  // Coalesced: sent at most once per tick, by send_paxos().
  send_due_ = true;
  std::optional<std::vector<PeerName>> decided = paxos_->consensus();
  if (!decided || !ctx_.ring.empty()) {
    return;
  }
  Status s = split_ring(*decided);
  if (!s.ok()) {
    ctx_.out.event(EventLevel::kError, EventKind::kConsensus,
                   "cannot split the ring: " + s.message());
    return;
  }
  ctx_.broadcast_ring();
  ctx_.out.event(
      EventLevel::kInfo, EventKind::kConsensus,
      "consensus reached: ring split among " + std::to_string(decided->size()) + " peers");
  ring_created_();
}

// Sends what we know of the consensus, encoded once. A small cluster hears every change by
// broadcast. In a larger one that would cost every round n^2 messages of n entries, so the
// roles of Paxos choose the receivers: a proposer broadcasts its own changes (the request for
// promises, then for acceptance); an elector tells the proposer it promised of its own (its
// promise, its acceptance); and every change goes on to the next kPaxosRelays reachable peers
// in name order, a different few each time, which carries it to those that missed it.
void Bootstrap::send_paxos() {
  PaxosUpdate update{Paxos::encode(paxos_->gossip())};
  PeerName proposer = paxos_->persistent().promised.proposer;
  bool own_changed = std::exchange(own_changed_, false);
  const std::set<PeerName>& reachable = ctx_.reachable;
  if (reachable.size() <= kPaxosRelays || (own_changed && proposer == ctx_.self())) {
    ctx_.out.broadcast(std::move(update));
    return;
  }
  std::vector<PeerName> targets;
  if (own_changed && !proposer.unknown() && reachable.contains(proposer)) {
    targets.push_back(proposer);
  }
  auto next = reachable.upper_bound(relay_cursor_);
  for (std::size_t k = 0; k < kPaxosRelays; ++k) {
    if (next == reachable.end()) {
      next = reachable.begin();
    }
    relay_cursor_ = *next++;
    if (targets.empty() || targets.front() != relay_cursor_) {
      targets.push_back(relay_cursor_);
    }
  }
  for (PeerName to : targets) {
    ctx_.out.unicast(to, update);
  }
}

// A proposer that re-proposes while others make progress only starts a duel: with a hundred
// peers primed at once, all re-proposing every interval kept preempting each other while
// their floods filled the links. So a peer re-proposes only once the consensus has been
// quiet (no news, no proposal of ours) for the interval plus a share of it fixed by its
// name, so that the first to wake usually finishes alone.
bool Bootstrap::repropose_due() const {
  std::uint64_t spread = ctx_.config.propose_interval.count() / 2 + 1;
  std::uint64_t mixed = ctx_.self().value() * 0x9E3779B97F4A7C15ULL;
  Millis wait =
      ctx_.config.propose_interval + Millis{static_cast<Millis::rep>((mixed >> 32) % spread)};
  return ctx_.now - std::max(last_propose_, last_news_) >= wait;
}

}  // namespace wipam::ring
