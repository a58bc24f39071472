#include "driver/docker/free_subnet.h"

namespace wipam::driver {

using ring::Cidr;

Result<Cidr> first_free_block(const Cidr& subnet, int prefix_len, const std::vector<Cidr>& taken) {
  const ring::Range space = subnet.range();
  const ring::Uint128 block = Cidr(subnet.address(), prefix_len).size();
  ring::Uint128 offset = 0;
  for (std::size_t steps = 0; steps <= taken.size(); ++steps) {
    ring::Range candidate(space.start() + offset, space.start() + offset + block);
    const Cidr* overlapping = nullptr;
    for (const Cidr& t : taken) {
      if (t.range().overlaps(candidate)) {
        overlapping = &t;
        break;
      }
    }
    if (overlapping == nullptr) {
      return Cidr(candidate.start(), prefix_len);
    }
    // The first block that starts at or after the end of that subnet.
    ring::Uint128 past = overlapping->range().end() - space.start();
    ring::Uint128 next = (past + block - 1) / block * block;
    if (next <= offset || next >= space.size() || space.size() - next < block) {
      break;
    }
    offset = next;
  }
  return Status::exhausted("none");
}

}  // namespace wipam::driver
