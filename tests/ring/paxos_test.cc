// Paxos, the consensus that creates the ring: a single elector with quorum 1 decides at once
// (W-38); hand-driven exchanges show each step, that a value accepted by a quorum under
// different proposals is no decision, and that an elector restored from its persisted state
// keeps a decision that an elector without it would contradict (Weave's W-40). Seeded
// simulations run electors over a network with random partial connectivity, isolation of up
// to all but a quorum, reordering, random re-proposals and electors heard of mid-election
// (W-39: 10 electors, 500 trials), then the same plus loss, duplication, restarts from the
// persisted state and crashes between thinking and persisting (3 to 10 electors, 300 trials).
// After every event no elector may learn a decision other than the first, and the persisted
// states themselves must show one value per proposal and one value ever accepted by a quorum;
// once the network heals (connected, quiet between re-proposals) all must decide. Quorum edge
// cases, observers, gossip that holds each value once (encoded and merged), and decoding of
// truncated, hostile and random input complete it. Seeds are 1..N plus one fresh seed,
// printed on failure; WIPAM_SEED=<n> replays one, and WIPAM_PAXOS_TRIALS=<n> sets N for the
// simulations (for soak runs).
#include "ring/paxos.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/ring/hostile_cbor.h"

namespace wipam::ring {
namespace {

using Names = std::vector<PeerName>;

PeerName peer(unsigned i) { return PeerName(i + 1); }

Names peers(std::initializer_list<unsigned> ids) {
  Names out;
  for (unsigned i : ids) {
    out.push_back(peer(i));
  }
  return out;
}

// Seeds 1..n and one fresh one, or just WIPAM_SEED.
std::vector<std::uint64_t> seeds(unsigned n) {
  if (const char* env = std::getenv("WIPAM_SEED")) {
    return {std::strtoull(env, nullptr, 0)};
  }
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = 1; s <= n; ++s) {
    out.push_back(s);
  }
  out.push_back(std::random_device{}());  // new coverage each run; printed on failure
  return out;
}

// Seeds for the network simulations: as seeds(), with n overridden by WIPAM_PAXOS_TRIALS.
std::vector<std::uint64_t> trial_seeds(unsigned n) {
  if (const char* env = std::getenv("WIPAM_PAXOS_TRIALS")) {
    n = static_cast<unsigned>(std::strtoul(env, nullptr, 0));
  }
  return seeds(n);
}

// Delivers a's gossip to b and lets b think; true iff b changed anything.
bool send(const Paxos& a, Paxos& b) {
  bool knowledge = b.merge(a.gossip());
  bool own = knowledge && b.think();
  return knowledge || own;
}

// ---------------------------------------------------------------------------------------------
// Hand-driven cases.

TEST(PaxosTest, SingleElectorWithQuorumOneDecidesAtOnce) {
  Paxos p(peer(0), 1);
  EXPECT_FALSE(p.consensus());
  EXPECT_TRUE(p.propose());
  ASSERT_TRUE(p.consensus());
  EXPECT_EQ(*p.consensus(), peers({0}));
}

TEST(PaxosTest, ThreeElectorsDecideTheElectorsTheProposerKnew) {
  Paxos a(peer(0), 2), b(peer(1), 2), c(peer(2), 2);
  send(c, a);  // a now knows c exists
  a.propose();
  EXPECT_EQ(a.promises_for_us(), 1u);
  EXPECT_TRUE(send(a, b));  // b promises
  EXPECT_EQ(b.persistent().promised, a.persistent().promised);
  EXPECT_FALSE(b.consensus());
  EXPECT_TRUE(send(b, a));  // a has a quorum of promises: it picks a value and accepts it
  EXPECT_TRUE(a.persistent().has_accepted());
  EXPECT_EQ(a.persistent().accepted_value, peers({0, 1, 2}));
  EXPECT_FALSE(a.consensus());
  EXPECT_TRUE(send(a, b));  // b accepts: a quorum accepted
  ASSERT_TRUE(b.consensus());
  EXPECT_EQ(*b.consensus(), peers({0, 1, 2}));
  send(b, a);
  send(b, c);  // c learns without ever voting
  EXPECT_EQ(a.consensus(), b.consensus());
  EXPECT_EQ(c.consensus(), b.consensus());
}

// A quorum accepting one value under different proposals is no decision: here {a, b} is
// accepted by a under (1, a) and by c under (3, c), yet (4, b) rightly decides {a, b, c}.
TEST(PaxosTest, OneValueAcceptedUnderDifferentProposalsIsNoDecision) {
  Paxos a(peer(0), 2), b(peer(1), 2), c(peer(2), 2);
  a.propose();
  send(a, b);
  send(b, a);  // a accepts (1, a) = {a, b}; b never hears of it
  send(c, b);
  b.propose();
  send(b, c);
  send(c, b);  // b accepts (2, b) = {a, b, c}; nobody hears of it
  ASSERT_EQ(b.persistent().accepted_value, peers({0, 1, 2}));
  c.propose();
  send(c, a);
  send(a, c);  // c's quorum {a, c} saw only (1, a): c accepts (3, c) = {a, b}
  ASSERT_EQ(c.persistent().accepted_value, peers({0, 1}));
  EXPECT_FALSE(c.consensus());
  send(a, b);
  b.propose();
  send(b, a);
  send(a, b);  // b's quorum {a, b}: (2, b) is the highest acceptance, so {a, b, c}
  send(b, a);
  ASSERT_TRUE(a.consensus());
  EXPECT_EQ(*a.consensus(), peers({0, 1, 2}));
  send(a, c);
  EXPECT_EQ(c.consensus(), a.consensus());
}

TEST(PaxosTest, StaleAndRepeatedGossipChangesNothing) {
  Paxos a(peer(0), 2), b(peer(1), 2);
  a.propose();
  PaxosGossip old = a.gossip();
  a.propose();
  EXPECT_TRUE(send(a, b));
  EXPECT_FALSE(send(a, b));
  EXPECT_FALSE(b.merge(old));
  EXPECT_FALSE(b.think());
}

// Electors a and b decide {a, b} while c is cut off; then b restarts and c proposes.
struct RestartScenario {
  Paxos a{peer(0), 2}, c{peer(2), 2};
  std::optional<Paxos> b{std::in_place, peer(1), 2u};

