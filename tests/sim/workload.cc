#include "tests/sim/workload.h"

#include <algorithm>
#include <vector>

namespace wipam::sim {

using ring::Address;
using ring::Cidr;

namespace {

int random_live_peer(SimWorld& w) {
  std::vector<int> live;
  for (int i = 0; i < w.size(); ++i) {
    if (w.alive(i)) {
      live.push_back(i);
    }
  }
  return live.empty() ? -1 : live[w.rng()() % live.size()];
}

// A range to work in: the first, or when dual-stack either (one draw more only then, so a
// single-stack seed replays as it always did).
const Cidr& random_universe(SimWorld& w) {
  return w.ranges() == 1 || w.rng()() % 2 == 0 ? w.options().universe : w.universe(1);
}

// The range an address of the workload is in.
const Cidr& universe_of(const SimWorld& w, const Address& a) {
  return a.family() == w.options().universe.family() ? w.options().universe : w.universe(1);
}

Cidr random_subnet(SimWorld& w) {
  const Cidr& universe = random_universe(w);
  if (w.rng()() % 10 < 7) {
    return universe;
  }
  int prefix = universe.prefix_len() + 1 + static_cast<int>(w.rng()() % 4);
  ring::Uint128 blocks = ring::Uint128{1} << (prefix - universe.prefix_len());
  ring::Uint128 block = w.rng()() % static_cast<std::uint64_t>(blocks);
  ring::Uint128 size = ring::Uint128{1} << (universe.address().bits() - prefix);
  return Cidr(universe.range().start() + block * size, prefix);
}

std::vector<std::pair<Address, std::string>> held_on(const SimWorld& w, int peer) {
  std::vector<std::pair<Address, std::string>> out;
  for (const auto& [address, holder] : w.acknowledged()) {
    if (holder.first == peer) {
      out.emplace_back(address, holder.second);
    }
  }
  return out;
}

// A gateway every peer's network names: one of three addresses, each for one owner ("gw:K"),
// claimed shared (ring/shares.h).
void shared_claim(SimWorld& w, int peer) {
  const Cidr& universe = random_universe(w);
  ring::Range hosts = universe.host_range();
  std::uint64_t k = w.rng()() % 3;
  Address a = hosts.at(k * (static_cast<std::uint64_t>(hosts.size()) / 3));
  std::string family = universe.address().is_v4() ? "" : "6-";  // one owner per address
  w.submit(peer, ring::ClaimCommand{kSharedOwnerPrefix + family + std::to_string(k),
                                    Cidr(a, universe.prefix_len()), ring::Sharing::kOffer});
}

// A swarm manager's allocation, offered to the peers that run its task (owner "gw:a...").
void offered_allocate(SimWorld& w, int peer, const std::string& tag) {
  w.submit(peer, ring::AllocateCommand{std::string(kSharedOwnerPrefix) + "a" + tag,
                                       random_subnet(w), std::nullopt, true});
}

// Another peer's request for such an address: it joins it. False if none is held elsewhere.
bool join_offered(SimWorld& w, int peer) {
  std::vector<std::pair<Address, std::string>> offered;
  for (const auto& [address, holders] : w.shared_acknowledged().all()) {
    const std::string& owner = holders.begin()->second;
    if (!holders.contains(peer) && owner.rfind(std::string(kSharedOwnerPrefix) + "a", 0) == 0) {
      offered.emplace_back(address, owner);
    }
  }
  if (offered.empty()) {
    return false;
  }
  const auto& [address, owner] = offered[w.rng()() % offered.size()];
  w.submit(peer, ring::ClaimCommand{owner, Cidr(address, universe_of(w, address).prefix_len()),
                                    ring::Sharing::kJoin});
  return true;
}

// Releases one of `peer`'s shared addresses; false if it holds none.
bool release_shared(SimWorld& w, int peer) {
  std::vector<std::pair<Address, std::string>> mine;
  for (const auto& [address, holders] : w.shared_acknowledged().all()) {
    if (auto it = holders.find(peer); it != holders.end()) {
      mine.emplace_back(address, it->second);
    }
  }
  if (mine.empty()) {
    return false;
  }
  const auto& [address, owner] = mine[w.rng()() % mine.size()];
  w.submit(peer, ring::ReleaseCommand{address, owner});
  return true;
}

std::string describe(const SimOptions& o) {
  return "seed=" + std::to_string(o.seed) + " peers=" + std::to_string(o.peers) +
         " mode=" + (o.seed_mode ? "seed" : "consensus") +
         " observers=" + std::to_string(o.observers) + " loss=" + std::to_string(o.loss) +
         " duplicate=" + std::to_string(o.duplicate) +
         (o.universe6 ? " dual-stack=" + o.universe6->to_string() : "");
}

void random_fault(SimWorld& w) {
  std::uint64_t roll = w.rng()() % 100;
  int victim = static_cast<int>(w.rng()() % static_cast<std::uint64_t>(w.size()));
  if (roll < 30) {
    std::vector<int> groups(static_cast<std::size_t>(w.size()));
    int sides = 2 + static_cast<int>(w.rng()() % 2);
    for (int& g : groups) {
      g = static_cast<int>(w.rng()() % static_cast<std::uint64_t>(sides));
    }
    w.partition(groups);
  } else if (roll < 55) {
    w.heal();
  } else if (roll < 75) {
    if (w.alive(victim) && random_live_peer(w) != -1) {
      w.crash(victim);
    }
  } else if (roll < 97) {
    w.restart(victim);
  } else if (!w.alive(victim) && !w.buried(victim)) {
    int survivor = random_live_peer(w);
    if (survivor != -1 && !w.allocator(survivor).ring().empty() &&
        w.rmpeer_is_safe(victim, survivor)) {
      w.bury(victim, survivor);
    }
  }
}

}  // namespace

void random_command(SimWorld& w, int step) {
  int peer = random_live_peer(w);
  if (peer == -1) {
    return;
  }
  std::string tag = std::to_string(peer) + "-" + std::to_string(step);
  std::uint64_t roll = w.rng()() % 100;
  std::vector<std::pair<Address, std::string>> held = held_on(w, peer);
  if (roll < 45 || held.empty()) {
    std::string owner =
        roll % 5 == 0 ? "" : "c" + std::to_string(peer) + "-" + std::to_string(w.rng()() % 40);
    w.submit(peer, ring::AllocateCommand{owner, random_subnet(w), std::nullopt});
  } else if (roll < 50) {
    const Cidr& universe = random_universe(w);
    ring::Range hosts = universe.host_range();
    Address a = hosts.at(w.rng()() % static_cast<std::uint64_t>(hosts.size()));
    w.submit(peer, ring::ClaimCommand{"k" + tag, Cidr(a, universe.prefix_len())});
  } else if (roll < 53) {
    shared_claim(w, peer);
  } else if (roll < 55) {
    offered_allocate(w, peer, tag);
  } else if (roll < 57 && join_offered(w, peer)) {
  } else if (roll < 61 && release_shared(w, peer)) {
  } else if (roll < 85) {
    const auto& [address, owner] = held[w.rng()() % held.size()];
    w.submit(peer, ring::ReleaseCommand{address, owner});
  } else {
    w.submit(peer, ring::ReleaseOwnerCommand{held[w.rng()() % held.size()].second});
  }
}

SeedRun run_seed(std::uint64_t seed, int steps, bool dual_stack) {
  std::mt19937_64 pick(seed * 0x9e3779b97f4a7c15ull + 1);
  SimOptions o;
  o.seed = seed;
  o.peers = 3 + static_cast<int>(pick() % 18);
  o.seed_mode = pick() % 3 == 0;
  o.observers = !o.seed_mode && o.peers > 3 && pick() % 4 == 0 ? 1 : 0;
  o.loss = pick() % 3 == 0 ? 0.05 : 0.0;
  o.duplicate = pick() % 3 == 0 ? 0.05 : 0.0;
  if (dual_stack) {
    o.universe6 = *Cidr::parse("fd00:32::/118");  // as many addresses as the IPv4 /22
  }
  SeedRun run;
  run.options = describe(o);
  SimWorld w(o);
  for (int step = 0; step < steps && run.status.ok(); ++step) {
    if (w.rng()() % 100 < 8) {
      random_fault(w);
    }
    for (int n = static_cast<int>(w.rng()() % 4); n > 0; --n) {
      random_command(w, step);
    }
    w.run_for(Millis{50});
    run.status = w.check();
    for (const auto& [address, holders] : w.shared_acknowledged().all()) {
      bool offered = holders.begin()->second.rfind(std::string(kSharedOwnerPrefix) + "a", 0) == 0;
      std::size_t& most = offered ? run.most_joiners : run.most_sharers;
      most = std::max(most, holders.size());
    }
  }
  if (run.status.ok()) {
    for (int i = 0; i < w.size(); ++i) {
      w.restart(i);
    }
    w.heal();
    Millis healed_at = w.now();
    bool settled =
        w.run_until([&] { return w.converged() && w.outstanding() == 0; }, Millis{60000});
    run.heal_time = w.now() - healed_at;
    run.status = w.check();
    if (run.status.ok() && !settled) {
      run.status = Status::internal("no convergence within 60 s of healing (" +
                                    std::to_string(w.outstanding()) + " outstanding)");
    }
  }
  if (run.status.ok()) {
    // No spurious exhaustion: with every peer reachable and space free somewhere, an
    // allocation on any peer succeeds.
    for (int k = 0; k < w.size() * static_cast<int>(w.ranges()) && run.status.ok(); ++k) {
      int i = k % w.size();
      auto range = static_cast<std::size_t>(k / w.size());
      if (!w.alive(i) || w.free_anywhere(range) == 0) {
        continue;
      }
      ring::RequestId id = w.submit(
          i, ring::AllocateCommand{"final-" + std::to_string(k), w.universe(range), std::nullopt});
      w.run_until([&] { return w.reply(id).has_value(); }, Millis{30000});
      std::optional<ring::Reply> r = w.reply(id);
      if (!r || !r->status.ok()) {
        run.status = Status::internal(
            "allocation on p" + std::to_string(i) +
            " failed with free space reachable: " + (r ? r->status.to_string() : "no reply"));
      } else {
        run.status = w.check();
      }
    }
  }
  run.messages = w.messages_sent();
  run.kept_after_rmpeer = w.kept_after_rmpeer();
  run.acknowledged = w.acknowledged().size();
  if (!run.status.ok()) {
    run.trace = w.trace();
  }
  return run;
}

}  // namespace wipam::sim
