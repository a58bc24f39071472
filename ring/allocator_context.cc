#include "ring/allocator_context.h"

#include <algorithm>
#include <utility>

namespace wipam::ring {

AllocatorContext::AllocatorContext(AllocatorConfig c)
    : config(std::move(c)),
      universe(config.universe.range()),
      ring(universe, config.self.name),
      ring_conflicts(config.conflict_memory) {}

std::string AllocatorContext::nick(PeerName p) const {
  if (p == config.self.name) {
    return config.self.to_string();
  }
  auto it = nicknames.find(p);
  return it == nicknames.end() || it->second.empty() ? p.to_string()
                                                     : p.to_string() + "(" + it->second + ")";
}

void AllocatorContext::record(const Address& a, const std::string& owner, int prefix_len,
                              bool shared) {
  table.set(a, owner, prefix_len, shared);  // replaces any earlier holder, as the put does
  out.write(allocation_write(a, {owner, prefix_len, shared}));
  if (shares.find(a) != nullptr) {
    ++shares_changes;  // a shares-notice names the holder the table keeps a shared one for
  }
}

void AllocatorContext::forget(const Address& a) {
  if (table.erase(a)) {
    out.write(allocation_delete(a));
  }
  forget_share(a);
}

void AllocatorContext::record_share(const Address& a, Share share) {
  out.write(share_write(a, share));
  shares.set(a, std::move(share));
  ++shares_changes;
}

void AllocatorContext::forget_share(const Address& a) {
  if (shares.erase(a)) {
    out.write(share_delete(a));
    ++shares_changes;
  }
}

void AllocatorContext::report_free() {
  if (ring.report_free([this](const Range& r) { return space.free_count(r); })) {
    persist_ring();
  }
}

void AllocatorContext::add_owned(const Range& r) {
  Status added = space.add(r);
  if (!added.ok()) {
    out.expect_ok(added, "space.add", r);
    return;
  }
  for (const Address& a : table.in_range(r)) {
    // The range was free a moment ago and each address is held once: this cannot fail.
    out.expect_ok(space.claim(a), "space.claim", a);
  }
}

std::vector<Range> AllocatorContext::own_ranges() const {
  return coalesce_ranges(ring.owned_ranges(config.self.name));
}

void AllocatorContext::take_own_ranges() {
  for (const Range& r : own_ranges()) {
    add_owned(r);
  }
}

void AllocatorContext::report_conflict(EventKind kind, const std::string& text) {
  if (std::find(conflicts.begin(), conflicts.end(), text) == conflicts.end()) {
    conflicts.push_back(text);
    out.event(EventLevel::kError, kind, text);
  }
}

Status AllocatorContext::check_invariants() const {
  if (own_ranges() != space.owned_ranges()) {
    return Status::internal("space and ring disagree on what this peer owns");
  }
  Uint128 held_here = 0;
  for (const auto& [a, allocation] : table.all()) {
    if (space.owns(a)) {
      ++held_here;
      if (!space.is_allocated(a)) {
        return Status::internal("allocation " + a.to_string() + " is free in the space");
      }
    }
  }
  for (const auto& [a, share] : shares.all()) {
    if (!space.owns(a) || !table.contains(a)) {
      return Status::internal("shared address " + a.to_string() + " is not held in our space");
    }
  }
  if (held_here != space.allocated_count()) {
    return Status::internal("space counts " + uint128_to_string(space.allocated_count()) +
                            " allocated, records say " + uint128_to_string(held_here));
  }
  return Status();
}

}  // namespace wipam::ring