  void decide_without_c() {
    a.propose();
    send(a, *b);
    send(*b, a);
    send(a, *b);
    ASSERT_TRUE(b->consensus());
    ASSERT_EQ(*b->consensus(), peers({0, 1}));
  }
  // c, knowing nothing, proposes (1, c) > (1, a) and hears only from b.
  void c_proposes_to_b() {
    c.propose();
    send(c, *b);
    send(*b, c);
    send(c, *b);
    send(*b, c);
  }
};

TEST(PaxosTest, ElectorRestoredFromItsPersistedStateKeepsTheDecision) {
  RestartScenario s;
  s.decide_without_c();
  PaxosPersistent stored = s.b->persistent();
  s.b.emplace(peer(1), 2u, stored);
  s.c_proposes_to_b();
  ASSERT_TRUE(s.c.consensus());
  EXPECT_EQ(*s.c.consensus(), peers({0, 1}));
  EXPECT_EQ(s.b->consensus(), s.c.consensus());
}

// The failure persistence exists to prevent (W-40): an elector that forgets its acceptance
// lets a second quorum decide something else.
TEST(PaxosTest, ElectorRestartedWithoutItsStateCanContradictTheDecision) {
  RestartScenario s;
  s.decide_without_c();
  s.b.emplace(peer(1), 2u);
  s.c_proposes_to_b();
  ASSERT_TRUE(s.c.consensus());
  EXPECT_EQ(*s.c.consensus(), peers({1, 2}));
}

TEST(PaxosTest, ProposalNumbersGrowAcrossRestartsAndNameTheProposer) {
  Paxos other(peer(5), 3);
  other.propose();
  other.propose();  // round 2 by peer 5
  auto a = std::make_unique<Paxos>(peer(0), 3);
  send(other, *a);
  PaxosProposal last = a->persistent().promised;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(a->propose());
    EXPECT_GT(a->persistent().promised, last);
    EXPECT_EQ(a->persistent().promised.proposer, peer(0));
    last = a->persistent().promised;
    a = std::make_unique<Paxos>(peer(0), 3, a->persistent());  // forgets all but its own state
  }
  EXPECT_EQ(last.round, 7u);
}

TEST(PaxosTest, PersistentVersionGrowsIffOwnStateChanges) {
  Paxos a(peer(0), 3), b(peer(1), 3), c(peer(2), 3);
  std::uint64_t v = a.persistent_version();
  EXPECT_TRUE(a.merge(c.gossip()));  // learns of c: knowledge only
  EXPECT_FALSE(a.think());
  EXPECT_EQ(a.persistent_version(), v);
  b.propose();
  EXPECT_TRUE(a.merge(b.gossip()));
  EXPECT_EQ(a.persistent_version(), v);
  EXPECT_TRUE(a.think());  // promises b
  EXPECT_GT(a.persistent_version(), v);
  v = a.persistent_version();
  EXPECT_TRUE(a.propose());
  EXPECT_GT(a.persistent_version(), v);
}

TEST(PaxosTest, ElectorTakesBackAHigherStateOthersKnowOfIt) {
  Paxos a(peer(0), 3), b(peer(1), 3);
  a.propose();
  send(a, b);
  Paxos amnesiac(peer(0), 3);  // lost its store
  std::uint64_t v = amnesiac.persistent_version();
  EXPECT_TRUE(amnesiac.merge(b.gossip()));
  EXPECT_GT(amnesiac.persistent_version(), v);
  EXPECT_EQ(amnesiac.persistent(), a.persistent());
}

TEST(PaxosTest, DecisionSurvivesThePersistedRecordAndARestart) {
  Paxos a(peer(0), 1);
  a.propose();
  std::vector<std::uint8_t> bytes = Paxos::encode_persistent(a.persistent());
  Result<PaxosPersistent> back = Paxos::decode_persistent(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, a.persistent());
  Paxos restored(peer(0), 1, *back);
  EXPECT_EQ(restored.consensus(), a.consensus());
}

