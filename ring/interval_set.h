// IntervalSet: a set of 128-bit values kept as disjoint, coalesced half-open intervals.
//
// The intervals live in a treap keyed by their start. Every node also carries, for its
// subtree, the number of values and the size of the biggest CIDR-aligned block inside any one
// interval. So membership, counts inside any range, the lowest member at or after a value and
// the biggest aligned block inside a range each cost O(log n) expected in the number of
// intervals, never a scan over values or intervals. All loops are iterative.
// Treap priorities come from a fixed-seed generator, so the tree shape is deterministic.
// Owned by one Space; not thread-safe (loop-confined like its owner).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "ring/address.h"
#include "ring/status.h"

namespace wipam::ring {

class IntervalSet {
 public:
  // The values [start, end). Never empty inside a set.
  struct Interval {
    Uint128 start = 0;
    Uint128 end = 0;
    Uint128 size() const { return end - start; }
    friend bool operator==(const Interval&, const Interval&) = default;
  };

  IntervalSet() = default;
  IntervalSet(const IntervalSet&) = delete;
  IntervalSet& operator=(const IntervalSet&) = delete;
  IntervalSet(IntervalSet&&) = default;
  IntervalSet& operator=(IntervalSet&&) = default;

  // True iff the set holds no value.
  bool empty() const { return nodes_.empty(); }
  // The number of disjoint intervals the set is stored as.
  std::size_t interval_count() const { return nodes_.size(); }
  // Bytes held by the node pool, counting its spare capacity (at most 4x the live nodes once
  // past a small floor).
  std::size_t memory_bytes() const { return nodes_.capacity() * sizeof(Node); }
  // Bytes of one stored interval.
  static std::size_t interval_bytes();

  // True iff `value` is in the set.
  bool contains(Uint128 value) const;
  // The stored interval holding `value`, if any.
  std::optional<Interval> interval_containing(Uint128 value) const;
  // The number of values of the set in [start, end); 0 when start >= end.
  Uint128 count(Uint128 start, Uint128 end) const;
  // The number of values in the whole set.
  Uint128 count() const;
  // The lowest value of the set that is >= `value`, if any.
  std::optional<Uint128> first_member_at_or_after(Uint128 value) const;
  // The lowest value that is >= `value` and not in the set. REQUIRES: the set holds no value
  // at 2^128 - 1 (the result would not be representable).
  Uint128 first_gap_at_or_after(Uint128 value) const;
  // The biggest block [m, m + 2^k) with m a multiple of 2^k that lies inside [start, end) and
  // inside one interval of the set; on ties the highest. None iff the set has no value there.
  std::optional<Interval> biggest_aligned_block(Uint128 start, Uint128 end) const;
  // Every interval, in ascending order. O(n); for reports, not for hot paths.
  std::vector<Interval> intervals() const;

  // Adds [start, end), joining it to touching intervals.
  // REQUIRES: start < end and count(start, end) == 0.
  void insert(Uint128 start, Uint128 end);
  // Removes [start, end). REQUIRES: start < end and count(start, end) == end - start.
  void erase(Uint128 start, Uint128 end);

  // OK iff the tree is well formed: ordered, heap-ordered, linked both ways, its sums exact
  // and its intervals non-empty, disjoint and not touching. O(n); for tests and checked builds.
  Status check() const;

 private:
  // Calls visit(node index) in address order until it returns false; false iff it stopped.
  template <class Visit>
  bool visit_in_order(Visit visit) const;
  static constexpr std::uint32_t kNil = UINT32_MAX;

  struct Node {
    Uint128 start = 0;
    Uint128 end = 0;
    Uint128 subtree_count = 0;  // values in this node's subtree
    std::uint32_t left = kNil;
    std::uint32_t right = kNil;
    std::uint32_t parent = kNil;
    std::uint32_t priority = 0;          // max-heap order
    std::int8_t block_log2 = 0;          // log2 of the biggest aligned block in [start, end)
    std::int8_t subtree_block_log2 = 0;  // max of block_log2 over the subtree
  };

  Uint128 subtree_count(std::uint32_t i) const { return i == kNil ? 0 : nodes_[i].subtree_count; }
  int subtree_block_log2(std::uint32_t i) const {
    return i == kNil ? -1 : nodes_[i].subtree_block_log2;
  }
  // The node with the greatest start <= value, or kNil.
  std::uint32_t floor_node(Uint128 value) const;
  // The number of values of the set below `value`.
  Uint128 count_below(Uint128 value) const;
  // The node inside keys [lo, hi) whose block is biggest, on ties the highest; kNil if none.
  std::uint32_t best_block_node(Uint128 lo, Uint128 hi) const;
  // The highest node of the subtree at `i` whose block_log2 equals `target`.
  std::uint32_t highest_with_block(std::uint32_t i, int target) const;

  void refresh(std::uint32_t i);
  void refresh_to_root(std::uint32_t i);
  void rotate_up(std::uint32_t i);
  void replace_child(std::uint32_t parent, std::uint32_t old_child, std::uint32_t new_child);
  void set_bounds(std::uint32_t i, Uint128 start, Uint128 end);
  void insert_node(Uint128 start, Uint128 end);
  void erase_node(std::uint32_t i);
  void move_last_into(std::uint32_t slot);
  std::uint32_t next_priority();

  std::vector<Node> nodes_;  // dense: erasing moves the last node into the hole
  std::uint32_t root_ = kNil;
  std::uint64_t rng_state_ = 0x9e3779b97f4a7c15ULL;
};

// The biggest CIDR-aligned block inside [start, end), on ties the highest. REQUIRES: start < end.
IntervalSet::Interval biggest_aligned_block_in(Uint128 start, Uint128 end);

}  // namespace wipam::ring
