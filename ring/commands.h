// What a local client asks of the allocator (Allocator::command). Plain values, safe to share
// between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "ring/address.h"
#include "ring/peer_name.h"

namespace wipam::ring {

using RequestId = std::uint64_t;

// An address in `subnet` (never its network or broadcast address), inside `within` when
// given. Idempotent: an owner that already holds an address there gets it again. An empty
// owner stands for "anonymous": the allocation is recorded under its address's text.
// With `offer_share`, other peers may share the address for the same owner (a swarm
// manager's allocation, which the nodes running its tasks ask for again; shares.h).
struct AllocateCommand {
  std::string owner;
  Cidr subnet;
  std::optional<Range> within;
  bool offer_share = false;
};
// How a claim treats an address another peer holds (shares.h). The owner a share is for is
// the claim's owner, or the address's text for an anonymous claim.
enum class Sharing {
  kNone,   // held elsewhere: refused
  kJoin,   // held elsewhere and offered for this owner: shared with us; ours alone otherwise
  kOffer,  // the same, and what this claim holds is offered to others for this owner
};
// Exactly `address` for `owner` (the prefix of `address` is recorded with it). A gateway every
// host's network names is claimed with kOffer; a node's request for an address a swarm
// manager allocated elsewhere, with kJoin.
struct ClaimCommand {
  std::string owner;
  Cidr address;
  Sharing sharing = Sharing::kNone;
};
// Frees `address`; when `owner` is given only if it still holds it. Idempotent.
struct ReleaseCommand {
  Address address;
  std::optional<std::string> owner;
};
// Frees every address of `owner`. Idempotent.
struct ReleaseOwnerCommand {
  std::string owner;
};
// Re-records `address` under `owner` (e.g. the container the events stream shows holding
// an address Docker's plugin call allocated anonymously). A shared address keeps its owner:
// its share is for that owner on every peer holding it.
struct BindCommand {
  Address address;
  std::string owner;
};
struct LookupCommand {
  std::string owner;
};
// Completes once this peer has a ring and so can allocate.
struct PrimeCommand {};
// Takes over every range of `peer` (rmpeer). Refused for a reachable peer unless forced.
struct RemovePeerCommand {
  PeerName peer;
  bool force = false;
};

using Command = std::variant<AllocateCommand, ClaimCommand, ReleaseCommand, ReleaseOwnerCommand,
                             BindCommand, LookupCommand, PrimeCommand, RemovePeerCommand>;

}  // namespace wipam::ring