// ---------------------------------------------------------------------------------------------
// Observers and quorum edge cases.

TEST(PaxosTest, ObserversNeverVoteButRecogniseTheDecision) {
  Paxos a(peer(0), 2), b(peer(1), 2);
  Paxos o = Paxos::observer(peer(9), 2);
  EXPECT_TRUE(o.is_observer());
  EXPECT_FALSE(o.propose());
  EXPECT_EQ(o.gossip().nodes.size(), 0u);
  a.propose();
  EXPECT_TRUE(o.merge(a.gossip()));
  EXPECT_FALSE(o.think());
  EXPECT_EQ(o.gossip().nodes.count(peer(9)), 0u);  // never appears as an elector
  EXPECT_FALSE(send(o, a));                        // nothing new for a from the observer
  EXPECT_EQ(a.promises_for_us(), 1u);
  EXPECT_EQ(o.persistent(), PaxosPersistent{});
  send(a, b);
  send(b, a);
  send(a, b);
  send(b, o);
  ASSERT_TRUE(o.consensus());
  EXPECT_EQ(*o.consensus(), peers({0, 1}));  // the observer is not in the value
}

TEST(PaxosTest, OneElectorAmongObserversNeverReachesQuorumTwo) {
  Paxos a(peer(0), 2);
  std::vector<Paxos> observers;
  for (unsigned i = 1; i <= 4; ++i) {
    observers.push_back(Paxos::observer(peer(i), 2));
  }
  for (int round = 0; round < 10; ++round) {
    a.propose();
    for (Paxos& o : observers) {
      send(a, o);
      send(o, a);
    }
  }
  EXPECT_FALSE(a.consensus());
  EXPECT_EQ(a.known_nodes(), 1u);
  EXPECT_EQ(a.promises_for_us(), 1u);
}

TEST(PaxosTest, QuorumZeroNeverDecides) {
  Paxos a(peer(0), 0);
  EXPECT_TRUE(a.propose());
  EXPECT_FALSE(a.consensus());
  EXPECT_FALSE(a.persistent().has_accepted());
}

// ---------------------------------------------------------------------------------------------
// The simulated network.

PaxosNodeState state(std::uint64_t p_round, unsigned p_by, std::uint64_t a_round, unsigned a_by,
                     Names value) {
  return PaxosNodeState{PaxosProposal{p_round, p_round ? peer(p_by) : PeerName()},
                        PaxosProposal{a_round, a_round ? peer(a_by) : PeerName()},
                        std::move(value)};
}

struct Faults {
  double loss = 0;           // a delivered message is dropped
  double duplicate = 0;      // a delivered message stays in flight to be delivered again
  double restart = 0;        // per event: an elector restarts from its store
  double crash = 0;          // per delivery: the receiver crashes after thinking, before persisting
  unsigned codec_every = 8;  // every n-th message travels as bytes through encode/decode
};

// Electors joined by links that come and go. Every change an elector makes is persisted and
// then broadcast to its current neighbours; messages wait in flight and are delivered in
// random order, and only over links that are still up.
class Cluster {
 public:
  Cluster(unsigned n, unsigned quorum, std::uint64_t seed, Faults faults)
      : n_(n), quorum_(quorum), rng_(seed), faults_(faults), links_(n * n, true), nodes_(n) {
    for (unsigned i = 0; i < n; ++i) {
      nodes_[i].stored = Paxos::encode_persistent({});
      nodes_[i].paxos.emplace(peer(i), quorum);
    }
  }

  // Random chaos for `events` events; returns a safety violation, or "".
  std::string run_chaos(int events);
  // Heals the network, then lets it go quiet and re-proposes until every elector has decided.
  std::string run_heal(int max_proposals);
  // Cuts the links between `a` and `b`, keeping those inside each.
  void partition(const std::vector<unsigned>& a, const std::vector<unsigned>& b);
  void propose(unsigned i) {
    nodes_[i].paxos->propose();
    publish(i);
  }
  std::string drain() {
    while (!in_flight_.empty() && violation_.empty()) {
      deliver(pick(in_flight_.size()), /*faults=*/false);
    }
    return violation_;
  }
  const std::optional<Names>& first_decision() const { return first_; }
  const std::optional<Names>& decision(unsigned i) const { return nodes_[i].paxos->consensus(); }
  unsigned decided() const;

 private:
  struct Node {
    std::optional<Paxos> paxos;
    std::vector<std::uint8_t> stored;  // the elector's store: its persisted state
    std::uint64_t stored_version = 0;
  };
  struct Message {
    unsigned from, to;
    std::shared_ptr<const PaxosGossip> gossip;
  };

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  bool linked(unsigned a, unsigned b) const { return links_[a * n_ + b]; }
  void link(unsigned a, unsigned b, bool up) { links_[a * n_ + b] = links_[b * n_ + a] = up; }
  void rewire();
  void publish(unsigned i);
  void send(Message m);
  void deliver(std::size_t k, bool faults);
  void restart(unsigned i);
  void hear_of_new_elector(unsigned i);
  void check(unsigned i);
  void record_acceptance(unsigned i);

