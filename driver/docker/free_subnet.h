// Finding a free subnet for a pool Docker asks for without one (RequestPool with no Pool).
#pragma once

#include <vector>

#include "ring/address.h"
#include "ring/status.h"

namespace wipam::driver {

// The lowest /prefix_len block of `space` that overlaps none of `taken`; exhausted if none.
// Each step jumps past one taken subnet, so the work is bounded by taken.size(), never by the
// number of candidate blocks (2^80 of them for a /128 in a /48).
Result<ring::Cidr> first_free_block(const ring::Cidr& space, int prefix_len,
                                    const std::vector<ring::Cidr>& taken);

}  // namespace wipam::driver
