// RangeAllocators: several allocation ranges at once (at most one per address family), each
// served by an Allocator of its own: its own ring, space, consensus, allocations and records.
// Nothing is shared between the rings but the peers, so each keeps every guarantee of one.
//
// The first range is the primary: its messages travel bare and its records keep the keys a
// one-range version writes, so a one-range store is read as it is. Another range's messages
// are wrapped with its name (encode_ranged_message) and its records live under
// range_key_prefix(). Commands go to the range of their family; those about an owner or a
// peer (release-owner, lookup, prime, remove-peer) go to every range and get one reply, once
// every range answered. Deterministic and loop-confined, as an Allocator is.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ring/allocator.h"

namespace wipam::ring {

// "" for the primary range (index 0); "v6/" or "v4/" for another, by its family.
std::string range_key_prefix(std::size_t index, const Cidr& universe);
// The per-range allocation identities, joined by '|' (just the one for a single range), and
// split again. Peers compare them position by position (gossip/handshake.h).
std::string join_identities(const std::vector<std::string>& identities);
std::vector<std::string> split_identities(const std::string& joined);

class RangeAllocators {
 public:
  // REQUIRES: 1 or 2 configs, of different families, the same `self`.
  explicit RangeAllocators(std::vector<AllocatorConfig> configs);
  RangeAllocators(const RangeAllocators&) = delete;
  RangeAllocators& operator=(const RangeAllocators&) = delete;
  ~RangeAllocators();

  // Restores every range from its records. Fails as Allocator::start does, and with
  // kFailedPrecondition if the store holds another range's records: never drops them.
  Result<Effects> start(Millis now, const Stored& stored);

  Effects command(Millis now, RequestId id, const Command& command);
  // A message for the range it names (refused, as a bad message, if we serve no such range).
  Effects message(Millis now, PeerName from, const RangedMessage& message);
  Effects peer_up(Millis now, const PeerIdentity& peer);
  Effects peer_down(Millis now, PeerName peer);
  // `theirs` is the peer's joined identity: each range whose identity differs from ours is
  // told; when none is known to differ, every range is.
  Effects ring_conflict(Millis now, const PeerIdentity& peer, const std::string& theirs);
  Effects tick(Millis now);
  Effects shutdown(Millis now);

  // The bytes to send for a message one of our ranges produced.
  std::vector<std::uint8_t> encode(const OutgoingMessage& message) const;
  // Our joined allocation identity, for the handshake.
  std::string identity() const;
  // Our ranges, comma-separated, as the handshake compares them.
  std::string ranges_text() const;

  std::size_t size() const { return ranges_.size(); }
  const Allocator& at(std::size_t i) const { return *ranges_[i].allocator; }
  const Cidr& universe(std::size_t i) const { return ranges_[i].universe; }
  const Allocator& primary() const { return at(0); }
  // The range of `family`, or null when we serve none.
  const Allocator* of_family(Family family) const;
  // Who holds `a` on this peer, if anyone.
  const std::string* holder(const Address& a) const;
  // Every range's allocations (address -> owner), one table per range.
  std::vector<const std::map<Address, std::string>*> tables() const;
  std::size_t pending_count() const;
  Status check_invariants() const;

 private:
  struct Range {
    Cidr universe;
    std::string key_prefix;
    std::unique_ptr<Allocator> allocator;
  };
  // A command sent to every range: its reply waits for all of them.
  struct FanOut {
    std::size_t waiting = 0;
    Reply merged;
  };

  int index_of(Family family) const;
  // Tags `fx`'s messages and keys with range `i`, and merges fan-out replies.
  Effects finish(std::size_t i, Effects fx);
  void merge_reply(Reply reply, std::vector<Reply>& out);
  template <typename Call>
  Effects each(Call call);

  std::vector<Range> ranges_;
  std::map<RequestId, FanOut> fanouts_;
};

}  // namespace wipam::ring