  unsigned n_, quorum_;
  std::mt19937_64 rng_;
  Faults faults_;
  std::vector<bool> links_;
  std::vector<Node> nodes_;
  std::vector<Message> in_flight_;
  std::uint64_t sent_ = 0;
  unsigned silent_electors_ = 0;
  bool coalesce_ = false;
  std::optional<Names> first_;  // the first decision any elector learnt
  // Ground truth from the electors' persisted states: who accepted each proposal, and the
  // value a quorum of them accepted.
  struct Ballot {
    Names value;
    std::set<unsigned> acceptors;
  };
  std::map<PaxosProposal, Ballot> ballots_;
  std::optional<Names> chosen_;
  std::string violation_;
};

// Persist first, then send: the order the allocator must keep.
void Cluster::publish(unsigned i) {
  Node& node = nodes_[i];
  if (node.paxos->persistent_version() != node.stored_version) {
    node.stored = Paxos::encode_persistent(node.paxos->persistent());
    node.stored_version = node.paxos->persistent_version();
    record_acceptance(i);
  }
  auto gossip = std::make_shared<const PaxosGossip>(node.paxos->gossip());
  if (faults_.codec_every != 0 && ++sent_ % faults_.codec_every == 0) {
    Result<PaxosGossip> back = Paxos::decode(Paxos::encode(*gossip));
    if (!back.ok() || *back != *gossip) {
      violation_ = "gossip did not survive its codec: " + back.status().to_string();
    }
  }
  for (unsigned j = 0; j < n_; ++j) {
    if (j != i && linked(i, j)) {
      send(Message{i, j, gossip});
    }
  }
  check(i);
}

// While healed, a newer snapshot replaces an undelivered one on the same link, as a gossip
// transport merges what is queued; in chaos every message travels on its own.
void Cluster::send(Message m) {
  if (coalesce_) {
    for (Message& queued : in_flight_) {
      if (queued.from == m.from && queued.to == m.to) {
        queued.gossip = std::move(m.gossip);
        return;
      }
    }
  }
  in_flight_.push_back(std::move(m));
}

void Cluster::deliver(std::size_t k, bool faults) {
  Message m = in_flight_[k];
  if (!(faults && chance(faults_.duplicate))) {
    in_flight_[k] = std::move(in_flight_.back());
    in_flight_.pop_back();
  }
  if (!linked(m.from, m.to) || (faults && chance(faults_.loss))) {
    return;
  }
  Paxos& paxos = *nodes_[m.to].paxos;
  bool changed = paxos.merge(*m.gossip);
  if (changed) {
    paxos.think();  // only new knowledge can move it: thinking twice changes nothing
  }
  if (faults && chance(faults_.crash)) {
    restart(m.to);  // thought, but neither persisted, sent, nor acted on what it learnt
  } else if (changed) {
    publish(m.to);
  }
}

void Cluster::restart(unsigned i) {
  Node& node = nodes_[i];
  Result<PaxosPersistent> restored = Paxos::decode_persistent(node.stored);
  if (!restored.ok()) {
    violation_ = "store of " + peer(i).to_string() + ": " + restored.status().to_string();
    return;
  }
  node.paxos.emplace(peer(i), quorum_, *restored);
  node.stored_version = node.paxos->persistent_version();
  check(i);
}

// Node i hears of an elector that never speaks again (a peer starting up, say), so proposers
// know different sets of electors and their free choices differ.
void Cluster::hear_of_new_elector(unsigned i) {
  PaxosGossip news;
  news.nodes[peer(1000 + silent_electors_++)] = PaxosNodeState{};
  if (nodes_[i].paxos->merge(news)) {
    publish(i);
  }
}

// Paxos's invariant on what was really persisted: one value per proposal, one value chosen.
void Cluster::record_acceptance(unsigned i) {
  const PaxosPersistent& s = nodes_[i].paxos->persistent();
  if (!s.has_accepted()) {
    return;
  }
  Ballot& ballot =
      ballots_.try_emplace(s.accepted_id, Ballot{s.accepted_value.names(), {}}).first->second;
  if (ballot.value != s.accepted_value.names()) {
    violation_ = "two values accepted for proposal " + std::to_string(s.accepted_id.round);
  }
  ballot.acceptors.insert(i);
  if (ballot.acceptors.size() >= quorum_ && !chosen_) {
    chosen_ = ballot.value;
  } else if (ballot.acceptors.size() >= quorum_ && *chosen_ != ballot.value) {
    violation_ = "a second value was chosen, by proposal " + std::to_string(s.accepted_id.round);
  }
  if (chosen_ && first_ && *chosen_ != *first_) {
    violation_ = "electors learnt a value other than the one chosen";
  }
}

void Cluster::check(unsigned i) {
  const std::optional<Names>& c = nodes_[i].paxos->consensus();
  if (!c) {
    return;
  }
  if (!first_) {
    first_ = *c;
    if (c->size() < quorum_ || !std::is_sorted(c->begin(), c->end())) {
      violation_ = "decided a value with fewer names than the quorum, or unsorted";
    }
  } else if (*c != *first_) {
    violation_ = peer(i).to_string() + " decided " + std::to_string(c->size()) +
                 " names, not the first decision's " + std::to_string(first_->size());
  }
}

