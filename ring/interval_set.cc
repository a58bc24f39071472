#include "ring/interval_set.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace wipam::ring {
namespace {

constexpr std::size_t kMinShrinkCapacity = 1024;

// Index of the highest set bit (floor(log2 v)). REQUIRES: v > 0.
int highest_bit(Uint128 v) {
  auto high = static_cast<std::uint64_t>(v >> 64);
  if (high != 0) {
    return 127 - __builtin_clzll(high);
  }
  return 63 - __builtin_clzll(static_cast<std::uint64_t>(v));
}

int block_log2_of(Uint128 start, Uint128 end) {
  return highest_bit(biggest_aligned_block_in(start, end).size());
}

}  // namespace

IntervalSet::Interval biggest_aligned_block_in(Uint128 start, Uint128 end) {
  assert(start < end);
  // A run of n >= 2^k values holds an aligned block of 2^(k-1), so only two sizes can win.
  int k = highest_bit(end - start);
  for (int bits = k; bits > 0; --bits) {
    Uint128 size = Uint128{1} << bits;
    Uint128 top = ((end - size) >> bits) << bits;  // highest aligned start that still fits
    if (top >= start) {
      return {top, top + size};
    }
  }
  return {end - 1, end};
}

std::size_t IntervalSet::interval_bytes() { return sizeof(Node); }

bool IntervalSet::contains(Uint128 value) const { return interval_containing(value).has_value(); }

std::optional<IntervalSet::Interval> IntervalSet::interval_containing(Uint128 value) const {
  std::uint32_t i = floor_node(value);
  if (i == kNil || nodes_[i].end <= value) {
    return std::nullopt;
  }
  return Interval{nodes_[i].start, nodes_[i].end};
}

Uint128 IntervalSet::count(Uint128 start, Uint128 end) const {
  if (start >= end) {
    return 0;
  }
  return count_below(end) - count_below(start);
}

Uint128 IntervalSet::count() const { return subtree_count(root_); }

std::optional<Uint128> IntervalSet::first_member_at_or_after(Uint128 value) const {
  std::uint32_t after = kNil;
  std::uint32_t i = root_;
  while (i != kNil) {
    const Node& n = nodes_[i];
    if (n.start <= value) {
      if (value < n.end) {
        return value;
      }
      i = n.right;
    } else {
      after = i;
      i = n.left;
    }
  }
  if (after == kNil) {
    return std::nullopt;
  }
  return nodes_[after].start;
}

Uint128 IntervalSet::first_gap_at_or_after(Uint128 value) const {
  // Intervals never touch, so the end of the interval holding `value` is a gap.
  std::optional<Interval> holding = interval_containing(value);
  return holding ? holding->end : value;
}

std::optional<IntervalSet::Interval> IntervalSet::biggest_aligned_block(Uint128 start,
                                                                        Uint128 end) const {
  if (start >= end) {
    return std::nullopt;
  }
  std::optional<Interval> best;
  auto consider = [&best](Interval block) {
    if (!best || block.size() > best->size() ||
        (block.size() == best->size() && block.start > best->start)) {
      best = block;
    }
  };
  // The intervals cut by either edge of [start, end) are clipped and judged on their own; the
  // augmentation answers for the ones lying wholly inside.
  std::uint32_t first = floor_node(start);
  if (first != kNil && nodes_[first].start < start && nodes_[first].end > start) {
    consider(biggest_aligned_block_in(start, std::min(nodes_[first].end, end)));
  }
  Uint128 inner_end = end;
  std::uint32_t last = floor_node(end - 1);
  if (last != kNil && nodes_[last].start >= start && nodes_[last].end > end) {
    consider(biggest_aligned_block_in(nodes_[last].start, end));
    inner_end = nodes_[last].start;
  }
  std::uint32_t inner = best_block_node(start, inner_end);
  if (inner != kNil) {
    consider(biggest_aligned_block_in(nodes_[inner].start, nodes_[inner].end));
  }
  return best;
}

