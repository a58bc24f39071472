// Bootstrap: how this peer comes to have a ring. In seed mode it splits the ring among the
// seeds at start; an observer asks peers for theirs; an elector creates it by consensus with
// the others (paxos.h): it proposes, persists each promise before gossip reflects it, relays
// what it learns to a few peers at a time, re-proposes only once the consensus is quiet, and
// splits the ring once a quorum decided. A ring received from a peer ends it all. Owned by
// the allocator; loop-confined.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ring/allocator_config.h"
#include "ring/allocator_context.h"
#include "ring/allocator_status.h"
#include "ring/messages.h"
#include "ring/paxos.h"
#include "ring/peer_name.h"

namespace wipam::ring {

// Peers that each change to our consensus state is relayed to (see send_paxos()); a cluster
// of no more peers than this hears every change by broadcast.
inline constexpr std::size_t kPaxosRelays = 4;

class Bootstrap {
 public:
  // `ring_created` runs whenever consensus created the ring, inside the call that did.
  Bootstrap(AllocatorContext& ctx, std::function<void()> ring_created)
      : ctx_(ctx), ring_created_(std::move(ring_created)) {}

  // At start: what we promised before a restart; then a restored ring is final, and seed mode
  // creates one.
  void start(const PaxosPersistent& promised);
  // Something needs the ring: electors start consensus, others ask for a ring.
  void establish_ring();
  // A peer without a ring asked for ours.
  void on_ring_request(PeerName from);
  void on_paxos(PeerName from, const PaxosUpdate& m);
  // The ring came from a peer: consensus is over.
  void ring_received();
  // A newcomer hears our ring, or what we know of the consensus while we have none.
  void peer_up(PeerName peer);
  // Re-proposes when due and sends what changed since the last tick.
  void tick();

  ConsensusState consensus() const { return consensus_; }
  unsigned quorum() const { return paxos_ ? paxos_->quorum() : 0; }
  unsigned known_nodes() const { return paxos_ ? paxos_->known_nodes() : 0; }
  // "seed", "consensus" or "observer".
  const char* mode() const;
  // What an allocation waits for while there is no ring.
  std::string waiting_for() const;

 private:
  Paxos& elector();
  void propose();
  void paxos_changed();
  void send_paxos();
  bool repropose_due() const;
  void create_seed_ring();
  Status split_ring(std::vector<PeerName> peers);

  AllocatorContext& ctx_;
  std::function<void()> ring_created_;
  std::optional<Paxos> paxos_;
  PaxosPersistent persistent_;  // what we promised, as stored
  ConsensusState consensus_ = ConsensusState::kDeferred;
  Millis last_propose_{0};
  Millis last_news_{0};                  // when our consensus knowledge last grew from a peer
  bool send_due_ = false;                // our consensus knowledge changed since we last sent it
  bool own_changed_ = false;             // and our own state with it
  PeerName relay_cursor_ = ctx_.self();  // the last peer relayed to, in name order
};

}  // namespace wipam::ring
