#include "ring/allocator_status.h"

#include <map>
#include <variant>

#include "ring/allocator_context.h"
#include "ring/bootstrap.h"
#include "ring/pending.h"

namespace wipam::ring {
namespace {

// The ring's entries as rows, and one row per peer with what it owns.
void add_ring(StatusReport& report, const AllocatorContext& ctx) {
  std::map<PeerName, PeerRow> rows;
  const std::vector<Entry>& entries = ctx.ring.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    bool reachable = e.owner == ctx.self() || ctx.is_reachable(e.owner);
    auto nick_it = ctx.nicknames.find(e.owner);
    std::string nickname = e.owner == ctx.self()            ? ctx.config.self.nickname
                           : nick_it == ctx.nicknames.end() ? ""
                                                            : nick_it->second;
    Address end = i + 1 < entries.size() ? entries[i + 1].token : ctx.universe.end();
    report.ring.push_back({Range(e.token, end), e.owner, nickname, reachable, e.version, e.free});
    PeerRow& row = rows[e.owner];
    row.name = e.owner;
    row.nickname = nickname;
    row.reachable = reachable;
    row.free += e.free;
  }
  for (const auto& [peer, owned] : ctx.ring.owned_by_peer()) {
    rows[peer].owned = owned;
  }
  for (auto& [peer, row] : rows) {
    report.peers.push_back(row);
  }
}

void add_pending(StatusReport& report, const PendingQueue& pending) {
  for (const Pending& p : pending.items()) {
    if (const auto* a = std::get_if<AllocateCommand>(&p.command)) {
      report.pending_allocates.push_back(a->owner + " " + a->subnet.to_string() + ": waiting for " +
                                         p.waiting_for);
    } else if (const auto* c = std::get_if<ClaimCommand>(&p.command)) {
      report.pending_claims.push_back(c->owner + " " + c->address.to_string() + ": waiting for " +
                                      p.waiting_for);
    }
  }
}

void add_addresses(StatusReport& report, const AllocatorContext& ctx) {
  report.allocated = ctx.table.size();
  report.owned = 0;
  for (const Range& r : ctx.space.owned_ranges()) {
    report.owned += r.size();
  }
  report.free = ctx.space.free_count();
  for (const auto& [a, allocation] : ctx.table.all()) {
    if (is_peer_owner(allocation.owner)) {
      ++report.reserved_for_peers;
    } else if (!ctx.space.owns(a)) {
      ++report.held_elsewhere;
    }
  }
}

void add_summary(StatusReport& report, const AllocatorContext& ctx) {
  bool owns_reachable_space = report.owned > 0;
  for (const PeerRow& row : report.peers) {
    owns_reachable_space = owns_reachable_space || (row.reachable && row.owned > 0);
  }
  report.ready = report.consensus == ConsensusState::kAchieved && owns_reachable_space &&
                 ctx.ring_conflicts.empty();
  if (!ctx.ring_conflicts.empty()) {
    report.summary = "not handing out addresses: " + ctx.ring_conflicts.summary();
  } else if (report.consensus == ConsensusState::kDeferred) {
    report.summary = std::holds_alternative<ObserverInit>(ctx.config.init) ? "priming" : "idle";
  } else if (report.consensus == ConsensusState::kWaiting) {
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
}

}  // namespace

StatusReport make_status(const AllocatorContext& ctx, const Bootstrap& bootstrap,
                         const PendingQueue& pending) {
  StatusReport report;
  report.self = ctx.config.self;
  report.universe = ctx.config.universe;
  report.init = bootstrap.mode();
  report.consensus = bootstrap.consensus();
  report.quorum = bootstrap.quorum();
  report.known = bootstrap.known_nodes();
  add_addresses(report, ctx);
  add_ring(report, ctx);
  add_pending(report, pending);
  report.conflicts = ctx.conflicts;
  report.ring_conflicts = ctx.ring_conflicts.list();
  for (const RingConflict& c : report.ring_conflicts) {
    report.conflicts.push_back(c.message());
  }
  add_summary(report, ctx);
  return report;
}

const char* consensus_state_name(ConsensusState state) {
  switch (state) {
    case ConsensusState::kDeferred:
      return "deferred";
    case ConsensusState::kWaiting:
      return "waiting";
    case ConsensusState::kAchieved:
      return "achieved";
  }
  return "unknown";
}

}  // namespace wipam::ring
