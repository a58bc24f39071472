#include "ring/space.h"

namespace wipam::ring {
namespace {

const char* family_name(Family family) { return family == Family::kV4 ? "IPv4" : "IPv6"; }

Uint128 start_of(const Range& r) { return r.start().value(); }
Uint128 end_of(const Range& r) { return r.end().value(); }

}  // namespace

Status Space::family_error(const std::string& what) const {
  return Status::invalid_argument(what + " is not " + family_name(family_) +
                                  ", the family of every range this space holds");
}

Status Space::add(const Range& r) {
  if (r.empty()) {
    return Status::invalid_argument("cannot add an empty range " + r.to_string());
  }
  if (!accepts(r.family())) {
    return family_error(r.to_string());
  }
  std::optional<Uint128> overlap = owned_.first_member_at_or_after(start_of(r));
  if (overlap && *overlap < end_of(r)) {
    IntervalSet::Interval held = *owned_.interval_containing(*overlap);
    Range owned(Address::of(family_, held.start), Address::of(family_, held.end));
    return Status::already_exists("cannot add " + r.to_string() + ": it overlaps " +
                                  owned.to_string() + ", which this peer already owns");
  }
  family_ = r.family();
  owned_.insert(start_of(r), end_of(r));
  free_.insert(start_of(r), end_of(r));
  return Status();
}

Status Space::remove(const Range& r) {
  if (r.empty()) {
    return Status::invalid_argument("cannot remove an empty range " + r.to_string());
  }
  if (!accepts(r.family())) {
    return family_error(r.to_string());
  }
  // Owned and free sets are coalesced, so `r` is wholly owned (free) iff the run holding its
  // first address reaches its end.
  Uint128 unowned = owned_.first_gap_at_or_after(start_of(r));
  if (unowned < end_of(r)) {
    return Status::not_found("cannot remove " + r.to_string() + ": " +
                             Address::of(r.family(), unowned).to_string() +
                             " is not owned by this peer");
  }
  Uint128 allocated = free_.first_gap_at_or_after(start_of(r));
  if (allocated < end_of(r)) {
    return Status::failed_precondition("cannot remove " + r.to_string() + ": " +
                                       uint128_to_string(allocated_count(r)) +
                                       " of its addresses are allocated, the first " +
                                       Address::of(family_, allocated).to_string());
  }
  owned_.erase(start_of(r), end_of(r));
  free_.erase(start_of(r), end_of(r));
  return Status();
}

Result<Address> Space::allocate(const Range& within) {
  if (within.empty()) {
    return Status::invalid_argument("cannot allocate from an empty range " + within.to_string());
  }
  if (!accepts(within.family())) {
    return family_error(within.to_string());
  }
  std::optional<Uint128> lowest = free_.first_member_at_or_after(start_of(within));
  if (!lowest || *lowest >= end_of(within)) {
    Uint128 owned = owned_.count(start_of(within), end_of(within));
    if (owned == 0) {
      return Status::exhausted("no free address in " + within.to_string() +
                               ": this peer owns none of it");
    }
    return Status::exhausted("no free address in " + within.to_string() + ": all " +
                             uint128_to_string(owned) +
                             " addresses this peer owns there are "
                             "allocated");
  }
  free_.erase(*lowest, *lowest + 1);
  return Address::of(family_, *lowest);
}

Status Space::claim(const Address& a) {
  if (!accepts(a.family())) {
    return family_error(a.to_string());
  }
  if (!owns(a)) {
    return Status::not_found("cannot claim " + a.to_string() +
                             ": it is not in a range this peer owns");
  }
  if (!free_.contains(a.value())) {
    return Status::already_exists("cannot claim " + a.to_string() + ": it is already allocated");
  }
  free_.erase(a.value(), a.value() + 1);
  return Status();
}

Status Space::free(const Address& a) {
  if (!accepts(a.family())) {
    return family_error(a.to_string());
  }
  if (!owns(a)) {
    return Status::not_found("cannot free " + a.to_string() +
                             ": it is not in a range this peer owns");
  }
  if (free_.contains(a.value())) {
    return Status::failed_precondition("cannot free " + a.to_string() + ": it is already free");
  }
  free_.insert(a.value(), a.value() + 1);
  return Status();
}

bool Space::owns(const Address& a) const {
  return !owned_.empty() && a.family() == family_ && owned_.contains(a.value());
}

bool Space::is_allocated(const Address& a) const { return owns(a) && !free_.contains(a.value()); }

Uint128 Space::free_count() const { return free_.count(); }

Uint128 Space::free_count(const Range& within) const {
  if (owned_.empty() || within.family() != family_) {
    return 0;
  }
  return free_.count(start_of(within), end_of(within));
}

Uint128 Space::allocated_count() const { return owned_.count() - free_.count(); }

Uint128 Space::allocated_count(const Range& within) const {
  if (owned_.empty() || within.family() != family_) {
    return 0;
  }
  return owned_.count(start_of(within), end_of(within)) - free_count(within);
}

bool Space::has_allocations(const Range& r) const { return allocated_count(r) != 0; }

std::vector<Range> Space::owned_ranges() const {
  std::vector<Range> ranges;
  for (const IntervalSet::Interval& i : owned_.intervals()) {
    ranges.emplace_back(Address::of(family_, i.start), Address::of(family_, i.end));
  }
  return ranges;
}

Range Space::choose_donation(const Range& wanted) const {
  Range none(wanted.start(), wanted.start());
  if (wanted.empty() || owned_.empty() || wanted.family() != family_) {
    return none;
  }
  std::optional<IntervalSet::Interval> block =
      free_.biggest_aligned_block(start_of(wanted), end_of(wanted));
  if (!block) {
    return none;
  }
  // Never give away more than about half of what is free here: keep the lower half of a
  // block that is most of it. A block of one address is given whole.
  Uint128 total = free_.count(start_of(wanted), end_of(wanted));
  Uint128 start = block->start;
  if (block->size() > total / 2) {
    start += block->size() / 2;
  }
  return Range(Address::of(family_, start), Address::of(family_, block->end));
}

Status Space::check_invariants() const {
  WIPAM_RETURN_IF_ERROR(owned_.check().with_context("owned set"));
  WIPAM_RETURN_IF_ERROR(free_.check().with_context("free set"));
  for (const IntervalSet::Interval& i : free_.intervals()) {
    if (owned_.count(i.start, i.end) != i.size()) {
      return Status::internal(
          "free run " +
          Range(Address::of(family_, i.start), Address::of(family_, i.end)).to_string() +
          " is not wholly owned");
    }
  }
  return Status();
}

}  // namespace wipam::ring
