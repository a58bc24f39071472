// Ring: the CRDT that says which peer owns which part of the allocation range.
//
// The range is a circle cut by tokens; each entry owns the addresses from its token up to
// the next token, the last one wrapping round to the first. Only an entry's owner changes
// it, bumping its version; merging keeps, per token, the entry with the highest (version,
// owner, free) and never drops a token, so merge is commutative, associative and idempotent
// and replicas that have seen the same updates hold the same ring. Free counts are hints
// for choosing donors. A ring also carries the peers it was first split among (its seeds):
// rings created apart cannot be merged. Owned by one allocator; loop-confined.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/peer_name.h"
#include "ring/status.h"

namespace wipam::ring {

struct Entry {
  Address token;
  PeerName owner;
  std::uint64_t version = 0;
  Uint128 free = 0;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// What a merge did to the local peer's ownership.
struct MergeOutcome {
  bool changed = false;
  std::vector<Range> lost;    // ranges self owned before and not after
  std::vector<Range> gained;  // ranges self owns now and did not before
};

// Added to every version a transfer (rmpeer) touches, so it beats the old owner's own
// increments; two transfers of one peer tie on version and are settled by owner name.
inline constexpr std::uint64_t kTransferVersionBump = std::uint64_t{1} << 32;
// Bound on entries accepted from the wire or the store.
inline constexpr std::size_t kMaxRingEntries = 1 << 20;

class Ring {
 public:
  // An empty ring over `universe` as seen by peer `self`.
  Ring(Range universe, PeerName self);

  const Range& universe() const { return universe_; }
  PeerName self() const { return self_; }
  bool empty() const { return entries_.empty(); }
  const std::vector<PeerName>& seeds() const { return seeds_; }
  const std::vector<Entry>& entries() const { return entries_; }

  // Splits the range among `peers` (sorted and de-duplicated first) in contiguous shares
  // that differ by at most one address; peers beyond the number of addresses get nothing.
  // REQUIRES (checked): the ring is empty and `peers` is not.
  Status claim_for_peers(std::vector<PeerName> peers);
  // Gives [r) to `to`. Fails, changing nothing, unless self owns every address of r.
  Status grant(const Range& r, PeerName to);
  // The ranges `peer` owns, sorted, the one wrapping past the end split in two.
  std::vector<Range> owned_ranges(PeerName peer) const;
  // The owner of `a`; nullopt on an empty ring or outside the range.
  std::optional<PeerName> owner(const Address& a) const;
  // Sets each of self's free hints to free_in(its range); bumps the version of each that
  // changed. True iff any did.
  bool report_free(const std::function<Uint128(const Range&)>& free_in);
  // Joins `incoming` into this ring. kConflict for another range or other seeds,
  // kCorruption for an invalid ring; this ring is unchanged on error.
  Result<MergeOutcome> merge(const Ring& incoming);
  std::map<PeerName, Uint128> free_by_peer() const;
  std::map<PeerName, Uint128> owned_by_peer() const;
  // Peers other than self, for which reachable() holds, advertising free space in entries
  // overlapping `wanted`; most free first, ties by name.
  std::vector<PeerName> donors(const Range& wanted,
                               const std::function<bool(PeerName)>& reachable) const;
  // Relabels every entry of `from` as `to` (rmpeer). Returns the addresses moved.
  Uint128 transfer(PeerName from, PeerName to);

  // OK iff every invariant holds: tokens sorted, unique, inside the range and of its family,
  // owners known, free hints within their ranges, seeds sorted and unique.
  Status validate() const;
  std::vector<std::uint8_t> encode() const;
  // Refuses anything malformed or invalid with kCorruption.
  static Result<Ring> decode(std::span<const std::uint8_t> bytes, PeerName self);
  std::string to_string() const;

  // Same range, seeds and entries (`self` is not compared).
  friend bool operator==(const Ring& a, const Ring& b) {
    return a.universe_ == b.universe_ && a.seeds_ == b.seeds_ && a.entries_ == b.entries_;
  }

 private:
  // The addresses entry i owns: one range, or two when it wraps past the end.
  std::vector<Range> ranges_of(std::size_t i) const;
  Uint128 length_of(std::size_t i) const;
  // Index of the entry owning `a`. REQUIRES: !empty() and a inside the range.
  std::size_t index_of(const Address& a) const;
  // Index of the entry whose token is exactly `a`, if any.
  std::optional<std::size_t> find_token(const Address& a) const;
  void clamp_free();
  void changed() { encoded_.clear(); }

  Range universe_;
  PeerName self_;
  std::vector<PeerName> seeds_;
  std::vector<Entry> entries_;
  // encode() of the current state, empty when stale: the ring is sent far more often than
  // it changes.
  mutable std::vector<std::uint8_t> encoded_;
};

// The addresses in `a` but not in `b`; both sorted and disjoint.
std::vector<Range> subtract_ranges(const std::vector<Range>& a, const std::vector<Range>& b);
// Sorts and joins touching ranges.
std::vector<Range> coalesce_ranges(std::vector<Range> ranges);

}  // namespace wipam::ring