// Random links of a random density, then up to n - quorum electors cut off entirely.
void Cluster::rewire() {
  double density = std::uniform_real_distribution<double>(0.2, 0.9)(rng_);
  for (unsigned a = 0; a < n_; ++a) {
    for (unsigned b = a + 1; b < n_; ++b) {
      link(a, b, chance(density));
    }
  }
  std::size_t isolated = pick(n_ - quorum_ + 1);
  for (std::size_t k = 0; k < isolated; ++k) {
    unsigned lonely = static_cast<unsigned>(pick(n_));
    for (unsigned b = 0; b < n_; ++b) {
      link(lonely, b, false);
    }
  }
}

std::string Cluster::run_chaos(int events) {
  for (int e = 0; e < events && violation_.empty(); ++e) {
    double roll = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (roll < 0.08) {
      propose(static_cast<unsigned>(pick(n_)));
    } else if (roll < 0.14) {
      rewire();
    } else if (roll < 0.17) {
      hear_of_new_elector(static_cast<unsigned>(pick(n_)));
    } else if (roll < 0.17 + faults_.restart) {
      restart(static_cast<unsigned>(pick(n_)));
    } else if (!in_flight_.empty()) {
      deliver(pick(in_flight_.size()), /*faults=*/true);
    }
  }
  return violation_;
}

std::string Cluster::run_heal(int max_proposals) {
  for (unsigned b = 1; b < n_; ++b) {
    link(b, static_cast<unsigned>(pick(b)), true);  // a random spanning tree: connected
  }
  coalesce_ = true;
  for (unsigned i = 0; i < n_; ++i) {
    publish(i);  // the periodic gossip after reconnecting
  }
  int after_decision = 0;
  for (int p = 0; p < max_proposals && violation_.empty(); ++p) {
    drain();
    if (decided() == n_ && ++after_decision > 1) {
      return violation_;  // and later proposals kept the value
    }
    propose(static_cast<unsigned>(pick(n_)));
  }
  drain();
  if (violation_.empty() && decided() != n_) {
    return "only " + std::to_string(decided()) + " of " + std::to_string(n_) +
           " electors decided after the network healed";
  }
  return violation_;
}

void Cluster::partition(const std::vector<unsigned>& a, const std::vector<unsigned>& b) {
  for (unsigned x : a) {
    for (unsigned y : b) {
      link(x, y, false);
    }
  }
}

unsigned Cluster::decided() const {
  unsigned n = 0;
  for (const Node& node : nodes_) {
    n += node.paxos->consensus() ? 1 : 0;
  }
  return n;
}

// Runs chaos then heal for each seed, on `electors` electors (cycling through the list by
// seed) with a majority quorum.
void run_trials(unsigned trials, const std::vector<unsigned>& electors, const Faults& faults) {
  for (std::uint64_t seed : trial_seeds(trials)) {
    unsigned n = electors[seed % electors.size()];
    SCOPED_TRACE("WIPAM_SEED=" + std::to_string(seed) + " electors=" + std::to_string(n));
    Cluster cluster(n, n / 2 + 1, seed, faults);
    std::string violation = cluster.run_chaos(300);
    if (violation.empty()) {
      violation = cluster.run_heal(50);
    }
    ASSERT_EQ(violation, "");
  }
}

// W-39: partial connectivity, isolation down to a quorum, reordering, re-proposals.
TEST(PaxosSimTest, TenElectorsAlwaysAgreeAndAllDecideOnceHealed) {
  run_trials(500, {10}, Faults{.codec_every = 0});
}

// Beyond W-40: as above, plus restarts from the persisted state, crashes between thinking and
// persisting, loss and duplication; small clusters too, where one restart matters most.
TEST(PaxosSimTest, RestartsLossAndDuplicationNeverBreakAgreement) {
  Faults faults{.loss = 0.1, .duplicate = 0.15, .restart = 0.05, .crash = 0.05, .codec_every = 16};
  run_trials(300, {3, 4, 5, 7, 10}, faults);
}

TEST(PaxosSimTest, QuorumLargerThanTheElectorsNeverDecides) {
  Cluster cluster(3, 4, 7, Faults{});
  for (int i = 0; i < 30; ++i) {
    cluster.propose(static_cast<unsigned>(i % 3));
    ASSERT_EQ(cluster.drain(), "");
  }
  EXPECT_EQ(cluster.decided(), 0u);
}

TEST(PaxosSimTest, DisjointMinoritiesNeverDecideUntilJoined) {
  for (std::uint64_t seed : trial_seeds(20)) {
    SCOPED_TRACE("WIPAM_SEED=" + std::to_string(seed));
    Cluster cluster(10, 6, seed, Faults{});
    cluster.partition({0, 1, 2, 3, 4}, {5, 6, 7, 8, 9});
    for (unsigned i = 0; i < 20; ++i) {
      cluster.propose((i * 7 + static_cast<unsigned>(seed)) % 10);
      ASSERT_EQ(cluster.drain(), "");
    }
    EXPECT_EQ(cluster.decided(), 0u);
    ASSERT_EQ(cluster.run_heal(20), "");
  }
}

