#include "ring/pending.h"

#include <iterator>
#include <utility>
#include <variant>

namespace wipam::ring {

void PendingQueue::retry(const Attempt& attempt) {
  for (bool claims : {true, false}) {
    for (auto it = items_.begin(); it != items_.end();) {
      if (std::holds_alternative<ClaimCommand>(it->command) != claims) {
        ++it;
        continue;
      }
      it = attempt(*it) ? items_.erase(it) : std::next(it);
    }
  }
}

std::vector<Pending> PendingQueue::expire(Millis now) {
  return take_if([now](const Pending& p) { return p.deadline <= now; });
}

std::vector<Pending> PendingQueue::take_if(const std::function<bool(const Pending&)>& pick) {
  std::vector<Pending> taken;
  for (auto it = items_.begin(); it != items_.end();) {
    if (pick(*it)) {
      taken.push_back(std::move(*it));
      it = items_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

std::vector<Pending> PendingQueue::take_all() {
  return take_if([](const Pending&) { return true; });
}

bool PendingQueue::needs(const Range& r) const {
  for (const Pending& p : items_) {
    if (const auto* a = std::get_if<AllocateCommand>(&p.command)) {
      if (r.overlaps(a->subnet.range())) {
        return true;
      }
    } else if (const auto* c = std::get_if<ClaimCommand>(&p.command)) {
      if (r.contains(c->address.address())) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace wipam::ring