template <class Visit>
bool IntervalSet::visit_in_order(Visit visit) const {
  std::vector<std::uint32_t> stack;  // explicit: a treap's depth is only expected O(log n)
  std::uint32_t i = root_;
  while (i != kNil || !stack.empty()) {
    while (i != kNil) {
      stack.push_back(i);
      i = nodes_[i].left;
    }
    i = stack.back();
    stack.pop_back();
    if (!visit(i)) {
      return false;
    }
    i = nodes_[i].right;
  }
  return true;
}

std::vector<IntervalSet::Interval> IntervalSet::intervals() const {
  std::vector<Interval> out;
  out.reserve(nodes_.size());
  visit_in_order([&](std::uint32_t i) {
    out.push_back({nodes_[i].start, nodes_[i].end});
    return true;
  });
  return out;
}

void IntervalSet::insert(Uint128 start, Uint128 end) {
  assert(start < end && count(start, end) == 0);
  // Disjointness means the neighbours are the floor of `start` and the node after it.
  std::uint32_t before = floor_node(start);
  std::optional<Uint128> after_start = first_member_at_or_after(start);
  bool join_before = before != kNil && nodes_[before].end == start;
  bool join_after = after_start && *after_start == end;
  if (join_before && join_after) {
    std::uint32_t after = floor_node(end);
    Uint128 new_end = nodes_[after].end;
    // Widen first, erase second: erasing may move nodes, which would stale `before`.
    set_bounds(before, nodes_[before].start, new_end);
    erase_node(after);
  } else if (join_before) {
    set_bounds(before, nodes_[before].start, end);
  } else if (join_after) {
    std::uint32_t after = floor_node(end);
    set_bounds(after, start, nodes_[after].end);
  } else {
    insert_node(start, end);
  }
}

void IntervalSet::erase(Uint128 start, Uint128 end) {
  std::uint32_t i = floor_node(start);
  assert(start < end && i != kNil && nodes_[i].end >= end);
  Uint128 old_start = nodes_[i].start;
  Uint128 old_end = nodes_[i].end;
  if (old_start == start && old_end == end) {
    erase_node(i);
  } else if (old_start == start) {
    set_bounds(i, end, old_end);
  } else if (old_end == end) {
    set_bounds(i, old_start, start);
  } else {
    set_bounds(i, old_start, start);
    insert_node(end, old_end);
  }
}

std::uint32_t IntervalSet::floor_node(Uint128 value) const {
  std::uint32_t found = kNil;
  std::uint32_t i = root_;
  while (i != kNil) {
    if (nodes_[i].start <= value) {
      found = i;
      i = nodes_[i].right;
    } else {
      i = nodes_[i].left;
    }
  }
  return found;
}

Uint128 IntervalSet::count_below(Uint128 value) const {
  // Every interval in a left subtree ends at or before its parent's start.
  Uint128 below = 0;
  std::uint32_t i = root_;
  while (i != kNil) {
    const Node& n = nodes_[i];
    if (n.start < value) {
      below += subtree_count(n.left) + (std::min(n.end, value) - n.start);
      i = n.right;
    } else {
      i = n.left;
    }
  }
  return below;
}