// The documented limit (Weave #760): a quorum below a majority of the real cluster lets two
// partitions each decide, differently.
TEST(PaxosSimTest, QuorumBelowAMajorityLetsTwoPartitionsDecideDifferently) {
  Cluster cluster(10, 3, 1, Faults{});
  cluster.partition({0, 1, 2, 3, 4}, {5, 6, 7, 8, 9});
  cluster.propose(0);
  ASSERT_EQ(cluster.drain(), "");
  cluster.propose(5);
  EXPECT_NE(cluster.drain(), "");  // someone in 5..9 decided other than 0 did
  ASSERT_TRUE(cluster.decision(0));
  EXPECT_EQ(*cluster.decision(0), *cluster.first_decision());
}

// ---------------------------------------------------------------------------------------------
// Decoding untrusted bytes.

PaxosGossip sample_gossip() {
  PaxosGossip g;
  g.nodes[peer(0)] = state(3, 2, 2, 1, peers({0, 1, 2}));
  g.nodes[peer(1)] = state(2, 1, 0, 0, {});
  g.nodes[peer(2)] = state(0, 0, 0, 0, {});
  g.nodes[PeerName(PeerName::kMask)] = state(kMaxPaxosRound, 1, kMaxPaxosRound, 1, peers({7}));
  return g;
}

std::vector<std::uint8_t> cbor(const nlohmann::json& j) { return nlohmann::json::to_cbor(j); }

TEST(PaxosCodecTest, GossipAndPersistedStateRoundTrip) {
  PaxosGossip g = sample_gossip();
  Result<PaxosGossip> back = Paxos::decode(Paxos::encode(g));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, g);
  EXPECT_EQ(*Paxos::decode(Paxos::encode(PaxosGossip{})), PaxosGossip{});
  for (const auto& [name, s] : g.nodes) {
    Result<PaxosPersistent> p = Paxos::decode_persistent(Paxos::encode_persistent(s));
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    EXPECT_EQ(*p, s);
  }
}

TEST(PaxosCodecTest, EmptyAndTruncatedInputIsRefused) {
  EXPECT_EQ(Paxos::decode({}).status().code(), Code::kCorruption);
  EXPECT_EQ(Paxos::decode_persistent({}).status().code(), Code::kCorruption);
  std::vector<std::uint8_t> bytes = Paxos::encode(sample_gossip());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(Paxos::decode(std::span(bytes.data(), n)).status().code(), Code::kCorruption) << n;
  }
  std::vector<std::uint8_t> stored = Paxos::encode_persistent(sample_gossip().nodes[peer(0)]);
  for (std::size_t n = 0; n < stored.size(); ++n) {
    EXPECT_FALSE(Paxos::decode_persistent(std::span(stored.data(), n)).ok()) << n;
  }
}

// A gossip message of `values` and `entries`, as Paxos::encode() lays them out.
std::vector<std::uint8_t> gossip_with(nlohmann::json values, nlohmann::json entries) {
  return cbor(
      nlohmann::json::array({2, nlohmann::json::array({std::move(values), std::move(entries)})}));
}
// [name, promised round, promised proposer, accepted round, accepted proposer, value index].
nlohmann::json entry(nlohmann::json name, nlohmann::json pr, nlohmann::json pp, nlohmann::json ar,
                     nlohmann::json ap, nlohmann::json value) {
  return nlohmann::json::array(
      {std::move(name), std::move(pr), std::move(pp), std::move(ar), std::move(ap), value});
}

