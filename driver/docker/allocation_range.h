// One allocation range as the doors use it: the range every peer shares, the default subnet
// networks created without --subnet take theirs from, and the size of those. A peer serves
// at most one range per address family. Plain values.
#pragma once

#include <optional>
#include <vector>

#include "ring/address.h"

namespace wipam::driver {

struct AllocationRange {
  ring::Cidr range;
  ring::Cidr default_subnet;  // inside `range`
  int pool_prefix_len = 24;   // of a subnet chosen in `default_subnet`
};

// The range of `family` in `ranges`, or null.
inline const AllocationRange* range_of(const std::vector<AllocationRange>& ranges,
                                       ring::Family family) {
  for (const AllocationRange& r : ranges) {
    if (r.range.family() == family) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace wipam::driver