std::uint32_t IntervalSet::best_block_node(Uint128 lo, Uint128 hi) const {
  // Split the key range into O(depth) pieces -- single nodes and whole subtrees -- keep the
  // piece with the biggest block (the higher one on ties), then descend into it once.
  std::uint32_t split = root_;
  while (split != kNil && !(lo <= nodes_[split].start && nodes_[split].start < hi)) {
    split = nodes_[split].start >= hi ? nodes_[split].left : nodes_[split].right;
  }
  if (split == kNil) {
    return kNil;
  }
  std::uint32_t best = split;
  int best_log2 = nodes_[split].block_log2;
  bool best_whole = false;
  auto consider = [&](std::uint32_t piece, bool whole) {
    if (piece == kNil) {
      return;
    }
    int log2 = whole ? nodes_[piece].subtree_block_log2 : nodes_[piece].block_log2;
    // Pieces are disjoint runs of keys, so comparing their roots orders them.
    if (log2 > best_log2 || (log2 == best_log2 && nodes_[piece].start > nodes_[best].start)) {
      best = piece;
      best_log2 = log2;
      best_whole = whole;
    }
  };
  for (std::uint32_t i = nodes_[split].left; i != kNil;) {
    if (nodes_[i].start >= lo) {
      consider(i, false);
      consider(nodes_[i].right, true);
      i = nodes_[i].left;
    } else {
      i = nodes_[i].right;
    }
  }
  for (std::uint32_t i = nodes_[split].right; i != kNil;) {
    if (nodes_[i].start < hi) {
      consider(i, false);
      consider(nodes_[i].left, true);
      i = nodes_[i].right;
    } else {
      i = nodes_[i].left;
    }
  }
  return best_whole ? highest_with_block(best, best_log2) : best;
}

std::uint32_t IntervalSet::highest_with_block(std::uint32_t i, int target) const {
  while (true) {
    const Node& n = nodes_[i];
    if (subtree_block_log2(n.right) == target) {
      i = n.right;
    } else if (n.block_log2 == target) {
      return i;
    } else {
      i = n.left;
    }
  }
}

void IntervalSet::refresh(std::uint32_t i) {
  Node& n = nodes_[i];
  n.subtree_count = subtree_count(n.left) + (n.end - n.start) + subtree_count(n.right);
  int log2 = std::max(
      {static_cast<int>(n.block_log2), subtree_block_log2(n.left), subtree_block_log2(n.right)});
  n.subtree_block_log2 = static_cast<std::int8_t>(log2);
}

void IntervalSet::refresh_to_root(std::uint32_t i) {
  for (; i != kNil; i = nodes_[i].parent) {
    refresh(i);
  }
}

void IntervalSet::replace_child(std::uint32_t parent, std::uint32_t old_child,
                                std::uint32_t new_child) {
  if (parent == kNil) {
    root_ = new_child;
  } else if (nodes_[parent].left == old_child) {
    nodes_[parent].left = new_child;
  } else {
    nodes_[parent].right = new_child;
  }
  if (new_child != kNil) {
    nodes_[new_child].parent = parent;
  }
}

void IntervalSet::rotate_up(std::uint32_t i) {
  std::uint32_t p = nodes_[i].parent;
  std::uint32_t g = nodes_[p].parent;
  if (nodes_[p].left == i) {
    std::uint32_t moved = nodes_[i].right;
    nodes_[p].left = moved;
    if (moved != kNil) {
      nodes_[moved].parent = p;
    }
    nodes_[i].right = p;
  } else {
    std::uint32_t moved = nodes_[i].left;
    nodes_[p].right = moved;
    if (moved != kNil) {
      nodes_[moved].parent = p;
    }
    nodes_[i].left = p;
  }
  nodes_[p].parent = i;
  replace_child(g, p, i);
  refresh(p);
  refresh(i);
}

void IntervalSet::set_bounds(std::uint32_t i, Uint128 start, Uint128 end) {
  nodes_[i].start = start;
  nodes_[i].end = end;
  nodes_[i].block_log2 = static_cast<std::int8_t>(block_log2_of(start, end));
  refresh_to_root(i);
}

