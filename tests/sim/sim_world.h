// SimWorld: many real ring::Allocators in one process, on a fake clock, joined by a fake
// network and backed by fake stores, all driven by one seeded PRNG.
//
// The network delays, drops, duplicates and reorders messages and can be partitioned into
// arbitrary groups. A store makes an Effects' writes durable only after a delay; a crash
// loses everything not yet durable, together with the messages and replies waiting on it,
// exactly as the daemon's shell would. The world also keeps the clients' view: every
// address acknowledged to an owner and not yet released, which the checkers compare
// against the peers. Single-threaded; a seed replays the same run.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ring/range_allocators.h"
#include "tests/sim/shared_ledger.h"

namespace wipam::sim {

using ring::Millis;

struct SimOptions {
  std::uint64_t seed = 1;
  int peers = 3;
  int observers = 0;       // the last `observers` peers observe (consensus mode only)
  bool seed_mode = false;  // seed=all peers instead of consensus
  ring::Cidr universe = ring::Cidr(ring::Address::v4(0x0a200000), 22);  // 10.32.0.0/22
  // Dual-stack: a second range, its own ring beside the first, under the same faults.
  std::optional<ring::Cidr> universe6;
  double loss = 0.0;       // chance a message is dropped
  double duplicate = 0.0;  // chance a message is delivered twice
  int min_delay_ms = 1;
  int max_delay_ms = 30;
  int write_delay_ms = 3;  // until an Effects' writes are durable
  ring::Millis op_deadline{5000};
};

class SimWorld {
 public:
  explicit SimWorld(SimOptions options);
  ~SimWorld();

  const SimOptions& options() const { return options_; }
  int size() const { return static_cast<int>(peers_.size()); }
  std::mt19937_64& rng() { return rng_; }
  Millis now() const { return now_; }
  ring::PeerName name(int i) const;

  bool alive(int i) const;
  bool buried(int i) const;
  // REQUIRES: alive(i). The allocator of range `r` (0: options().universe, 1: universe6).
  const ring::Allocator& allocator(int i, std::size_t r = 0) const;
  // The ranges every peer serves: 1, or 2 when dual-stack.
  std::size_t ranges() const { return options_.universe6 ? 2 : 1; }
  const ring::Cidr& universe(std::size_t r) const {
    return r == 0 ? options_.universe : *options_.universe6;
  }

  void crash(int i);
  void restart(int i);
  // Declares crashed peer `dead` gone for good: it never restarts, and clients forget its
  // addresses. Issues rmpeer for it on `survivor`.
  ring::RequestId bury(int dead, int survivor);
  // True iff `survivor`'s ring already holds everything `dead` persisted of the ring: the
  // condition under which an operator's rmpeer is safe. Before it, `dead` may have given
  // ranges away that `survivor` would take back and hand out again (no peer can know
  // better: the grant's only other witness may be down too). Likewise what `dead` last told
  // of the shares in its space (shares_known).
  bool rmpeer_is_safe(int dead, int survivor) const;
  bool shares_known(int dead, int survivor) const;
  // group[i] is peer i's side; peers talk only within a side.
  void partition(const std::vector<int>& group);
  void heal();

  // Submits a command; its reply arrives later (see reply()).
  ring::RequestId submit(int peer, ring::Command command);
  std::optional<ring::Reply> reply(ring::RequestId id) const;
  // Requests submitted to live incarnations that have no reply yet.
  std::size_t outstanding() const;

  void run_for(Millis duration);
  // Runs until `done` holds (checked every 10 ms) or `limit` passes; true iff it held.
  bool run_until(const std::function<bool()>& done, Millis limit);

  // The continuous checks: no address acknowledged to two holders, every acknowledged
  // address still held by its peer, each live ring partitioning the range, each
  // allocator's own invariants. Non-OK names the first violation.
  Status check() const;
  // All live peers hold identical rings.
  bool converged() const;
  // Free host addresses of range `r` on live peers.
  ring::Uint128 free_anywhere(std::size_t r = 0) const;
  // The clients' view: address -> (peer, owner) acknowledged and not yet released.
  const std::map<ring::Address, std::pair<int, std::string>>& acknowledged() const {
    return acked_;
  }
  // The same for shared claims, which several peers may hold for one owner.
  const SharedLedger& shared_acknowledged() const { return shared_acked_; }

  // The last few hundred things that happened, for a failing seed's report.
  std::string trace() const;
  void note(int peer, const std::string& what);
  std::uint64_t messages_sent() const { return messages_sent_; }
  // Shared addresses an rmpeer kept for their other holders (share_notices.h).
  std::uint64_t kept_after_rmpeer() const { return kept_after_rmpeer_; }

 private:
  struct Peer;
  struct Event;

  void apply(int peer, ring::Effects effects);
  void release_effects(int peer, std::uint64_t incarnation, const ring::Effects& effects);
  void route(int from, const ring::OutgoingMessage& message);
  void deliver_later(int from, int to, std::vector<std::uint8_t> payload);
  void on_reply(int peer, const ring::Reply& reply);
  void on_acked(int peer, const ring::Command& command, const ring::Cidr& c);
  bool lost(int peer, const ring::Address& a, const std::string& owner) const;
  // True iff a crashed peer's store still records `a`.
  bool stored(int peer, const ring::Address& a) const;
  Status check_peer(const ring::Allocator& a, int peer, std::map<ring::Address, int>& holders,
                    std::map<ring::Address, std::string>& shared) const;
  Status check_holders(const ring::Allocator& a, int peer, std::map<ring::Address, int>& holders,
                       std::map<ring::Address, std::string>& shared) const;
  void relink();
  bool connected(int a, int b) const;
  void schedule(Millis at, std::function<void()> action);
  void step_to(Millis t);

  SimOptions options_;
  std::mt19937_64 rng_;
  Millis now_{0};
  std::vector<std::unique_ptr<Peer>> peers_;
  std::vector<int> group_;
  std::vector<std::vector<bool>> linked_;
  std::multimap<std::pair<Millis, std::uint64_t>, std::function<void()>> events_;
  std::uint64_t event_seq_ = 0;
  ring::RequestId next_id_ = 1;
  std::map<ring::RequestId, ring::Reply> replies_;
  std::map<ring::RequestId, std::pair<int, ring::Command>> requests_;
  // Clients' view: address -> (peer, owner) acknowledged and not released.
  std::map<ring::Address, std::pair<int, std::string>> acked_;
  SharedLedger shared_acked_;
  std::vector<std::string> violations_;
  std::deque<std::string> trace_;
  std::uint64_t messages_sent_ = 0;
  std::uint64_t kept_after_rmpeer_ = 0;
  Millis next_tick_{0};
};

}  // namespace wipam::sim