TEST(PaxosCodecTest, HostileGossipIsRefused) {
  using nlohmann::json;
  const json one = json::array({json::array({1, 2})});  // one value, {1, 2}
  const json ok = entry(1, 2, 1, 1, 1, 0);
  auto with = [&](json entries) { return gossip_with(one, std::move(entries)); };
  const std::vector<std::vector<std::uint8_t>> hostile = {
      cbor(json::array({1, json::array()})),                                // the old format
      cbor(json::array({3, json::array({json::array(), json::array()})})),  // unknown format
      cbor(json::array({2})),                                               // no body
      cbor(json::object({{"a", 1}})),                                       // not a pair
      cbor(json::array({-1, json::array()})),                               // negative format
      cbor(json::array({2, json::object()})),                               // body not a list
      cbor(json::array({2, json::array({json::array()})})),                 // body of one list
      gossip_with(json::object(), json::array()),                           // values not a list
      gossip_with(json::array(), json::object()),                           // entries not a list
      with(json::array({entry(0, 2, 1, 1, 1, 0)})),                         // unknown name
      with(json::array({entry(PeerName::kMask + 1, 2, 1, 1, 1, 0)})),       // name beyond 48 bits
      with(json::array({entry(-3, 2, 1, 1, 1, 0)})),                        // negative name
      with(json::array({entry("x", 2, 1, 1, 1, 0)})),                       // name not a number
      with(json::array({entry(2, 2, 1, 1, 1, 0), ok})),                     // out of order
      with(json::array({ok, ok})),                                          // twice
      with(json::array({json::array({1, 2, 1, 1, 1})})),                    // entry of five
      with(json::array({json::array({1, 2, 1, 1, 1, 0, 0})})),              // entry of seven
      with(json::array({nullptr})),                                         // null entry
      with(json::array({entry(1, 1, 1, 2, 1, 0)})),                         // accepted > promised
      with(json::array({entry(1, 1, 0, 0, 0, nullptr)})),                   // round, no proposer
      with(json::array({entry(1, 0, 1, 0, 0, nullptr)})),                   // proposer, no round
      with(json::array({entry(1, 1, 1, 1, 1, nullptr)})),                   // accepted, no value
      with(json::array({entry(1, 1, 1, 0, 0, 0)})),                         // value, no acceptance
      with(json::array({entry(1, 2, 1, 1, 1, 1)})),    // index beyond the values
      with(json::array({entry(1, 2, 1, 1, 1, -1)})),   // negative index
      with(json::array({entry(1, 2, 1, 1, 1, 0.5)})),  // float index
      with(json::array({entry(1, 2, 1, 1, 1, "0")})),  // index not a number
      gossip_with(json::array(), json::array({ok})),   // no values at all
      gossip_with(json::array({json::array({1, 2}), json::array({3})}),
                  json::array({ok})),                                // a value nobody accepted
      gossip_with(json::array({json::array()}), json::array({ok})),  // an empty value
      gossip_with(json::array({json::array({2, 1})}), json::array({ok})),   // unsorted value
      gossip_with(json::array({json::array({2, 2})}), json::array({ok})),   // repeated name
      gossip_with(json::array({json::array({0})}), json::array({ok})),      // unknown name
      gossip_with(json::array({json::array({"x"})}), json::array({ok})),    // name not a number
      gossip_with(json::array({json::object()}), json::array({ok})),        // value not a list
      with(json::array({entry(1, kMaxPaxosRound + 1, 1, 0, 0, nullptr)})),  // round too high
      with(json::array({entry(1, 1.5, 1, 0, 0, nullptr)})),                 // float round
  };
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    EXPECT_EQ(Paxos::decode(hostile[i]).status().code(), Code::kCorruption) << "case " << i;
  }
  EXPECT_TRUE(Paxos::decode(with(json::array({ok, entry(2, 2, 1, 1, 1, 0)}))).ok());
}

TEST(PaxosCodecTest, OversizedListsAreRefused) {
  using nlohmann::json;
  json many = json::array();
  for (std::uint64_t i = 1; i <= kMaxPaxosNodes + 1; ++i) {
    many.push_back(entry(i, 0, 0, 0, 0, nullptr));
  }
  EXPECT_EQ(Paxos::decode(gossip_with(json::array(), many)).status().code(), Code::kCorruption);
  json long_value = json::array();
  for (std::uint64_t i = 1; i <= kMaxPaxosNodes + 1; ++i) {
    long_value.push_back(i);
  }
  EXPECT_EQ(
      Paxos::decode(gossip_with(json::array({long_value}), json::array({entry(1, 1, 1, 1, 1, 0)})))
          .status()
          .code(),
      Code::kCorruption);
  json many_values = json::array();
  for (std::uint64_t i = 1; i <= kMaxPaxosNodes + 1; ++i) {
    many_values.push_back(json::array({i}));
  }
  EXPECT_EQ(Paxos::decode(gossip_with(many_values, json::array({entry(1, 1, 1, 1, 1, 0)})))
                .status()
                .code(),
            Code::kCorruption);
  std::vector<std::uint8_t> huge(16 * 1024 * 1024 + 1, 0x80);
  EXPECT_EQ(Paxos::decode(huge).status().code(), Code::kCorruption);
  // A CBOR header claiming an array of 2^64-1 elements.
  std::vector<std::uint8_t> lying = {0x82, 0x02, 0x9b, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(Paxos::decode(lying).status().code(), Code::kCorruption);
}

// Issue #12: both decoders refuse hostile CBOR in the pre-scan, before nlohmann recurses.
TEST(PaxosCodecTest, DeepLongAndLyingCborIsRefusedQuickly) {
  for (const HostileCbor& h : hostile_cbor()) {
    auto start = std::chrono::steady_clock::now();
    Status gossip = Paxos::decode(h.bytes).status();
    Status persisted = Paxos::decode_persistent(h.bytes).status();
    auto took = std::chrono::steady_clock::now() - start;
    for (const Status& s : {gossip, persisted}) {
      EXPECT_EQ(s.code(), Code::kCorruption) << h.name;
      EXPECT_NE(s.message().find("CBOR input"), std::string::npos) << h.name << ": " << s.message();
    }
    EXPECT_LT(took, std::chrono::seconds(2)) << h.name;
  }
}

// The pre-scan's item limit leaves room for the largest gossip the format allows:
// kMaxPaxosNodes electors, each having accepted its own value of kMaxPaxosNodes names.
TEST(PaxosCodecTest, TheLargestGossipStillDecodes) {
  using nlohmann::json;
  json names = json::array();
  for (std::uint64_t i = 1; i <= kMaxPaxosNodes; ++i) {
    names.push_back(i);
  }
  json values = json::array();
  json entries = json::array();
  for (std::uint64_t i = 1; i <= kMaxPaxosNodes; ++i) {
    values.push_back(names);
    entries.push_back(entry(i, 1, 1, 1, 1, i - 1));
  }
  Result<PaxosGossip> g = Paxos::decode(gossip_with(values, entries));
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(g->nodes.size(), kMaxPaxosNodes);
}

// Views of one proposal travel with one copy of its value, so a message grows with the
// electors, not with electors x names; views that disagree on a proposal's value each keep
// theirs, and what is decoded shares one copy per value.
TEST(PaxosCodecTest, GossipCarriesEachValueOnce) {
  Names everyone;
  PaxosGossip g;
  for (unsigned i = 0; i < 200; ++i) {
    everyone.push_back(peer(i));
  }
  for (unsigned i = 0; i < 200; ++i) {
    g.nodes[peer(i)] = state(2, 0, 2, 0, everyone);  // separate copies of one value
  }
  g.nodes[peer(300)] = state(3, 1, 2, 0, peers({0, 1}));  // a faulty view of (2, 0)
  g.nodes[peer(301)] = state(3, 1, 0, 0, {});
  std::vector<std::uint8_t> bytes = Paxos::encode(g);
  nlohmann::json parsed = nlohmann::json::from_cbor(bytes);
  ASSERT_TRUE(parsed[1].is_array() && parsed[1].size() == 2);
  const nlohmann::json& values = parsed[1][0];
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].size(), 200u);
  EXPECT_EQ(values[1].size(), 2u);
  EXPECT_LT(bytes.size(), 200u * 9 * 4);  // one copy of 200 names and 200 short entries
  Result<PaxosGossip> back = Paxos::decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, g);
  const PaxosValue& first = back->nodes.at(peer(0)).accepted_value;
  for (unsigned i = 1; i < 200; ++i) {
    EXPECT_TRUE(back->nodes.at(peer(i)).accepted_value.shares(first)) << i;
  }
  EXPECT_FALSE(back->nodes.at(peer(300)).accepted_value.shares(first));
  EXPECT_TRUE(back->nodes.at(peer(301)).accepted_value.empty());
}