void IntervalSet::insert_node(Uint128 start, Uint128 end) {
  assert(nodes_.size() < kNil);
  auto i = static_cast<std::uint32_t>(nodes_.size());
  Node node;
  node.start = start;
  node.end = end;
  node.priority = next_priority();
  node.block_log2 = static_cast<std::int8_t>(block_log2_of(start, end));
  std::uint32_t parent = kNil;
  for (std::uint32_t at = root_; at != kNil;) {
    parent = at;
    at = start < nodes_[at].start ? nodes_[at].left : nodes_[at].right;
  }
  node.parent = parent;
  nodes_.push_back(node);
  if (parent == kNil) {
    root_ = i;
  } else if (start < nodes_[parent].start) {
    nodes_[parent].left = i;
  } else {
    nodes_[parent].right = i;
  }
  refresh(i);
  while (nodes_[i].parent != kNil && nodes_[nodes_[i].parent].priority < nodes_[i].priority) {
    rotate_up(i);
  }
  refresh_to_root(nodes_[i].parent);
}

void IntervalSet::erase_node(std::uint32_t i) {
  // Rotate the node down until it has at most one child, then splice it out.
  while (nodes_[i].left != kNil && nodes_[i].right != kNil) {
    std::uint32_t l = nodes_[i].left;
    std::uint32_t r = nodes_[i].right;
    rotate_up(nodes_[l].priority > nodes_[r].priority ? l : r);
  }
  std::uint32_t child = nodes_[i].left != kNil ? nodes_[i].left : nodes_[i].right;
  std::uint32_t parent = nodes_[i].parent;
  replace_child(parent, i, child);
  refresh_to_root(parent);
  move_last_into(i);
}

void IntervalSet::move_last_into(std::uint32_t slot) {
  auto last = static_cast<std::uint32_t>(nodes_.size() - 1);
  if (slot != last) {
    nodes_[slot] = nodes_[last];
    Node& n = nodes_[slot];
    replace_child(n.parent, last, slot);
    if (n.left != kNil) {
      nodes_[n.left].parent = slot;
    }
    if (n.right != kNil) {
      nodes_[n.right].parent = slot;
    }
  }
  nodes_.pop_back();
  // Give memory back after a burst of fragmentation heals; amortised O(1) because the pool
  // must shrink to a quarter before it is reallocated.
  if (nodes_.capacity() > kMinShrinkCapacity && nodes_.size() < nodes_.capacity() / 4) {
    nodes_.shrink_to_fit();
  }
}

std::uint32_t IntervalSet::next_priority() {
  // splitmix64: cheap, well mixed, and the same sequence on every run.
  rng_state_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = rng_state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<std::uint32_t>((z ^ (z >> 31)) >> 32);
}

Status IntervalSet::check() const {
  if (root_ != kNil && nodes_[root_].parent != kNil) {
    return Status::internal("interval set root has a parent");
  }
  std::size_t seen = 0;
  std::optional<Interval> previous;
  Status bad;
  visit_in_order([&](std::uint32_t i) {
    const Node& n = nodes_[i];
    ++seen;
    if (n.start >= n.end) {
      bad = Status::internal("interval set node " + std::to_string(i) + " is empty");
      return false;
    }
    if (previous && previous->end >= n.start) {
      bad = Status::internal("interval set intervals overlap or touch at " +
                             uint128_to_string(n.start));
      return false;
    }
    for (std::uint32_t c : {n.left, n.right}) {
      if (c != kNil && (nodes_[c].parent != i || nodes_[c].priority > n.priority)) {
        bad = Status::internal("interval set node " + std::to_string(c) +
                               " has a bad parent link or priority");
        return false;
      }
    }
    Uint128 sum = subtree_count(n.left) + (n.end - n.start) + subtree_count(n.right);
    int log2 = std::max(
        {block_log2_of(n.start, n.end), subtree_block_log2(n.left), subtree_block_log2(n.right)});
    if (sum != n.subtree_count || n.block_log2 != block_log2_of(n.start, n.end) ||
        log2 != n.subtree_block_log2) {
      bad = Status::internal("interval set node " + std::to_string(i) + " has stale sums");
      return false;
    }
    previous = Interval{n.start, n.end};
    return true;
  });
  if (!bad.ok()) {
    return bad;
  }
  if (seen != nodes_.size()) {
    return Status::internal("interval set has unreachable nodes");
  }
  return Status();
}

}  // namespace wipam::ring
