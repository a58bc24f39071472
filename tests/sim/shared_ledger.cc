#include "tests/sim/shared_ledger.h"

#include <iterator>

namespace wipam::sim {

std::optional<std::string> SharedLedger::acked(int peer, const ring::Address& a,
                                               const std::string& owner) {
  std::map<int, std::string>& holders = held_[a];
  for (const auto& [other, other_owner] : holders) {
    if (other_owner != owner) {
      return "shared " + a.to_string() + " acknowledged to " + owner + " on p" +
             std::to_string(peer) + " while " + other_owner + " on p" + std::to_string(other) +
             " holds it";
    }
  }
  holders[peer] = owner;
  return std::nullopt;
}

void SharedLedger::released(int peer, const ring::Address& a,
                            const std::optional<std::string>& owner) {
  auto it = held_.find(a);
  if (it == held_.end()) {
    return;
  }
  auto holder = it->second.find(peer);
  if (holder != it->second.end() && (!owner || *owner == holder->second)) {
    it->second.erase(holder);
  }
  if (it->second.empty()) {
    held_.erase(it);
  }
}

void SharedLedger::forget(int peer) {
  for (auto it = held_.begin(); it != held_.end();) {
    it->second.erase(peer);
    it = it->second.empty() ? held_.erase(it) : std::next(it);
  }
}

}  // namespace wipam::sim
