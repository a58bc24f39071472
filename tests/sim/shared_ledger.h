// SharedLedger: the clients' view of shared claims (ring/shares.h) in the simulation. A shared
// address may be acknowledged on several peers, always for one owner; the world checks that
// it never is for two owners, nor beside an ordinary acknowledged holder.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "ring/address.h"

namespace wipam::sim {

class SharedLedger {
 public:
  // `peer` was answered `a` for `owner`. A violation's text if `a` is acknowledged to
  // another owner on some peer.
  std::optional<std::string> acked(int peer, const ring::Address& a, const std::string& owner);
  // `peer` released `a` (for `owner`, when given).
  void released(int peer, const ring::Address& a, const std::optional<std::string>& owner);
  // `peer` was removed (rmpeer): what it held is no longer the clients' to check.
  void forget(int peer);
  bool holds(const ring::Address& a) const { return held_.contains(a); }
  // address -> peer -> owner, acknowledged and not released.
  const std::map<ring::Address, std::map<int, std::string>>& all() const { return held_; }

 private:
  std::map<ring::Address, std::map<int, std::string>> held_;
};

// Owners of the simulation's shared claims begin with this.
inline constexpr const char* kSharedOwnerPrefix = "gw:";

}  // namespace wipam::sim
