// AllocatorContext: what every part of the allocator shares while it handles one call: the
// ring, this peer's space and allocation table, which peers are up, the conflicts seen, and
// the Outbox of the call. Its helpers keep the table, the space and the store in step; the
// parts beside it (bootstrap, space_requests, reservations, ownership, address_commands) each
// own the rest of the state and borrow this. Owned by the allocator; loop-confined.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/allocation_table.h"
#include "ring/allocator_config.h"
#include "ring/effects.h"
#include "ring/peer_name.h"
#include "ring/ring.h"
#include "ring/ring_conflicts.h"
#include "ring/shares.h"
#include "ring/space.h"
#include "ring/status.h"
#include "ring/store_records.h"

namespace wipam::ring {

struct AllocatorContext {
  explicit AllocatorContext(AllocatorConfig c);

  AllocatorConfig config;
  Range universe;
  Ring ring;
  Space space;  // exactly the ranges the ring says this peer owns
  AllocationTable table;
  Shares shares;  // addresses of our space other peers hold too
  std::set<PeerName> reachable;
  std::map<PeerName, std::string> nicknames;
  RingConflicts ring_conflicts;        // rings created apart; no new address while any stands
  std::vector<std::string> conflicts;  // other conflicts seen, each once
  bool shutting_down = false;
  std::uint64_t shares_changes = 0;  // bumped by every change a shares-notice would show
  std::uint64_t last_sequence = 0;   // of the HeldAddresses and ShareRequests we sent, this run
  bool ring_broadcast_owed = false;  // a donation not yet broadcast (see flush_ring_broadcast)
  Millis last_ring_broadcast{-1'000'000};
  Millis now{0};  // of the call running
  Outbox out;

  PeerName self() const { return config.self.name; }
  // "<name>(<nickname>)", or the name alone when the nickname is unknown.
  std::string nick(PeerName p) const;
  bool is_reachable(PeerName p) const { return reachable.contains(p); }
  // Orders what we tell peers of our holdings (HeldAddresses, ShareRequest) in this run.
  std::uint64_t next_sequence() { return ++last_sequence; }

  // Records `a` for `owner` and writes it to the store (replacing any earlier holder).
  void record(const Address& a, const std::string& owner, int prefix_len, bool shared = false);
  // Forgets `a` and deletes its record, if it was held; and its share, if it was shared.
  void forget(const Address& a);
  // Records who shares `a`, and writes it to the store.
  void record_share(const Address& a, Share share);
  // Forgets the share of `a` and deletes its record, if it was shared.
  void forget_share(const Address& a);

  void persist_ring() { out.write(ring_write(ring)); }
  void broadcast_ring() {
    out.broadcast(RingUpdate{ring.encode()});
    ring_broadcast_owed = false;
    last_ring_broadcast = now;
  }
  // A donation's ring goes to its taker at once, and to everyone at most once per
  // ring_broadcast_interval: a donor answering many requests at once sends one broadcast,
  // not one each, which at hundreds of peers is most of the formation's relay work.
  void owe_ring_broadcast() { ring_broadcast_owed = true; }
  void flush_ring_broadcast() {
    if (ring_broadcast_owed && now - last_ring_broadcast >= config.ring_broadcast_interval) {
      broadcast_ring();
    }
  }
  void send_ring(PeerName to) { out.unicast(to, RingUpdate{ring.encode()}); }
  // Refreshes our free-space hints in the ring, persisting it if they changed.
  void report_free();

  // The ranges the ring gives this peer, coalesced and ascending (what the space must own).
  std::vector<Range> own_ranges() const;
  // Takes `r`, which the ring now says is ours, into the space; addresses we hold in it are
  // taken again (they may have been held while another peer owned the range).
  void add_owned(const Range& r);
  // add_owned() for every range the ring gives this peer (at start, or a ring just created).
  void take_own_ranges();

  // Records `text` and reports it as an error event `what`, once per text.
  void report_conflict(EventKind kind, const std::string& text);

  // OK iff the space, the ring and the allocation table agree.
  Status check_invariants() const;
};

}  // namespace wipam::ring
