// Space: one peer's bookkeeping inside the address ranges it owns.
//
// Every owned address is either free or allocated; the space records which, but not who holds
// an allocated address (the allocator keeps that). It hands out the lowest free address of a
// range, takes specific addresses, counts free and allocated addresses inside any range, and
// picks what to give a peer that asks for space. Every operation but the reports costs
// O(log n) expected (the sets are treaps) in the number of free fragments, whatever the size
// of the ranges, IPv4 or IPv6. A space holds one family at a time.
// Owned by the allocator; loop-confined (not thread-safe).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/interval_set.h"
#include "ring/status.h"

namespace wipam::ring {

class Space {
 public:
  Space() = default;
  Space(const Space&) = delete;
  Space& operator=(const Space&) = delete;
  Space(Space&&) = default;
  Space& operator=(Space&&) = default;

  // Takes ownership of `r`, all of it free; touching owned ranges coalesce. Fails with
  // kInvalidArgument if `r` is empty or of the other family than what the space holds, and
  // kAlreadyExists if it overlaps an owned range.
  Status add(const Range& r);
  // Gives up ownership of `r`. Fails, changing nothing, with kInvalidArgument if `r` is empty
  // or of the other family, kNotFound if some address of `r` is not owned, and
  // kFailedPrecondition if some address of `r` is allocated.
  Status remove(const Range& r);

  // Allocates and returns the lowest free owned address in `within`. Fails with kExhausted if
  // there is none, kInvalidArgument if `within` is empty or of the other family.
  Result<Address> allocate(const Range& within);
  // Allocates `a`. Fails with kInvalidArgument (other family), kNotFound (not owned) or
  // kAlreadyExists (already allocated).
  Status claim(const Address& a);
  // Makes the allocated address `a` free again. Fails with kInvalidArgument (other family),
  // kNotFound (not owned) or kFailedPrecondition (already free).
  Status free(const Address& a);

  // True iff `a` lies in an owned range.
  bool owns(const Address& a) const;
  // True iff `a` is owned and allocated.
  bool is_allocated(const Address& a) const;
  // The number of free owned addresses, in all or inside `within`.
  Uint128 free_count() const;
  Uint128 free_count(const Range& within) const;
  // The number of allocated addresses, in all or inside `within`.
  Uint128 allocated_count() const;
  Uint128 allocated_count(const Range& within) const;
  // True iff some address of `r` is allocated.
  bool has_allocations(const Range& r) const;
  // The owned ranges, coalesced and in ascending order. O(owned ranges).
  std::vector<Range> owned_ranges() const;
  // The number of disjoint runs of free addresses (the unit every cost is counted in).
  std::size_t free_fragment_count() const { return free_.interval_count(); }
  // Bytes held by the space's own structures.
  std::size_t memory_bytes() const { return free_.memory_bytes() + owned_.memory_bytes(); }

  // What to give a peer asking for space in `wanted`: the biggest CIDR-aligned free block
  // inside `wanted` (the highest on ties) or, if that block is more than half of the free
  // addresses in `wanted`, its upper half. An empty range at wanted.start() iff nothing in
  // `wanted` is free. Changes nothing: the caller removes the block once it is granted.
  Range choose_donation(const Range& wanted) const;

  // OK iff the internal structures are well formed and every free address is owned.
  // O(n log n); for tests and checked builds.
  Status check_invariants() const;

 private:
  // True iff the space holds nothing yet or holds `family`.
  bool accepts(Family family) const { return owned_.empty() || family == family_; }
  Status family_error(const std::string& what) const;

  Family family_ = Family::kV4;  // meaningful only while something is owned
  IntervalSet owned_;            // owned addresses, coalesced
  IntervalSet free_;             // owned, unallocated addresses, coalesced
};

}  // namespace wipam::ring