// Merging keeps one copy of each proposal's value however many messages brought it, and a
// view that gives a proposal other names keeps its own and is not counted towards a decision.
TEST(PaxosTest, MergedViewsOfAProposalShareOneValue) {
  Names three = peers({0, 1, 2});
  Paxos a(peer(9), 3);
  for (unsigned i = 0; i < 3; ++i) {
    PaxosGossip one;  // each message brings its own copy
    one.nodes[peer(i)] = state(1, 0, 1, 0, three);
    EXPECT_TRUE(a.merge(*Paxos::decode(Paxos::encode(one))));
  }
  PaxosGossip faulty;
  faulty.nodes[peer(3)] = state(1, 0, 1, 0, peers({0, 3}));
  EXPECT_TRUE(a.merge(faulty));
  PaxosGossip known = a.gossip();
  const PaxosValue& first = known.nodes.at(peer(0)).accepted_value;
  EXPECT_TRUE(known.nodes.at(peer(1)).accepted_value.shares(first));
  EXPECT_TRUE(known.nodes.at(peer(2)).accepted_value.shares(first));
  EXPECT_EQ(known.nodes.at(peer(3)).accepted_value, peers({0, 3}));
  ASSERT_TRUE(a.consensus());  // three views of (1, 0) = {0, 1, 2}, the fourth not counted
  EXPECT_EQ(*a.consensus(), three);
}

TEST(PaxosCodecTest, RandomAndMutatedInputNeverCrashes) {
  for (std::uint64_t seed : seeds(1)) {
    SCOPED_TRACE("WIPAM_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> good = Paxos::encode(sample_gossip());
    for (int i = 0; i < 8000; ++i) {
      std::vector<std::uint8_t> bytes = good;
      if (i % 2 == 0) {
        bytes.resize(rng() % 64);
        for (std::uint8_t& b : bytes) {
          b = static_cast<std::uint8_t>(rng());
        }
      } else {
        for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
          bytes[rng() % bytes.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        }
      }
      Result<PaxosGossip> g = Paxos::decode(bytes);
      if (g.ok()) {  // whatever decodes is valid and survives a round trip
        for (const auto& [name, s] : g->nodes) {
          ASSERT_TRUE(Paxos::validate(s).ok());
        }
        ASSERT_EQ(*Paxos::decode(Paxos::encode(*g)), *g);
      } else {
        ASSERT_EQ(g.status().code(), Code::kCorruption);
      }
      (void)Paxos::decode_persistent(bytes);
    }
  }
}

TEST(PaxosTest, MergeSkipsInvalidEntriesBuiltByHand) {
  Paxos a(peer(0), 2);
  PaxosGossip bad;
  bad.nodes[peer(1)] = state(1, 1, 2, 1, peers({1}));     // accepted above promised
  bad.nodes[PeerName()] = state(1, 1, 0, 0, {});          // unknown name
  bad.nodes[peer(2)] = state(1, 2, 1, 2, peers({2, 1}));  // unsorted value
  EXPECT_FALSE(a.merge(bad));
  EXPECT_EQ(a.known_nodes(), 1u);
}

}  // namespace
}  // namespace wipam::ring
